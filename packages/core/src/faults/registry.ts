import { bandwidth } from "./bandwidth.ts";
import type { FaultDefinition, FaultOf } from "./definition.ts";
import { SpecReader } from "./definition.ts";
import { latency } from "./latency.ts";
import { limit } from "./limit.ts";
import type { Stage, StageContext } from "./pipeline.ts";
import { refuse } from "./refuse.ts";
import { reset } from "./reset.ts";
import { slicer } from "./slicer.ts";
import { slowClose } from "./slow-close.ts";
import type { Fault, FaultKind } from "./spec.ts";
import { stall } from "./stall.ts";

/** Every kind of fault, by kind; the type makes a new kind add its definition here. */
const DEFINITIONS: { readonly [K in FaultKind]: FaultDefinition<K> } = {
	latency,
	bandwidth,
	slicer,
	limit,
	reset,
	"slow-close": slowClose,
	stall,
	refuse,
};

/** Every kind's definition, in the order `--help` lists them. */
export const FAULTS: readonly FaultDefinition<FaultKind>[] = Object.values(DEFINITIONS) as FaultDefinition<FaultKind>[];

function definitionOf<K extends FaultKind>(kind: K): FaultDefinition<K> {
	return DEFINITIONS[kind] as unknown as FaultDefinition<K>;
}

/**
 * Reads one fault spec, such as `latency=100ms,jitter=20ms@10%`, with the one
 * grammar of sizes, durations and rates. Throws a `FaultSpecError` that names
 * the wrong part.
 */
export function parseFault(spec: string): Fault {
	const at = spec.lastIndexOf("@");
	const reader = new SpecReader(spec, at === -1 ? spec : spec.slice(0, at));
	const share = at === -1 ? undefined : parseShare(reader, spec.slice(at + 1));
	const definition = FAULTS.find((d) => d.name === reader.name);
	if (!definition) return reader.fail(`unknown fault '${reader.name}'; choose ${FAULTS.map((d) => d.name).join(", ")}`);
	const fault = definition.parse(reader) as Fault;
	reader.done();
	return share === undefined ? fault : { ...fault, share };
}

/** A fault as a spec: `latency=100ms,jitter=20ms@10%`; {@link parseFault} reads it back. */
export function describeFault(fault: Fault): string {
	const share = fault.share !== undefined && fault.share < 1 ? `@${Math.round(fault.share * 100_000) / 1000}%` : "";
	return `${definitionOf(fault.kind).describe(fault as FaultOf<typeof fault.kind>)}${share}`;
}

/** The stage that does `fault` on one connection. */
export function stageOf(fault: Fault, context: StageContext): Stage {
	return definitionOf(fault.kind).stage(fault as FaultOf<typeof fault.kind>, context);
}

function parseShare(reader: SpecReader, text: string): number {
	const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
	const percent = Number(match?.[1]);
	if (!match || percent <= 0 || percent > 100)
		reader.fail(`'@${text}' is not a share; use a percentage above 0 and up to 100, such as @10%`);
	// In thousandths of a percent, as describeFault writes it, so a share reads back exactly.
	return Math.round(percent * 1000) / 100_000;
}
