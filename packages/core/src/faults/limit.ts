import { printSize } from "../units.ts";
import type { FaultDefinition } from "./definition.ts";
import { PassThrough, type StageContext } from "./pipeline.ts";
import type { Fault } from "./spec.ts";

/** Exactly the first `bytes` bytes go back, then a clean FIN; the rest of the input is read and dropped. */
export class Limit extends PassThrough {
	#left: number;
	#done = false;

	constructor(fault: Extract<Fault, { kind: "limit" }>, context: StageContext) {
		super(context);
		this.#left = fault.bytes;
	}

	start(): void {
		if (this.#left === 0) this.#cut();
	}

	override push(bytes: Uint8Array): void {
		if (this.#done) return;
		const part = bytes.byteLength <= this.#left ? bytes : bytes.subarray(0, this.#left);
		this.#left -= part.byteLength;
		if (part.byteLength > 0) this.context.next.push(part);
		if (this.#left === 0) this.#cut();
	}

	override finish(): void {
		if (this.#done) return;
		this.#done = true;
		this.context.next.finish();
	}

	#cut(): void {
		this.finish();
		// The peer's further bytes are dropped, so that its FIN is still seen and the connection ends.
		this.context.connection.stopReading();
	}
}

/** `limit=64KiB`. */
export const limit: FaultDefinition<"limit"> = {
	kind: "limit",
	name: "limit",
	example: ["limit=64KiB", "the first 64 KiB go back, then a clean FIN"],
	parse: (spec) => ({ kind: "limit", bytes: spec.size(spec.need("a size such as 64KiB"), "limit") }),
	describe: (fault) => `limit=${printSize(fault.bytes)}`,
	stage: (fault, context) => new Limit(fault, context),
};
