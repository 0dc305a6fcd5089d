import { type StageContext, Timeline } from "./pipeline.ts";
import type { Fault } from "./spec.ts";

/** Each chunk goes back `delay` ms (± `jitter`) after it arrived, never before an earlier one. */
export class Latency extends Timeline {
	readonly #fault: Extract<Fault, { kind: "latency" }>;

	constructor(fault: Extract<Fault, { kind: "latency" }>, context: StageContext) {
		super(context);
		this.#fault = fault;
	}

	override push(bytes: Uint8Array): void {
		const jitter = this.#fault.jitter ?? 0;
		const delay = Math.max(0, this.#fault.delay + (this.context.random() * 2 - 1) * jitter);
		this.at(bytes, performance.now() + delay);
	}
}
