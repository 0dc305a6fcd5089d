import { readFileSync } from "node:fs";
import { parseRate } from "@echo-cli/core";
import { MAX_DATAGRAM_IPV4 } from "@echo-cli/core/datagram";
import { parseFlags } from "../args.ts";
import { formatDuration } from "../format.ts";
import { type DriverChoice, parseDuration, parseSize } from "../options.ts";
import { runtimeName } from "../runtime.ts";
import { UsageError } from "../usage-error.ts";
import { figures, latency, table } from "./figures.ts";
import { type LoadOptions, type LoadResult, MAX_SIZE, runLoad, STALL_MS, type Target } from "./load.ts";
import { startServer } from "./server.ts";
import { udpBenchCommand } from "./udp.ts";
import { MIN_UDP_SIZE } from "./udp-load.ts";

export interface BenchConfig {
	readonly command: "bench";
	/** The server to measure; undefined starts one in a child process. */
	readonly target: Target | undefined;
	readonly connections: number;
	readonly size: number;
	readonly duration: number;
	readonly warmup: number;
	readonly mode: "pingpong" | "stream";
	/** Messages per second over all connections; undefined for as fast as the server answers. */
	readonly rate: number | undefined;
	readonly json: boolean;
	readonly driver: DriverChoice;
	/** Send a PROXY header of this version on every connection first. */
	readonly proxyProtocol: 1 | 2 | undefined;
	/** Speak TLS: trust the certificates in `ca` (a file), or any with `insecure`. */
	readonly tls: { readonly ca: string | undefined; readonly insecure: boolean } | undefined;
	/** UDP pingpong instead of TCP, with this many milliseconds to wait for each reply. */
	readonly udp: { readonly timeout: number } | undefined;
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
  -r, --rate N          send N messages per second over all connections, each
                        connection on an even schedule (default: as fast as
                        the server answers); the report shows the rate reached
  --proxy-protocol V    send a PROXY protocol header, v1 or v2, first on every
                        connection (naming the connection's own addresses), for
                        servers that require one; a server started with no
                        address then runs with --proxy-protocol
  --tls                 speak TLS, verifying the server's certificate against the
                        system's CAs; a server started with no address then runs
                        with --tls, and its certificate is the one trusted
  --ca FILE             trust the PEM certificates in FILE instead (implies --tls)
  --insecure            do not verify the server's certificate (implies --tls)
  --udp                 UDP pingpong: each client sends a datagram and waits for it
                        back, whole, before the next (the first 8 bytes number it);
                        --connections is the number of client sockets; a server
                        started with no address then runs with --udp-only --udp-rate off
  --timeout TIME        with --udp, how long to wait for each reply before counting
                        the datagram as lost and sending the next (default 1s)
  --driver NAME         driver of the server started with no address (default auto)
  --json                print the result as one JSON object
  -h, --help            show this help

Connections are opened before the clock starts. Prints msg/s, MB/s (echoed
payload, 1 MB = 10^6 bytes), latency percentiles, errors and mismatches.
Exits 1, with a line per cause, if any byte came back wrong, a connection
could not be opened, the server closed or reset a connection early, sent a
short reply, stalled for 5 s, did not answer the client's FIN, or no
message completed. Over UDP, lost and late datagrams are counted and shown; a
run fails if a reply came back wrong or none came back at all.`;

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
			rate: { type: "string", short: "r" },
			driver: { type: "string" },
			"proxy-protocol": { type: "string" },
			tls: { type: "boolean" },
			ca: { type: "string" },
			insecure: { type: "boolean" },
			udp: { type: "boolean" },
			timeout: { type: "string" },
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
	const rate = values.rate === undefined ? undefined : parseRate(values.rate);
	if (values.rate !== undefined && !(rate !== undefined && rate > 0 && rate <= 10_000_000)) {
		throw new UsageError(`invalid --rate '${values.rate}'; give messages per second, a number above 0, such as 20000`);
	}
	const proxy = values["proxy-protocol"];
	if (proxy !== undefined && proxy !== "v1" && proxy !== "v2") {
		throw new UsageError(`unknown --proxy-protocol '${proxy}'; choose v1 or v2`);
	}
	const target = positionals[0] === undefined ? undefined : parseTarget(positionals[0]);
	if (proxy !== undefined && target !== undefined && "path" in target) {
		throw new UsageError("--proxy-protocol needs a TCP address: a PROXY header names TCP addresses");
	}
	if (values.ca !== undefined && values.insecure) {
		throw new UsageError("--ca and --insecure cannot be used together: one verifies, the other does not");
	}
	if (values.ca === "") throw new UsageError("--ca is empty; give a PEM file");
	const tls =
		values.tls || values.ca !== undefined || values.insecure
			? { ca: values.ca, insecure: values.insecure ?? false }
			: undefined;
	const udp = values.udp ? { timeout: parseDuration(values.timeout ?? "1s", "--timeout") } : undefined;
	if (!udp && values.timeout !== undefined) throw new UsageError("--timeout needs --udp");
	if (udp) checkUdp(values, target);
	return {
		command: "bench",
		target,
		tls,
		udp,
		connections: Number(connections),
		size: udp
			? parseSize(values.size ?? "1KiB", "--size", MAX_DATAGRAM_IPV4, `${MIN_UDP_SIZE} to ${MAX_DATAGRAM_IPV4} bytes`)
			: parseSize(values.size ?? "1KiB", "--size", MAX_SIZE, "1 byte to 4MiB"),
		duration,
		warmup: parseDuration(values.warmup ?? "1s", "--warmup"),
		mode,
		rate,
		json: values.json ?? false,
		driver,
		proxyProtocol: proxy === undefined ? undefined : proxy === "v1" ? 1 : 2,
	};
}

/** Flags that have no meaning over UDP. */
function checkUdp(values: Readonly<Record<string, unknown>>, target: Target | undefined): void {
	if (target && "path" in target) throw new UsageError("--udp needs HOST:PORT; a unix socket path is a stream");
	for (const flag of ["mode", "rate", "proxy-protocol", "tls", "ca", "insecure"]) {
		if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply to --udp`);
	}
	const size = values.size === undefined ? 1024 : parseSize(String(values.size), "--size");
	if (size < MIN_UDP_SIZE) {
		throw new UsageError(`--size over --udp is at least ${MIN_UDP_SIZE} bytes: the first 8 number each datagram`);
	}
}

function parseTarget(text: string): Target {
	if (text.startsWith("unix:")) {
		if (text.length === 5) throw new UsageError("unix: needs a socket path, such as unix:/tmp/echo.sock");
		return { path: text.slice(5) };
	}
	const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
	const port = Number(match?.[3]);
	if (!match || port < 1 || port > 65535) {
		throw new UsageError(`invalid address '${text}'; use HOST:PORT, [IPv6]:PORT or unix:PATH`);
	}
	return { host: (match[1] ?? match[2]) as string, port };
}

/** Runs the load, prints the report, resolves to the exit status. */
export async function benchCommand(config: BenchConfig, script: string): Promise<number> {
	if (config.udp) return udpBenchCommand(config, script);
	let target = config.target;
	let server: Awaited<ReturnType<typeof startServer>> | undefined;
	if (!target) {
		try {
			server = await startServer(script, config.driver, {
				proxyProtocol: config.proxyProtocol !== undefined,
				tls: config.tls !== undefined,
			});
		} catch (error) {
			// The server's own reason, if it gave one, is already on stderr.
			process.stderr.write(`echo-cli: bench could not start an echo server: ${(error as Error).message}\n`);
			return 1;
		}
		target = { host: "127.0.0.1", port: server.port };
	}
	let tls: LoadOptions["tls"];
	if (config.tls) {
		const file = config.tls.ca ?? server?.certificate;
		try {
			tls = { ca: file === undefined ? undefined : readFileSync(file, "utf8"), insecure: config.tls.insecure };
		} catch (error) {
			await server?.stop();
			const code = (error as NodeJS.ErrnoException).code;
			process.stderr.write(
				`echo-cli: cannot read --ca ${file}: ${code === "ENOENT" ? "no such file" : (error as Error).message}\n`,
			);
			return 1;
		}
	}
	const live = process.stderr.isTTY && !config.json;
	let result: LoadResult;
	try {
		result = await runLoad({
			target,
			connections: config.connections,
			size: config.size,
			mode: config.mode,
			rate: config.rate,
			proxyProtocol: config.proxyProtocol,
			tls,
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
	const summary = summarize(config, result, server ? `${server.describe} (started by bench)` : where);
	process.stdout.write(config.json ? `${JSON.stringify(summary)}\n` : `${report(summary)}\n`);
	const problems = verdict(result, config);
	for (const line of problems) process.stderr.write(`echo-cli: ${line}\n`);
	// Not a failure of the server's echo, but the figures then describe a lighter load than asked.
	if (config.rate && problems.length === 0 && summary.msgPerSecond < config.rate * 0.95) {
		process.stderr.write(
			`echo-cli: note: reached ${summary.msgPerSecond} msg/s, ${Math.round((100 * summary.msgPerSecond) / config.rate)}% of the ${config.rate} asked; the server or this client could not keep up\n`,
		);
	}
	return problems.length > 0 ? 1 : 0;
}

/** Why the run failed, a line per cause; empty when every connection echoed everything and closed in order. */
export function verdict(r: LoadResult, config: Pick<BenchConfig, "connections">): string[] {
	const f = r.failures;
	const n = (count: number) => `${count} of ${config.connections} connection${config.connections === 1 ? "" : "s"}`;
	const lines: string[] = [];
	if (r.mismatches > 0) lines.push(`${r.mismatches} chunks came back wrong`);
	for (const [code, count] of Object.entries(f.connect))
		lines.push(`${n(count)} could not connect: ${describeCode(code)}`);
	if (f.closedEarly > 0) {
		lines.push(
			`${n(f.closedEarly)} closed by the server before the client was done, after at most ${f.closedEarlyAfter} bytes echoed`,
		);
	}
	if (f.reset > 0) lines.push(`${n(f.reset)} reset by the server`);
	for (const [code, count] of Object.entries(f.other)) lines.push(`${n(count)} failed: ${describeCode(code)}`);
	if (f.shortReply > 0)
		lines.push(`${n(f.shortReply)} got a short reply: up to ${f.shortBy} bytes missing before the server's FIN`);
	if (f.stalled > 0) lines.push(`${n(f.stalled)} stalled: bytes in flight and no reply for ${STALL_MS / 1000} s`);
	if (f.noFin > 0)
		lines.push(`${n(f.noFin)} got every byte back, but no FIN from the server within ${STALL_MS / 1000} s of ours`);
	if (lines.length === 0 && r.messages === 0) lines.push("no message completed in the measured window");
	return lines;
}

function describeCode(code: string): string {
	switch (code) {
		case "ECONNREFUSED":
			return "connection refused; is an echo server listening there?";
		case "EMFILE":
		case "ENFILE":
			return "out of file descriptors; lower --connections or raise the limit with ulimit -n";
		case "ETIMEDOUT":
			return `no answer within ${STALL_MS / 1000} s`;
		case "ENOENT":
			return "no such socket file";
		default:
			return code;
	}
}

function summarize(config: BenchConfig, r: LoadResult, server: string) {
	const { seconds, latencyMs, ...rates } = figures(r);
	return {
		server,
		client: runtimeName,
		tls: config.tls !== undefined,
		mode: config.mode,
		connections: config.connections,
		size: config.size,
		/** The rate asked for with --rate, or null. */
		rate: config.rate ?? null,
		seconds,
		...rates,
		latencyMs,
		errors: r.errors,
		failures: r.failures,
		mismatches: r.mismatches,
	};
}

function report(report: ReturnType<typeof summarize>): string {
	const l = report.latencyMs;
	return table(
		`${report.mode}${report.tls ? " over TLS" : ""}, ${report.connections} connections x ${report.size} B${report.rate === null ? "" : ` at ${report.rate} msg/s asked`}, ${formatDuration(Math.round(report.seconds * 1000))} measured, against ${report.server}`,
		[
			["msg/s", String(report.msgPerSecond)],
			["MB/s", report.mbPerSecond.toFixed(1)],
			["p50", latency(l.p50)],
			["p90", latency(l.p90)],
			["p99", latency(l.p99)],
			["p99.9", latency(l.p999)],
			["max", latency(l.max)],
			["errors", String(report.errors)],
			["mismatches", String(report.mismatches)],
		],
	);
}
