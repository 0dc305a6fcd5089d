import { seeded } from "../random.ts";
import type { Fault } from "./spec.ts";

/** The faults one connection gets, and the seed of its own randomness (jitter, slice sizes). */
export interface Choice {
	readonly faults: readonly Fault[];
	readonly seed: number;
}

/**
 * Decides, connection by connection in accept order, which faults apply:
 * each fault with its share, from one seeded sequence. The same seed and the
 * same order of connections give the same decisions.
 */
export function chooser(faults: readonly Fault[], seed: number): () => Choice {
	const next = seeded(seed);
	return () => {
		const chosen = faults.filter((fault) => next() < (fault.share ?? 1));
		return { faults: chosen, seed: Math.floor(next() * 4294967296) };
	};
}
