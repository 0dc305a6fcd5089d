import { FAULTS, type Fault, FaultSpecError, parseFault as parseSpec } from "@echo-cli/core";
import { UsageError } from "./usage-error.ts";

/** What `--help` shows: one example per fault, from each kind's own definition. */
export const FAULT_EXAMPLES: readonly (readonly [string, string])[] = FAULTS.map((d) => d.example);

/**
 * Parses one `--fault` spec, such as `latency=100ms,jitter=20ms@10%`, as the
 * core does. Throws a UsageError that names the wrong part and points at
 * the examples.
 */
export function parseFault(spec: string): Fault {
	try {
		return parseSpec(spec);
	} catch (error) {
		if (!(error instanceof FaultSpecError)) throw error;
		throw new UsageError(
			`invalid --fault '${spec}': ${error.reason}; see echo-cli --help for an example of each fault`,
		);
	}
}
