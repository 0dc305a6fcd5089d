import { quantile } from "./load.ts";

/** What every run measures, TCP or UDP. */
export interface Measured {
	/** Milliseconds measured. */
	readonly elapsed: number;
	readonly messages: number;
	readonly bytes: number;
	/** Round-trip times in milliseconds, sorted. */
	readonly latencies: Float64Array;
	readonly allMessages: number;
}

/** The report's common figures: rates and latency percentiles (null without a sample, rather than NaN). */
export function figures(r: Measured) {
	const seconds = r.elapsed / 1000;
	const ms = (q: number) => (r.latencies.length === 0 ? null : Number(quantile(r.latencies, q).toFixed(3)));
	const rate = (amount: number) => (seconds > 0 ? amount / seconds : 0);
	return {
		seconds: Number(seconds.toFixed(3)),
		messages: r.messages,
		allMessages: r.allMessages,
		msgPerSecond: Math.round(rate(r.messages)),
		mbPerSecond: Number((rate(r.bytes) / 1e6).toFixed(2)),
		latencyMs: { p50: ms(0.5), p90: ms(0.9), p99: ms(0.99), p999: ms(0.999), max: ms(1) },
	};
}

export const latency = (ms: number | null) => (ms === null ? "-" : `${ms} ms`);

/** A title line, then a row of headings over a row of values, each column right-aligned. */
export function table(title: string, cells: readonly (readonly [heading: string, value: string])[]): string {
	const widths = cells.map(([h, v]) => Math.max(h.length, v.length) + 2);
	const row = (i: 0 | 1) => cells.map((c, j) => c[i].padStart(widths[j] as number)).join("");
	return [title, row(0), row(1)].join("\n");
}
