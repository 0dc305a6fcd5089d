import { formatDuration } from "../format.ts";
import type { DriverChoice } from "../options.ts";
import { runtimeName } from "../runtime.ts";
import { figures, latency, table } from "./figures.ts";
import { startServer } from "./server.ts";
import { runUdpLoad, type UdpLoadResult } from "./udp-load.ts";

/** What `echo-cli bench --udp` was asked for. */
export interface UdpBenchConfig {
	/** The server to measure; undefined starts one in a child process. */
	readonly target: { readonly host: string; readonly port: number } | { readonly path: string } | undefined;
	readonly connections: number;
	readonly size: number;
	readonly duration: number;
	readonly warmup: number;
	readonly json: boolean;
	readonly driver: DriverChoice;
	readonly udp: { readonly timeout: number } | undefined;
}

/** `echo-cli bench --udp`: runs the UDP pingpong, prints the report, resolves to the exit status. */
export async function udpBenchCommand(config: UdpBenchConfig, script: string): Promise<number> {
	const timeout = config.udp?.timeout ?? 1000;
	let target = config.target as { host: string; port: number } | undefined;
	let server: Awaited<ReturnType<typeof startServer>> | undefined;
	if (!target) {
		try {
			server = await startServer(script, config.driver, { udp: true });
		} catch (error) {
			process.stderr.write(`echo-cli: bench could not start an echo server: ${(error as Error).message}\n`);
			return 1;
		}
		target = { host: "127.0.0.1", port: server.port };
	}
	const live = process.stderr.isTTY && !config.json;
	let result: UdpLoadResult;
	try {
		result = await runUdpLoad({
			...target,
			clients: config.connections,
			size: config.size,
			duration: config.duration,
			warmup: config.warmup,
			timeout,
			onProgress: live
				? ({ elapsed, messages }) =>
						process.stderr.write(
							`\r${(elapsed / 1000).toFixed(1)} s  ${Math.round(messages / (Math.max(elapsed, 1) / 1000))} msg/s   `,
						)
				: undefined,
		});
	} finally {
		if (live) process.stderr.write("\r\x1b[K");
		await server?.stop();
	}
	const where = server ? `${server.describe} (started by bench)` : `${target.host}:${target.port}`;
	const summary = summarize(config, result, where, timeout);
	process.stdout.write(config.json ? `${JSON.stringify(summary)}\n` : `${report(summary)}\n`);
	const problems = verdict(result, timeout);
	for (const line of problems) process.stderr.write(`echo-cli: ${line}\n`);
	return problems.length > 0 ? 1 : 0;
}

/** Why a UDP run failed: a reply that came back wrong, or none at all. Loss alone is reported, not a failure. */
function verdict(r: UdpLoadResult, timeout: number): string[] {
	const lines: string[] = [];
	if (r.mismatches > 0) lines.push(`${r.mismatches} replies came back wrong (changed or cut)`);
	for (const [code, count] of Object.entries(r.sendErrors)) lines.push(`${count} sends failed: ${code}`);
	if (r.allMessages === 0) {
		lines.push(`no datagram came back within ${formatDuration(timeout)}; is a UDP echo server listening there?`);
	} else if (r.messages === 0 && lines.length === 0) lines.push("no datagram came back in the measured window");
	return lines;
}

function summarize(config: UdpBenchConfig, r: UdpLoadResult, server: string, timeout: number) {
	const { seconds, latencyMs, ...rates } = figures(r);
	const sent = r.messages + r.lost;
	return {
		server,
		client: runtimeName,
		transport: "udp",
		mode: "pingpong",
		connections: config.connections,
		size: config.size,
		timeoutMs: timeout,
		seconds,
		...rates,
		latencyMs,
		lost: r.lost,
		lossPercent: sent === 0 ? 0 : Number(((100 * r.lost) / sent).toFixed(3)),
		late: r.late,
		mismatches: r.mismatches,
		sendErrors: r.sendErrors,
	};
}

function report(report: ReturnType<typeof summarize>): string {
	const l = report.latencyMs;
	return table(
		`UDP pingpong, ${report.connections} clients x ${report.size} B, ${report.timeoutMs} ms timeout, ${formatDuration(Math.round(report.seconds * 1000))} measured, against ${report.server}`,
		[
			["msg/s", String(report.msgPerSecond)],
			["MB/s", report.mbPerSecond.toFixed(1)],
			["p50", latency(l.p50)],
			["p99", latency(l.p99)],
			["max", latency(l.max)],
			["lost", `${report.lost} (${report.lossPercent}%)`],
			["late", String(report.late)],
			["mismatches", String(report.mismatches)],
		],
	);
}
