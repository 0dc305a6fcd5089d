/**
 * `bun bench/workers.ts`: what workers and the PROXY header cost, through
 * the CLI as users run it, on each driver's own runtime.
 *
 * - 1 process against `--workers 2`: msg/s and the server's CPU per
 *   message, summed over the supervisor and its workers, under
 *   `echo-cli bench` (1 KiB pingpong over 100 connections, at full load).
 *   Nothing is pinned: two workers need both cores, and the load client
 *   shares them, so this shows what a second worker buys on a 2-core
 *   machine with its client on it, not what it buys on a bigger one.
 * - Connections per second with no header, a v1 and a v2 PROXY header:
 *   8 loops, each opening a connection, sending 64 B (after the header),
 *   half-closing and reading the echo to the end, then the next.
 *
 *   bun bench/workers.ts [--rounds 2] [--duration 3s] [--write BENCHMARKS.md]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { encodeProxyHeader, type TcpAddress } from "@echo-cli/core";
import { readyFileAddress } from "@echo-cli/core/testing";
import { parseDuration } from "../apps/cli/src/options.ts";
import { BUN, CLI } from "./matrix.ts";
import { type Ping, pingpong } from "./pingpong.ts";
import { cpuNanoseconds } from "./proc.ts";
import { writeSection } from "./section.ts";
import { median, version } from "./stats.ts";

const { values } = parseArgs({
	options: {
		rounds: { type: "string", default: "2" },
		duration: { type: "string", default: "3s" },
		write: { type: "string" },
	},
});
const ROUNDS = Number(values.rounds);
const DURATION = parseDuration(values.duration, "--duration");
const WARMUP = 1000;
/** Kept clear of each end of the measured window. */
const EDGE = 250;
let made = 0;

const RUNTIMES = [
	{ runtime: "Node", driver: "node", command: ["node", CLI, "--driver", "node"] },
	{ runtime: "Bun", driver: "bun", command: [BUN, CLI, "--driver", "bun"] },
] as const;

interface Server {
	readonly child: ChildProcess;
	readonly port: number;
	stop(): Promise<void>;
}

async function startCli(command: readonly string[], extra: readonly string[]): Promise<Server> {
	const file = join(tmpdir(), `echo-cli-bench-workers-${process.pid}-${made++}.ready`);
	const [bin, ...args] = [...command, "--port", "0", "--quiet", "--ready-file", file, ...extra];
	const child = spawn(bin as string, args, { stdio: ["ignore", "ignore", "inherit"] });
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	const gone = () => (child.exitCode !== null ? `exited with ${child.exitCode}` : undefined);
	const address = await readyFileAddress(file, { gone });
	if (address.transport !== "tcp") throw new Error("not TCP");
	return {
		child,
		port: address.port,
		async stop() {
			child.kill("SIGTERM");
			await exited;
			rmSync(file, { force: true });
		},
	};
}

/** CPU nanoseconds of `pid` and its children (a supervisor's workers). */
function treeCpu(pid: number): number {
	let total = cpuNanoseconds(pid);
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
			if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) total += cpuNanoseconds(Number(entry));
		} catch {
			// Gone meanwhile.
		}
	}
	return total;
}

interface Churn {
	readonly perSecond: number;
	readonly cpuPerConnection: number;
}

function measure(server: Server): Promise<Ping> {
	const pid = server.child.pid as number;
	return pingpong({
		port: server.port,
		flags: ["-c", "100", "-s", "1KiB"],
		duration: DURATION,
		warmup: WARMUP,
		edge: EDGE,
		cpu: () => treeCpu(pid),
	});
}

/** Connections per second from 8 loops of connect, (header,) 64 B, FIN, echo to the end; and server CPU µs per connection. */
async function churn(server: Server, version: 0 | 1 | 2): Promise<Churn> {
	const message = new Uint8Array(64).fill(0x5a);
	const until = performance.now() + WARMUP + DURATION;
	const measureFrom = performance.now() + WARMUP;
	let measured = 0;
	let cpu0 = 0;
	const pid = server.child.pid as number;
	const once = () =>
		new Promise<void>((resolve, reject) => {
			const socket = net.connect({ port: server.port, host: "127.0.0.1", allowHalfOpen: true });
			let got = 0;
			socket.on("data", (d: Buffer) => {
				got += d.byteLength;
			});
			socket.once("error", reject);
			socket.once("end", () => {
				socket.destroy();
				if (got !== message.byteLength) reject(new Error(`echoed ${got} of ${message.byteLength} bytes`));
				else resolve();
			});
			socket.once("connect", () => {
				if (version) socket.write(header(socket, version));
				socket.end(message);
			});
		});
	const timer = setTimeout(() => {
		cpu0 = treeCpu(pid);
	}, WARMUP);
	await Promise.all(
		Array.from({ length: 8 }, async () => {
			while (performance.now() < until) {
				await once();
				if (performance.now() >= measureFrom) measured++;
			}
		}),
	);
	clearTimeout(timer);
	const cpu1 = treeCpu(pid);
	return { perSecond: measured / (DURATION / 1000), cpuPerConnection: (cpu1 - cpu0) / 1000 / measured };
}

function header(socket: net.Socket, version: 1 | 2): Uint8Array {
	const end = (host: string | undefined, port: number | undefined): TcpAddress => ({
		transport: "tcp",
		host: host ?? "127.0.0.1",
		port: port ?? 0,
		family: "IPv4",
	});
	return encodeProxyHeader(
		version,
		end(socket.localAddress, socket.localPort),
		end(socket.remoteAddress, socket.remotePort),
	);
}

const workerRows: string[] = [];
const proxyRows: string[] = [];
for (const { runtime, driver, command } of RUNTIMES) {
	const samples = { one: [] as Ping[], two: [] as Ping[] };
	const conns = { none: [] as Churn[], v1: [] as Churn[], v2: [] as Churn[] };
	for (let round = 0; round < ROUNDS; round++) {
		for (const [key, extra] of [
			["one", []],
			["two", ["--workers", "2"]],
		] as const) {
			const server = await startCli(command, extra);
			try {
				samples[key].push(await measure(server));
			} finally {
				await server.stop();
			}
		}
		// Each round starts with a different one: the connection rate drifts within a round.
		const headers = [
			["none", 0],
			["v1", 1],
			["v2", 2],
		] as const;
		for (const [key, version] of headers.map(
			(_, i) => headers[(i + round) % headers.length] as (typeof headers)[number],
		)) {
			const server = await startCli(command, version ? ["--proxy-protocol"] : []);
			try {
				conns[key].push(await churn(server, version));
			} finally {
				await server.stop();
			}
		}
		process.stderr.write(`${runtime} round ${round + 1} of ${ROUNDS}\n`);
	}
	const one = { m: median(samples.one.map((s) => s.msgPerSecond)), c: median(samples.one.map((s) => s.cpuPerMessage)) };
	const two = { m: median(samples.two.map((s) => s.msgPerSecond)), c: median(samples.two.map((s) => s.cpuPerMessage)) };
	workerRows.push(
		`| CLI, ${driver} driver, on ${runtime} | ${Math.round(one.m)} | ${one.c.toFixed(1)} | ${Math.round(two.m)} | ${two.c.toFixed(1)} | ${(two.m / one.m).toFixed(2)}x | ${(two.c / one.c).toFixed(2)}x |`,
	);
	const base = median(conns.none.map((s) => s.perSecond));
	const baseCpu = median(conns.none.map((s) => s.cpuPerConnection));
	for (const key of ["none", "v1", "v2"] as const) {
		const perSecond = median(conns[key].map((s) => s.perSecond));
		const cpu = median(conns[key].map((s) => s.cpuPerConnection));
		proxyRows.push(
			`| CLI, ${driver} driver, on ${runtime} | ${key === "none" ? "no header (no --proxy-protocol)" : `${key} header`} | ${Math.round(perSecond)} | ${(perSecond / base).toFixed(2)}x | ${cpu.toFixed(0)} | ${(cpu / baseCpu).toFixed(2)}x |`,
		);
	}
}

const output = [
	`- Node ${version("node")}, Bun ${version(BUN)}; ${ROUNDS} rounds, medians; each run ${DURATION} ms after a ${WARMUP} ms warm-up; nothing pinned, the load client on the same 2 cores`,
	"",
	"| server | 1 process: msg/s | CPU µs/msg | --workers 2: msg/s | CPU µs/msg | msg/s, 2 vs 1 | CPU/msg, 2 vs 1 |",
	"|---|---:|---:|---:|---:|---:|---:|",
	...workerRows,
	"",
	"| server | PROXY header | connections/s | vs no header | server CPU µs/connection | vs no header |",
	"|---|---|---:|---:|---:|---:|",
	...proxyRows,
].join("\n");
process.stdout.write(`${output}\n`);
if (values.write) writeSection(values.write, "workers", output);
