import type { FaultDefinition } from "./definition.ts";
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

/** `refuse` or `refuse=rst`. */
export const refuse: FaultDefinition<"refuse"> = {
	kind: "refuse",
	name: "refuse",
	example: ["refuse", "accept and close at once with a FIN (refuse=rst: with a reset)"],
	parse(spec) {
		const how = spec.value ?? "fin";
		if (how !== "fin" && how !== "rst") return spec.fail(`refuse takes fin or rst, not '${how}'`);
		return { kind: "refuse", how };
	},
	describe: (fault) => `refuse=${fault.how}`,
	stage: (fault, context) => new Refuse(fault, context),
};
