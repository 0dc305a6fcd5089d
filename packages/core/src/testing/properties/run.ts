import type fc from "fast-check";
import { testSeed } from "../bytes.ts";

/** `FC_SEED` and `FC_NUM_RUNS` replay and scale every property. */
export function runParameters(defaultRuns: number, overrides: fc.Parameters<unknown> = {}): fc.Parameters<unknown> {
	const runs = process.env.FC_NUM_RUNS;
	return {
		numRuns: runs ? Number(runs) : defaultRuns,
		seed: testSeed(),
		// A failure prints the seed and path to replay it with FC_SEED and fast-check's `path`.
		verbose: 1,
		...overrides,
	};
}
