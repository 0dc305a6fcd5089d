import { PassThrough, type StageContext } from "./pipeline.ts";
import type { Fault } from "./spec.ts";

/** The connection is closed as soon as it is accepted: with a FIN, or with a reset. */
export class Refuse extends PassThrough {
	readonly #how: "fin" | "rst";

	constructor(fault: Extract<Fault, { kind: "refuse" }>, context: StageContext) {
		super(context);
		this.#how = fault.how;
	}

	start(): void {
		this.context.connection.close(this.#how === "rst" ? new Error("refuse fault") : undefined);
	}
}
