import { printDuration } from "../units.ts";
import type { FaultDefinition } from "./definition.ts";
import { PassThrough, type StageContext } from "./pipeline.ts";
import type { Fault } from "./spec.ts";

/** Our FIN goes out `delay` ms after it could. */
export class SlowClose extends PassThrough {
	readonly #delay: number;
	#timer: ReturnType<typeof setTimeout> | undefined;

	constructor(fault: Extract<Fault, { kind: "slow-close" }>, context: StageContext) {
		super(context);
		this.#delay = fault.delay;
	}

	override finish(): void {
		this.#timer ??= setTimeout(() => this.context.next.finish(), this.#delay);
	}

	stop(): void {
		clearTimeout(this.#timer);
	}
}

/** `slow-close=1s`. */
export const slowClose: FaultDefinition<"slow-close"> = {
	kind: "slow-close",
	name: "slow-close",
	example: ["slow-close=1s", "our FIN goes out 1 s after it could"],
	parse: (spec) => ({ kind: "slow-close", delay: spec.duration(spec.need("a delay"), "delay") }),
	describe: (fault) => `slow-close=${printDuration(fault.delay)}`,
	stage: (fault, context) => new SlowClose(fault, context),
};
