/**
 * `bun run bench`: the drivers against the raw runtime echo servers, in one
 * run. Servers and workloads are interleaved round by round; the server is
 * pinned to CPU 0 and the load client (`echo-cli bench`, on Bun) to CPU 1
 * where taskset exists. Reports medians, server CPU time per message from
 * /proc, peak RSS, and each driver's ratio to the raw baseline of its runtime.
 * Each workload runs at full load and paced at a fixed rate (see WORKLOADS).
 *
 *   bun bench/run.ts [--rounds 3] [--duration 3s] [--warmup 2s] [--idle 10000]
 *                    [--load full,paced] [--only "bun driver,raw Bun"] [--workloads "1 KiB"] [--write BENCHMARKS.md]
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseListening } from "@echo-cli/core";
import { parseDuration } from "../apps/cli/src/options.ts";
import { BUN, CLI, DENO, label, type ServerSpec, servers, type Workload, workloadLabel, workloads } from "./matrix.ts";
import { cpuNanoseconds, minorFaults, status } from "./proc.ts";
import { writeSection } from "./section.ts";

const { values } = parseArgs({
	options: {
		rounds: { type: "string", default: "3" },
		duration: { type: "string", default: "3s" },
		// The JIT still compiles a driver's code a second into a run: its thread took 1.2% of the
		// bun driver's CPU in the next 3 s, against 0.1% for raw Bun.listen.
		warmup: { type: "string", default: "2s" },
		idle: { type: "string", default: "10000" },
		only: { type: "string" },
		workloads: { type: "string" },
		write: { type: "string" },
		section: { type: "string" },
		load: { type: "string", default: "full,paced" },
	},
});
const ROUNDS = Number(values.rounds);
const LOADS = values.load.split(",");
for (const load of LOADS) {
	if (load !== "full" && load !== "paced") throw new Error(`--load takes full, paced or both, not '${load}'`);
}
let started = 0;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const IDLE = Number(values.idle);

const SERVERS = servers(values.only);
const WORKLOADS = workloads(LOADS, values.workloads);

const taskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0 && cpus().length >= 2;
const pin = (cpu: number, command: readonly string[]) =>
	taskset ? ["taskset", "-c", String(cpu), ...command] : [...command];

interface RunningServer {
	readonly child: ChildProcess;
	readonly pid: number;
	readonly port: number;
	stop(): Promise<void>;
}

/** Starts a server (with room for 10,000 connections) and reads its port from its listening line. */
async function startServer(spec: ServerSpec): Promise<RunningServer> {
	const readyFile = spec.cli ? join(tmpdir(), `echo-cli-bench-${process.pid}-${started++}.ready`) : undefined;
	const command = pin(0, readyFile ? [...spec.command, "--ready-file", readyFile] : spec.command)
		.map((a) => `'${a}'`)
		.join(" ");
	const child = spawn("sh", ["-c", `ulimit -n ${2 * IDLE + 1000} 2>/dev/null; exec ${command}`], {
		stdio: ["ignore", "pipe", "inherit"],
	});
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	const port = await new Promise<number>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`${label(spec)} did not start`)), 10_000);
		const found = (line: string) => {
			clearTimeout(timer);
			clearInterval(poll);
			const address = parseListening(line);
			if (address?.transport === "tcp") resolve(address.port);
			else reject(new Error(`${label(spec)} wrote no listening line first: ${line}`));
		};
		// The CLI's ready file appears whole (it is renamed into place).
		const poll = setInterval(() => {
			if (readyFile && existsSync(readyFile)) found(readFileSync(readyFile, "utf8").trim());
		}, 20);
		let out = "";
		child.stdout?.on("data", (d: Buffer) => {
			out += d;
			const line = out.split("\n")[0] as string;
			if (line !== out && !readyFile) found(line);
		});
		child.once("exit", (code) => {
			clearInterval(poll);
			reject(new Error(`${label(spec)} exited with ${code}`));
		});
	});
	return {
		child,
		pid: child.pid as number,
		port,
		async stop() {
			child.kill("SIGKILL");
			await exited;
			if (readyFile) rmSync(readyFile, { force: true });
		},
	};
}

interface LoadReport {
	msgPerSecond: number;
	mbPerSecond: number;
	latencyMs: { p50: number; p99: number };
	errors: number;
	mismatches: number;
}

interface Sample {
	readonly msgPerSecond: number;
	readonly mbPerSecond: number;
	readonly p50: number;
	readonly p99: number;
	/** Server CPU microseconds per echoed message. */
	readonly cpuPerMessage: number;
	/** Minor page faults per echoed message. */
	readonly faultsPerMessage: number;
	readonly peakRss: number;
}

/** Kept clear of each end of the client's measured window: its connecting, and its last replies and FINs. */
const EDGE_MS = 250;

/**
 * One client run against a fresh server. Server CPU is read over the
 * client's measured window only, less a margin at each end: the warm-up,
 * where the JIT compiles the server's code once, is left out, as it is from
 * msg/s and latency.
 */
async function measureLoad(spec: ServerSpec, w: Workload): Promise<Sample> {
	const server = await startServer(spec);
	try {
		const [command, ...args] = pin(1, [
			BUN,
			CLI,
			"bench",
			`127.0.0.1:${server.port}`,
			...["--mode", w.mode, "--size", String(w.size), "--connections", String(w.connections)],
			...["--duration", String(values.duration), "--warmup", String(values.warmup), "--json"],
			...(w.rate ? ["--rate", String(w.rate)] : []),
		]);
		const client = spawn(command as string, args, { stdio: ["ignore", "pipe", "inherit"] });
		let stdout = "";
		client.stdout?.on("data", (d: Buffer) => {
			stdout += d;
		});
		const exited = new Promise<void>((resolve) => client.once("exit", () => resolve()));
		const limit = setTimeout(() => client.kill("SIGKILL"), 120_000);
		await pause(parseDuration(values.warmup, "--warmup") + EDGE_MS);
		const cpuFrom = cpuNanoseconds(server.pid);
		const faultsFrom = minorFaults(server.pid);
		const from = performance.now();
		await pause(parseDuration(values.duration, "--duration") - 2 * EDGE_MS);
		const cpu = cpuNanoseconds(server.pid) - cpuFrom;
		const faults = minorFaults(server.pid) - faultsFrom;
		const seconds = (performance.now() - from) / 1000;
		await exited;
		clearTimeout(limit);
		const report = JSON.parse(stdout) as LoadReport;
		if (report.mismatches > 0 || report.errors > 0) {
			throw new Error(`${label(spec)}, ${workloadLabel(w)}: ${report.mismatches} mismatches, ${report.errors} errors`);
		}
		return {
			msgPerSecond: report.msgPerSecond,
			mbPerSecond: report.mbPerSecond,
			p50: report.latencyMs.p50,
			p99: report.latencyMs.p99,
			cpuPerMessage: cpu / 1000 / (report.msgPerSecond * seconds),
			faultsPerMessage: faults / (report.msgPerSecond * seconds),
			peakRss: status(server.pid, "VmHWM"),
		};
	} finally {
		await server.stop();
	}
}

/** RSS the server adds while one client sends without ever reading (up to 256 MiB). */
async function measureNonReader(spec: ServerSpec): Promise<number> {
	const server = await startServer(spec);
	try {
		await pause(300);
		const before = status(server.pid, "VmRSS");
		let peak = before;
		const socket = net.connect({ port: server.port, host: "127.0.0.1" });
		socket.on("error", () => {});
		await new Promise((resolve) => socket.once("connect", resolve));
		socket.pause();
		const chunk = new Uint8Array(256 * 1024).fill(42);
		for (let sent = 0; sent < 256 * 1024 * 1024; sent += chunk.byteLength) {
			if (!socket.write(chunk)) {
				const drained = await Promise.race([
					new Promise<boolean>((resolve) => socket.once("drain", () => resolve(true))),
					pause(500).then(() => false),
				]);
				peak = Math.max(peak, status(server.pid, "VmRSS"));
				if (!drained) break;
			}
		}
		await pause(300);
		peak = Math.max(peak, status(server.pid, "VmRSS"));
		socket.destroy();
		return peak - before;
	} finally {
		await server.stop();
	}
}

/** An idle client process pinned to CPU 1 that holds IDLE connections open until its stdin closes. */
async function openIdle(spec: ServerSpec, port: number): Promise<ChildProcess> {
	const command = pin(1, [
		"node",
		fileURLToPath(new URL("idle-client.mjs", import.meta.url)),
		String(port),
		String(IDLE),
	])
		.map((a) => `'${a}'`)
		.join(" ");
	const client = spawn("sh", ["-c", `ulimit -n ${IDLE + 1000} 2>/dev/null; exec ${command}`], {
		stdio: ["pipe", "pipe", "inherit"],
	});
	const connected = await new Promise<number>((resolve) => {
		client.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
		client.once("exit", () => resolve(0));
	});
	if (connected < IDLE) throw new Error(`${label(spec)}: only ${connected} of ${IDLE} idle connections opened`);
	return client;
}

interface IdleSample {
	/** RSS per connection for the first IDLE: what a fresh server grows by, one-time costs included. */
	readonly cold: number;
	/** RSS per connection for IDLE more on top of those: the cost of each further connection. */
	readonly further: number;
}

/**
 * RSS per idle connection, twice. The first IDLE connections to a fresh
 * server also pay for one-time costs (code the JIT compiles for the accept
 * path, heap growth), which vary from run to run; IDLE more, opened on top,
 * show what each further connection costs.
 */
async function measureIdle(spec: ServerSpec): Promise<IdleSample> {
	const server = await startServer(spec);
	const clients: ChildProcess[] = [];
	try {
		await pause(300);
		const before = status(server.pid, "VmRSS");
		clients.push(await openIdle(spec, server.port));
		await pause(1500);
		const first = status(server.pid, "VmRSS");
		clients.push(await openIdle(spec, server.port));
		await pause(1500);
		const second = status(server.pid, "VmRSS");
		return { cold: (first - before) / IDLE, further: (second - first) / IDLE };
	} finally {
		for (const client of clients) {
			client.stdin?.end();
			await new Promise((resolve) => client.once("exit", resolve));
		}
		await server.stop();
	}
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const version = (command: string, args: string[]) => spawnSync(command, args, { encoding: "utf8" }).stdout.trim();

async function main() {
	const loads = new Map<string, Sample[]>();
	const nonReader = new Map<string, number[]>();
	const idle = new Map<string, number[]>();
	const idleFurther = new Map<string, number[]>();
	const push = <T>(map: Map<string, T[]>, key: string, value: T) => map.set(key, [...(map.get(key) ?? []), value]);
	const started = Date.now();
	for (let round = 1; round <= ROUNDS; round++) {
		for (const w of WORKLOADS) {
			// Rotate the order each round, so that no server always runs first or last.
			const order = SERVERS.map((_, i) => SERVERS[(i + round) % SERVERS.length] as ServerSpec);
			for (const spec of order) {
				const sample = await measureLoad(spec, w);
				push(loads, `${label(spec)}|${workloadLabel(w)}`, sample);
				process.stderr.write(
					`round ${round}/${ROUNDS} ${workloadLabel(w).padEnd(22)} ${label(spec).padEnd(24)} ` +
						`${String(sample.msgPerSecond).padStart(7)} msg/s ${sample.cpuPerMessage.toFixed(2).padStart(7)} µs CPU/msg ${sample.faultsPerMessage.toFixed(1).padStart(6)} faults/msg\n`,
				);
			}
		}
		for (const spec of values.idle === "0" ? [] : SERVERS) {
			push(nonReader, label(spec), await measureNonReader(spec));
			const sample = await measureIdle(spec);
			push(idle, label(spec), sample.cold);
			push(idleFurther, label(spec), sample.further);
			process.stderr.write(`round ${round}/${ROUNDS} memory ${label(spec)}\n`);
		}
	}

	const lines: string[] = [];
	const baselineOf = (spec: ServerSpec) => SERVERS.find((s) => s.name === spec.baseline && s.runtime === spec.runtime);
	const medianOf = (key: string, pick: (s: Sample) => number) => median((loads.get(key) ?? []).map(pick));
	/**
	 * The median of per-round ratios: each round compares runs made minutes
	 * apart, so a noisy neighbour slowing a whole round cancels out. A raw
	 * server is its own baseline; a driver whose baseline was left out by
	 * `--only` has no ratio.
	 */
	const ratioCell = (spec: ServerSpec, ours: number[], theirs: number[] | undefined) => {
		if (!spec.baseline) return "baseline";
		if (!theirs) return "n/a";
		return median(ours.map((value, round) => value / (theirs[round] as number))).toFixed(2);
	};
	for (const w of WORKLOADS) {
		lines.push(`### ${workloadLabel(w)}`, "");
		lines.push(
			"| server | msg/s | MB/s | p50 ms | p99 ms | server CPU µs/msg | CPU/msg vs baseline | msg/s vs baseline | page faults/msg | peak RSS MiB |",
			"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
		);
		for (const spec of SERVERS) {
			const key = `${label(spec)}|${workloadLabel(w)}`;
			const base = baselineOf(spec);
			const ours = loads.get(key) ?? [];
			const theirs = base ? loads.get(`${label(base)}|${workloadLabel(w)}`) : undefined;
			const cpu = medianOf(key, (s) => s.cpuPerMessage);
			const rate = medianOf(key, (s) => s.msgPerSecond);
			const cpuRatio = ratioCell(
				spec,
				ours.map((s) => s.cpuPerMessage),
				theirs?.map((s) => s.cpuPerMessage),
			);
			const rateRatio = ratioCell(
				spec,
				ours.map((s) => s.msgPerSecond),
				theirs?.map((s) => s.msgPerSecond),
			);
			lines.push(
				`| ${label(spec)} | ${Math.round(rate)} | ${medianOf(key, (s) => s.mbPerSecond).toFixed(1)} | ` +
					`${medianOf(key, (s) => s.p50).toFixed(3)} | ${medianOf(key, (s) => s.p99).toFixed(3)} | ${cpu.toFixed(2)} | ` +
					`${cpuRatio} | ${rateRatio} | ${medianOf(key, (s) => s.faultsPerMessage).toFixed(2)} | ` +
					`${(medianOf(key, (s) => s.peakRss) / 1048576).toFixed(1)} |`,
			);
		}
		lines.push("");
	}
	if (idle.size > 0) lines.push("### Memory", "");
	if (idle.size > 0)
		lines.push(
			`| server | RSS added by a client that never reads (MiB) | RSS per idle connection, first ${IDLE} (KiB) | vs raw | RSS per idle connection, ${IDLE} more (KiB) | vs raw |`,
			"|---|---:|---:|---:|---:|---:|",
		);
	for (const spec of idle.size > 0 ? SERVERS : []) {
		const base = baselineOf(spec);
		const cells = [idle, idleFurther].flatMap((map) => {
			const ours = map.get(label(spec)) ?? [];
			return [(median(ours) / 1024).toFixed(2), ratioCell(spec, ours, base ? map.get(label(base)) : undefined)];
		});
		lines.push(
			`| ${label(spec)} | ${(median(nonReader.get(label(spec)) ?? []) / 1048576).toFixed(1)} | ${cells.join(" | ")} |`,
		);
	}
	const machine = [
		`- Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Linux ${version("uname", ["-r"])}`,
		`- Node ${version("node", ["--version"])}, Bun ${version(BUN, ["--version"])}, Deno ${version(DENO, ["eval", "console.log(Deno.version.deno)"])}`,
		`- ${ROUNDS} interleaved rounds; figures are medians, ratios the median of per-round ratios; each load run ${values.warmup} warm-up + ${values.duration} measured; ` +
			`server ${taskset ? "pinned to CPU 0, client (echo-cli bench on Bun) to CPU 1" : "and client not pinned (no taskset)"}`,
		`- Took ${Math.round((Date.now() - started) / 1000)} s`,
	];
	const output = [...machine, "", ...lines].join("\n");
	process.stdout.write(`${output}\n`);
	// A run of some servers (--only) goes to a section of its own, leaving the full run's results.
	if (values.write && values.section) writeSection(values.write, values.section, output);
	else if (values.write) {
		const file = readFileSync(values.write, "utf8");
		const marker = "<!-- bench:results -->";
		const [head] = file.split(marker);
		writeFileSync(values.write, `${head}${marker}\n\n${output}\n`);
	}
}

await main();
