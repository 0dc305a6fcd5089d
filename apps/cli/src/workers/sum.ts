import { AggregatorRegistry, Registry } from "prom-client";
import type { SummaryLine } from "../log.ts";
import type { MetricsSnapshot } from "../metrics.ts";

/** The workers' summaries as one: every count added up, faults by name. */
export function sumSummaries(summaries: readonly SummaryLine[]): SummaryLine {
	const total = { accepted: 0, bytesOut: 0, errors: 0, idle: 0, stalled: 0, refused: 0, aborted: 0, probes: 0 };
	let badProxyHeaders: number | undefined;
	let faults: Record<string, number> | undefined;
	for (const s of summaries) {
		for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += s[key];
		if (s.badProxyHeaders !== undefined) badProxyHeaders = (badProxyHeaders ?? 0) + s.badProxyHeaders;
		if (s.faults) {
			faults ??= {};
			for (const [name, count] of Object.entries(s.faults)) faults[name] = (faults[name] ?? 0) + count;
		}
	}
	return {
		...total,
		...(badProxyHeaders !== undefined ? { badProxyHeaders } : {}),
		...(faults ? { faults } : {}),
	};
}

/** The workers' metrics summed (counters, histograms and the open-connections gauge alike), with the supervisor's own. */
export function sumMetrics(snapshots: readonly MetricsSnapshot[], own: Registry): Promise<string> {
	const summed = AggregatorRegistry.aggregate(snapshots as Parameters<typeof AggregatorRegistry.aggregate>[0]);
	return Registry.merge([summed as Registry, own]).metrics();
}
