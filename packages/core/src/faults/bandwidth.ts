import { printRate } from "../units.ts";
import type { FaultDefinition } from "./definition.ts";
import { type StageContext, Timeline } from "./pipeline.ts";
import type { Fault } from "./spec.ts";

/** Pieces small enough that the rate is smooth at a 10 ms scale. */
const SLOTS_PER_SECOND = 100;

/** At most `rate` bytes per second: each piece is due once the bytes before it had their time. */
export class Bandwidth extends Timeline {
	readonly #rate: number;
	readonly #piece: number;

	constructor(fault: Extract<Fault, { kind: "bandwidth" }>, context: StageContext) {
		super(context);
		this.#rate = fault.rate;
		this.#piece = Math.max(1, Math.floor(fault.rate / SLOTS_PER_SECOND));
	}

	override push(bytes: Uint8Array): void {
		// An idle link does not save up: the next byte's slot starts now at the earliest.
		let due = Math.max(this.last, performance.now());
		for (let at = 0; at < bytes.byteLength; at += this.#piece) {
			const piece = bytes.subarray(at, at + this.#piece);
			due += (piece.byteLength / this.#rate) * 1000;
			this.at(piece, due);
		}
	}
}

/** `bandwidth=1MiB/s`. */
export const bandwidth: FaultDefinition<"bandwidth"> = {
	kind: "bandwidth",
	name: "bandwidth",
	example: ["bandwidth=1MiB/s", "at most 1 MiB per second goes back"],
	parse(spec) {
		const rate = spec.rate(spec.need("a rate such as 1MiB/s"), "rate");
		if (rate < 1) return spec.fail("the rate must be at least 1 byte per second");
		return { kind: "bandwidth", rate };
	},
	describe: (fault) => `bandwidth=${printRate(fault.rate)}`,
	stage: (fault, context) => new Bandwidth(fault, context),
};
