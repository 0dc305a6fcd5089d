import { printDuration } from "../units.ts";
import type { FaultDefinition } from "./definition.ts";
import { PassThrough, type StageContext } from "./pipeline.ts";
import type { Fault } from "./spec.ts";

/** Input is read, nothing goes back, and the connection is closed after `after` ms (never with 0). */
export class Stall extends PassThrough {
	readonly #after: number;
	#timer: ReturnType<typeof setTimeout> | undefined;

	constructor(fault: Extract<Fault, { kind: "stall" }>, context: StageContext) {
		super(context);
		this.#after = fault.after;
	}

	start(): void {
		if (this.#after > 0) this.#timer = setTimeout(() => this.context.connection.close(), this.#after);
	}

	stop(): void {
		clearTimeout(this.#timer);
	}

	override push(): void {}

	override finish(): void {}
}

/** `stall=5s`; `stall=0` never closes. */
export const stall: FaultDefinition<"stall"> = {
	kind: "stall",
	name: "stall",
	example: ["stall=5s", "read, send nothing, close after 5 s (stall=0: never)"],
	parse: (spec) => ({ kind: "stall", after: spec.duration(spec.need("a time, or 0 for never"), "time") }),
	describe: (fault) => `stall=${printDuration(fault.after)}`,
	stage: (fault, context) => new Stall(fault, context),
};
