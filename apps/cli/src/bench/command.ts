import { spawn } from "node:child_process";
import { parseFlags } from "../args.ts";
import { formatDuration } from "../format.ts";
import { type DriverChoice, parseDuration } from "../options.ts";
import { runtimeName } from "../runtime.ts";
import { UsageError } from "../usage-error.ts";
import { type LoadResult, MAX_SIZE, quantile, runLoad, type Target } from "./load.ts";

export interface BenchConfig {
	readonly command: "bench";
	/** The server to measure; undefined starts one in a child process. */
	readonly target: Target | undefined;
	readonly connections: number;
	readonly size: number;
	readonly duration: number;
	readonly warmup: number;
	readonly mode: "pingpong" | "stream";
	readonly json: boolean;
	readonly driver: DriverChoice;
}

export const BENCH_HELP = `echo-cli bench: a load client for any echo server

Usage: echo-cli bench [HOST:PORT | unix:PATH] [options]

Each connection sends messages and checks every byte that comes back. With
no address, an echo-cli server is started in a child process on a free port.

Options:
  -c, --connections N   concurrent connections (default 10)
  -s, --size BYTES      message size: 64, 1KiB, 100KiB, 1MiB (default 1KiB)
  -d, --duration TIME   how long to measure, e.g. 10s (default 5s)
  --warmup TIME         load before measuring starts (default 1s)
  --mode MODE           pingpong: send a message, wait for all of it back;
                        stream: write and read at once (default pingpong)
  --driver NAME         driver of the server started with no address (default auto)
  --json                print the result as one JSON object
  -h, --help            show this help

Prints msg/s, MB/s (echoed payload, 1 MB = 10^6 bytes), latency percentiles,
errors and mismatches. Exits 1 if any byte came back wrong or no message
completed.`;

export function parseBench(argv: readonly string[]): BenchConfig | { readonly command: "bench-help" } {
	const config = {
		args: [...argv],
		allowPositionals: true,
		strict: true,
		options: {
			connections: { type: "string", short: "c" },
			size: { type: "string", short: "s" },
			duration: { type: "string", short: "d" },
			warmup: { type: "string" },
			mode: { type: "string" },
			driver: { type: "string" },
			json: { type: "boolean" },
			help: { type: "boolean", short: "h" },
		},
	} as const;
	const parsed = parseFlags(config, "echo-cli bench --help");
	const { values, positionals } = parsed;
	if (values.help) return { command: "bench-help" };
	if (positionals.length > 1)
		throw new UsageError(`unexpected argument '${positionals[1]}'; see echo-cli bench --help`);
	const mode = values.mode ?? "pingpong";
	if (mode !== "pingpong" && mode !== "stream")
		throw new UsageError(`unknown --mode '${mode}'; choose pingpong or stream`);
	const driver = values.driver ?? "auto";
	if (driver !== "auto" && driver !== "node" && driver !== "bun") {
		throw new UsageError(`unknown driver '${driver}' in --driver; choose auto, node or bun`);
	}
	const connections = values.connections ?? "10";
	if (!/^\d+$/.test(connections) || Number(connections) < 1 || Number(connections) > 100_000) {
		throw new UsageError(`invalid --connections '${connections}'; give a whole number from 1 to 100000`);
	}
	const duration = parseDuration(values.duration ?? "5s", "--duration");
	if (duration < 1) throw new UsageError("--duration must be longer than 0");
	return {
		command: "bench",
		target: positionals[0] === undefined ? undefined : parseTarget(positionals[0]),
		connections: Number(connections),
		size: parseSize(values.size ?? "1KiB"),
		duration,
		warmup: parseDuration(values.warmup ?? "1s", "--warmup"),
		mode,
		json: values.json ?? false,
		driver,
	};
}

function parseTarget(text: string): Target {
	if (text.startsWith("unix:")) return { path: text.slice(5) };
	const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
	const port = Number(match?.[3]);
	if (!match || port < 1 || port > 65535) {
		throw new UsageError(`invalid address '${text}'; use HOST:PORT, [IPv6]:PORT or unix:PATH`);
	}
	return { host: (match[1] ?? match[2]) as string, port };
}

/** `64`, `64B`, `1KiB`, `1k`, `2MiB` to bytes. */
export function parseSize(text: string): number {
	const match = /^(\d+)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(text.trim());
	const unit = match?.[2]?.toLowerCase() ?? "b";
	const scale = unit.startsWith("k") ? 1024 : unit.startsWith("m") ? 1024 * 1024 : 1;
	const size = match ? Number(match[1]) * scale : Number.NaN;
	if (!Number.isSafeInteger(size) || size < 1 || size > MAX_SIZE) {
		throw new UsageError(`invalid --size '${text}'; give 1 byte to 4MiB, such as 64, 1KiB or 100KiB`);
	}
	return size;
}

/** Runs the load, prints the report, resolves to the exit status. */
export async function benchCommand(config: BenchConfig, script: string): Promise<number> {
	let target = config.target;
	let server: Awaited<ReturnType<typeof startServer>> | undefined;
	if (!target) {
		server = await startServer(script, config.driver);
		target = { host: "127.0.0.1", port: server.port };
	}
	const live = process.stderr.isTTY && !config.json;
	let result: LoadResult;
	try {
		result = await runLoad({
			target,
			connections: config.connections,
			size: config.size,
			mode: config.mode,
			duration: config.duration,
			warmup: config.warmup,
			onProgress: live
				? ({ elapsed, messages, bytes }) => {
						const seconds = Math.max(elapsed, 1) / 1000;
						process.stderr.write(
							`\r${(elapsed / 1000).toFixed(1)} s  ${Math.round(messages / seconds)} msg/s  ${(bytes / seconds / 1e6).toFixed(1)} MB/s   `,
						);
					}
				: undefined,
		});
	} finally {
		if (live) process.stderr.write("\r\x1b[K");
		await server?.stop();
	}
	const where = "path" in target ? `unix:${target.path}` : `${target.host}:${target.port}`;
	const report = summarize(config, result, server ? `${server.describe} (started by bench)` : where);
	process.stdout.write(config.json ? `${JSON.stringify(report)}\n` : `${table(report)}\n`);
	if (result.mismatches > 0) process.stderr.write(`echo-cli: ${result.mismatches} chunks came back wrong\n`);
	else if (result.messages === 0)
		process.stderr.write("echo-cli: no message completed; is an echo server listening there?\n");
	return result.mismatches > 0 || result.messages === 0 ? 1 : 0;
}

function summarize(config: BenchConfig, r: LoadResult, server: string) {
	const seconds = r.elapsed / 1000;
	const ms = (q: number) => Number(quantile(r.latencies, q).toFixed(3));
	return {
		server,
		client: runtimeName,
		mode: config.mode,
		connections: config.connections,
		size: config.size,
		seconds: Number(seconds.toFixed(3)),
		messages: r.messages,
		allMessages: r.allMessages,
		msgPerSecond: Math.round(r.messages / seconds),
		mbPerSecond: Number((r.bytes / seconds / 1e6).toFixed(2)),
		latencyMs: { p50: ms(0.5), p90: ms(0.9), p99: ms(0.99), p999: ms(0.999), max: ms(1) },
		errors: r.errors,
		mismatches: r.mismatches,
	};
}

function table(report: ReturnType<typeof summarize>): string {
	const l = report.latencyMs;
	const cells = [
		["msg/s", String(report.msgPerSecond)],
		["MB/s", report.mbPerSecond.toFixed(1)],
		["p50", `${l.p50} ms`],
		["p90", `${l.p90} ms`],
		["p99", `${l.p99} ms`],
		["p99.9", `${l.p999} ms`],
		["max", `${l.max} ms`],
		["errors", String(report.errors)],
		["mismatches", String(report.mismatches)],
	];
	const widths = cells.map(([h, v]) => Math.max((h as string).length, (v as string).length) + 2);
	const row = (i: 0 | 1) => cells.map((c, j) => (c[i] as string).padStart(widths[j] as number)).join("");
	return [
		`${report.mode}, ${report.connections} connections x ${report.size} B, ${formatDuration(Math.round(report.seconds * 1000))} measured, against ${report.server}`,
		row(0),
		row(1),
	].join("\n");
}

/** Starts this CLI as an echo server on a free port, on the same runtime. */
function startServer(
	script: string,
	driver: DriverChoice,
): Promise<{ stop(): Promise<void>; describe: string; port: number }> {
	const child = spawn(process.execPath, [script, "--port", "0", "--driver", driver], {
		stdio: ["ignore", "pipe", "inherit"],
	});
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	return new Promise((resolve, reject) => {
		let out = "";
		const timer = setTimeout(() => reject(new Error("the echo server did not start within 10 s")), 10_000);
		child.once("exit", (code) => reject(new Error(`the echo server exited with status ${code}`)));
		child.stdout.on("data", (d: Buffer) => {
			out += d;
			const match = /listening on tcp:\/\/(\S+):(\d+) \(([^)]*)\)/.exec(out);
			if (!match) return;
			clearTimeout(timer);
			resolve({
				port: Number(match[2]),
				describe: `${match[1]}:${match[2]} (${match[3]})`,
				async stop() {
					child.kill("SIGTERM");
					await exited;
				},
			});
		});
	});
}
