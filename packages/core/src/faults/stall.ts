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
