import { printDuration } from "../units.ts";
import type { FaultDefinition } from "./definition.ts";
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
		const now = performance.now();
		this.at(bytes, now + delay, now);
	}
}

/** `latency=100ms,jitter=20ms`. */
export const latency: FaultDefinition<"latency"> = {
	kind: "latency",
	name: "latency",
	example: ["latency=100ms,jitter=20ms", "each chunk goes back 100 ms (± 20 ms) later, in order"],
	parse(spec) {
		const delay = spec.duration(spec.need("a delay"), "delay");
		const jitter = spec.take("jitter");
		return { kind: "latency", delay, ...(jitter !== undefined ? { jitter: spec.duration(jitter, "jitter") } : {}) };
	},
	describe: (fault) =>
		`latency=${printDuration(fault.delay)}${fault.jitter ? `,jitter=${printDuration(fault.jitter)}` : ""}`,
	stage: (fault, context) => new Latency(fault, context),
};
