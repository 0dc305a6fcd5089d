import { type StageContext, Timeline } from "./pipeline.ts";
import type { Fault } from "./spec.ts";

/** Replies cut into pieces of `min` to `max` bytes, `delay` ms apart when a delay is given. */
export class Slicer extends Timeline {
	readonly #fault: Extract<Fault, { kind: "slicer" }>;

	constructor(fault: Extract<Fault, { kind: "slicer" }>, context: StageContext) {
		super(context);
		this.#fault = fault;
	}

	override push(bytes: Uint8Array): void {
		const { min, max, delay = 0 } = this.#fault;
		for (let at = 0; at < bytes.byteLength; ) {
			const size = min + Math.floor(this.context.random() * (max - min + 1));
			const piece = bytes.subarray(at, at + size);
			at += size;
			if (delay > 0) this.at(piece, Math.max(this.last, performance.now() - delay) + delay);
			else this.at(piece, 0);
		}
	}
}
