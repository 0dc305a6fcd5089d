/**
 * The one grammar for amounts, used by every flag, fault spec and bench
 * option of echo-cli, and by `withFaults` specs in code:
 *
 * - A **duration** is a number with `ms`, `s`, `m` or `h`; a bare number is
 *   seconds: `500ms`, `2s`, `1.5m`, `5`.
 * - A **size** is a number of bytes with an optional binary unit, in any
 *   case: `64`, `64B`, `1.5KiB`, `2MiB`, `1GiB`; `K`/`KB`, `M`/`MB` and
 *   `G`/`GB` mean the same powers of 1024.
 * - A **rate** is an amount per second, with an optional `/s`: `1MiB/s`,
 *   `20000/s`, `500`; its amount is written as a size.
 *
 * Fractions are allowed and rounded to a whole millisecond, byte or unit.
 * The parsers return `undefined` for text that does not fit, so that each
 * caller can name its own flag; the printers write what the parsers read
 * back exactly.
 */

const NUMBER = String.raw`(\d+(?:\.\d+)?)`;
const DURATION = new RegExp(`^${NUMBER}\\s*(ms|s|m|h)?$`);
const SIZE = new RegExp(`^${NUMBER}\\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$`, "i");

const DURATION_SCALE: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS = [
	["GiB", 1024 ** 3],
	["MiB", 1024 ** 2],
	["KiB", 1024],
] as const;

/** Milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
	const match = DURATION.exec(text.trim());
	if (!match) return undefined;
	return Math.round(Number(match[1]) * (DURATION_SCALE[match[2] ?? "s"] as number));
}

/** Bytes, or undefined. */
export function parseSize(text: string): number | undefined {
	const match = SIZE.exec(text.trim());
	if (!match) return undefined;
	const unit = (match[2] ?? "b").toLowerCase()[0];
	const scale = unit === "g" ? 1024 ** 3 : unit === "m" ? 1024 ** 2 : unit === "k" ? 1024 : 1;
	return Math.round(Number(match[1]) * scale);
}

/** An amount per second, or undefined. */
export function parseRate(text: string): number | undefined {
	return parseSize(text.trim().replace(/\/s$/, ""));
}

/** `250ms`, `2s`, `1m`: the largest unit that keeps a whole number. */
export function printDuration(ms: number): string {
	if (ms >= 60_000 && ms % 60_000 === 0) return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 60_000}m`;
	return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** `64KiB`, `1000B`: the largest binary unit that keeps a whole number. */
export function printSize(bytes: number): string {
	for (const [unit, scale] of SIZE_UNITS) if (bytes >= scale && bytes % scale === 0) return `${bytes / scale}${unit}`;
	return `${bytes}B`;
}

/** `1MiB/s`, `20000B/s`. */
export function printRate(perSecond: number): string {
	return `${printSize(perSecond)}/s`;
}
