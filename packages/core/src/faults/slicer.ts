import { parseSize, printDuration, printSize } from "../units.ts";
import type { FaultDefinition } from "./definition.ts";
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

/** `slicer=1-16,delay=5ms`. */
export const slicer: FaultDefinition<"slicer"> = {
	kind: "slicer",
	name: "slicer",
	example: ["slicer=1-16,delay=5ms", "replies cut into 1 to 16 byte pieces, 5 ms apart (delay optional)"],
	parse(spec) {
		const text = spec.need("a size range such as 1-16");
		const [low = "", high = low] = text.split("-");
		const min = parseSize(low);
		const max = parseSize(high);
		if (min === undefined || max === undefined || min < 1 || max < min || text.split("-").length > 2)
			return spec.fail(`'${text}' is not a size range; give MIN-MAX bytes, 1 or more, such as 1-16`);
		const delay = spec.take("delay");
		return { kind: "slicer", min, max, ...(delay !== undefined ? { delay: spec.duration(delay, "delay") } : {}) };
	},
	describe: (fault) =>
		`slicer=${printSize(fault.min)}-${printSize(fault.max)}${fault.delay ? `,delay=${printDuration(fault.delay)}` : ""}`,
	stage: (fault, context) => new Slicer(fault, context),
};
