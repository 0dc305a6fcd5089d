import { seeded } from "../random.ts";

/**
 * Byte helpers for tests: a seeded PRNG, a prime-period pattern that
 * catches shifted, duplicated and missing bytes, and comparisons that report
 * the first differing offset instead of dumping megabytes.
 */

/** A small deterministic PRNG (mulberry32), the one the fault stages use. */
export const random: (seed: number) => () => number = seeded;

/**
 * The seed of this test run: `FC_SEED` when set, otherwise one picked now and
 * stored in `FC_SEED`, so that every property (which prints it on failure)
 * and every seeded helper of the run share it. `FC_SEED=<seed>` replays the
 * run exactly.
 */
export function testSeed(): number {
	const given = process.env.FC_SEED;
	if (given !== undefined && given !== "") return Number(given) | 0;
	const picked = (Date.now() % 2_147_483_647) | 0;
	process.env.FC_SEED = String(picked);
	// Said up front: a property killed by its runner's timeout never gets to print it.
	process.stderr.write(`echo-cli kit: FC_SEED=${picked} (set it to replay this run)\n`);
	return picked;
}

/** A generator for test randomness, from {@link testSeed} and a salt per use. */
export function seededRandom(salt: number): () => number {
	return random(testSeed() ^ salt);
}

export function randomBytes(length: number, seed: number): Uint8Array {
	const next = random(seed);
	const bytes = new Uint8Array(length);
	for (let i = 0; i < length; i++) bytes[i] = (next() * 256) | 0;
	return bytes;
}

/** A prime period, so that no power-of-two chunking lines up with it. */
export const PATTERN_PERIOD = 1_048_573;

let period: Uint8Array | undefined;

/**
 * A stream of bytes where the byte at offset `i` depends on `(i + seed) mod
 * PATTERN_PERIOD`. Slicing it at any offset is cheap and exact.
 */
export function pattern(offset: number, length: number, seed = 0): Uint8Array {
	period ??= randomBytes(PATTERN_PERIOD, 0x5eed);
	const out = new Uint8Array(length);
	let at = (offset + seed) % PATTERN_PERIOD;
	let filled = 0;
	while (filled < length) {
		const take = Math.min(length - filled, PATTERN_PERIOD - at);
		out.set(period.subarray(at, at + take), filled);
		filled += take;
		at = 0;
	}
	return out;
}

/** Returns the first offset where `a` and `b` differ, or -1 when equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
	const length = Math.min(a.byteLength, b.byteLength);
	for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
	return a.byteLength === b.byteLength ? -1 : length;
}

export function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
	const at = firstDifference(actual, expected);
	if (at === -1) return;
	throw new Error(
		`${what}: got ${actual.byteLength} bytes, expected ${expected.byteLength}; first difference at offset ${at} ` +
			`(got ${actual[at] ?? "end"}, expected ${expected[at] ?? "end"})`,
	);
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
	let length = 0;
	for (const chunk of chunks) length += chunk.byteLength;
	const out = new Uint8Array(length);
	let at = 0;
	for (const chunk of chunks) {
		out.set(chunk, at);
		at += chunk.byteLength;
	}
	return out;
}

/** Splits `bytes` at random points into pieces of 1 to `max` bytes (views, no copies). */
export function split(bytes: Uint8Array, max: number, next: () => number): Uint8Array[] {
	const pieces: Uint8Array[] = [];
	for (let at = 0; at < bytes.byteLength; ) {
		const size = 1 + Math.floor(next() * max);
		pieces.push(bytes.subarray(at, at + size));
		at += size;
	}
	return pieces;
}
