import type { Fault } from "./spec.ts";

/** mulberry32: small, fast and the same on every runtime. */
export function seeded(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

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
