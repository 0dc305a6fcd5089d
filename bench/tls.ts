import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { tlsFixture } from "@echo-cli/core/testing";
import { parseDuration } from "../apps/cli/src/options.ts";
import { type BenchServer, startListening } from "./listening.ts";
import { BUN } from "./matrix.ts";
import { type Ping, pingpong } from "./pingpong.ts";
import { cpuNanoseconds, status } from "./proc.ts";
import { writeSection } from "./section.ts";
import { median, version } from "./stats.ts";

const { values } = parseArgs({
	options: {
		rounds: { type: "string", default: "2" },
		duration: { type: "string", default: "3s" },
		handshakes: { type: "string", default: "10000" },
		write: { type: "string" },
	},
});
const ROUNDS = Number(values.rounds);
const DURATION = parseDuration(values.duration, "--duration");
const HANDSHAKES = Number(values.handshakes);
const WARMUP = 1000;
const EDGE = 250;
const IDLE = 1000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const dir = mkdtempSync(join(tmpdir(), "echo-cli-bench-tls-"));
const fixture = await tlsFixture();
const files = { cert: join(dir, "server.pem"), key: join(dir, "server.key"), ca: join(dir, "ca.pem") };
writeFileSync(files.cert, fixture.server.cert);
writeFileSync(files.key, fixture.server.key);
writeFileSync(files.ca, fixture.ca.cert);
const env = { ...process.env, ECHO_TLS_CERT: files.cert, ECHO_TLS_KEY: files.key };

const SERVERS = [
	{ name: "raw node:tls pipe", runtime: "Node", command: ["node", "--expose-gc", here("servers/raw-node-pipe.mjs")] },
	{ name: "node driver", runtime: "Node", command: ["node", "--expose-gc", here("servers/driver.mjs"), "node"] },
	{ name: "raw Bun.listen tls", runtime: "Bun", command: [BUN, here("servers/raw-bun.ts")] },
	{ name: "bun driver", runtime: "Bun", command: [BUN, here("servers/driver.mjs"), "bun"] },
] as const;

const startServer = (command: readonly string[]) => startListening(command, "tcp", env);

function measure(server: BenchServer): Promise<Ping> {
	const pid = server.child.pid as number;
	return pingpong({
		port: server.port,
		flags: ["--ca", files.ca, "-c", "100", "-s", "1KiB"],
		duration: DURATION,
		warmup: WARMUP,
		edge: EDGE,
		cpu: () => cpuNanoseconds(pid),
	});
}

function connectTls(port: number): Promise<tls.TLSSocket> {
	return new Promise((resolve, reject) => {
		const socket = tls.connect({ port, host: "127.0.0.1", ca: fixture.ca.cert, allowHalfOpen: true });
		socket.once("error", reject);
		socket.once("secureConnect", () => resolve(socket));
	});
}

interface Handshakes {
	readonly perSecond: number;
	readonly cpuPerHandshake: number;
	readonly rssAfter1k: number;
	/** After half of the handshakes: where RSS levels off, if it does. */
	readonly rssAfterHalf: number;
	readonly rssAfterAll: number;
	readonly count: number;
}

/**
 * The server's RSS once a full collection has run (SIGUSR2, see
 * servers/collect-on-signal.mjs): without one, a sample on Bun says more about
 * when its collector last ran than about what the server holds.
 */
async function collectedRss(pid: number): Promise<number> {
	process.kill(pid, "SIGUSR2");
	await pause(400);
	return status(pid, "VmRSS");
}

/** HANDSHAKES fresh connections from 8 loops (stopping after 90 s in any case). */
async function handshakes(server: BenchServer): Promise<Handshakes> {
	const pid = server.child.pid as number;
	const message = new Uint8Array(64).fill(0x5a);
	const deadline = performance.now() + 90_000;
	let started = 0;
	let done = 0;
	const once = async () => {
		const socket = await connectTls(server.port);
		let got = 0;
		await new Promise<void>((resolve, reject) => {
			socket.on("data", (d: Buffer) => {
				got += d.byteLength;
			});
			socket.once("error", reject);
			socket.once("end", () => {
				socket.destroy();
				if (got !== message.byteLength) reject(new Error(`echoed ${got} of ${message.byteLength} bytes`));
				else resolve();
			});
			socket.end(message);
		});
	};
	// Eight loops up to COUNT handshakes in all; the samples are taken between runs, with no traffic.
	const run = (count: number) =>
		Promise.all(
			Array.from({ length: 8 }, async () => {
				while (started < count && performance.now() < deadline) {
					started++;
					await once();
					done++;
				}
			}),
		);
	await run(1000);
	const rssAfter1k = await collectedRss(pid);
	// CPU and time count the handshakes only, not the collections between runs.
	let cpu = 0;
	let ms = 0;
	const timed = async (count: number) => {
		const cpu0 = cpuNanoseconds(pid);
		const t0 = performance.now();
		await run(count);
		cpu += cpuNanoseconds(pid) - cpu0;
		ms += performance.now() - t0;
	};
	await timed(Math.max(1000, HANDSHAKES / 2));
	const rssAfterHalf = await collectedRss(pid);
	await timed(HANDSHAKES);
	const rssAfterAll = await collectedRss(pid);
	return {
		perSecond: (done - 1000) / (ms / 1000),
		cpuPerHandshake: cpu / 1000 / (done - 1000),
		rssAfter1k,
		rssAfterHalf,
		rssAfterAll,
		count: done,
	};
}

/** Server RSS growth per idle TLS connection, in KiB, over IDLE of them. */
async function idle(server: BenchServer): Promise<number> {
	const pid = server.child.pid as number;
	await pause(300);
	const before = status(pid, "VmRSS");
	const sockets: tls.TLSSocket[] = [];
	try {
		for (let i = 0; i < IDLE; i += 50) {
			sockets.push(...(await Promise.all(Array.from({ length: 50 }, () => connectTls(server.port)))));
		}
		await pause(1000);
		return (status(pid, "VmRSS") - before) / 1024 / IDLE;
	} finally {
		for (const socket of sockets) socket.destroy();
	}
}

/**
 * Server RSS growth, in MiB, from a TLS client that never reads: it writes 1 MiB at a time while
 * the server takes it, until nothing drains for a second (the server stopped reading) or 20 s.
 */
async function neverReads(server: BenchServer): Promise<number> {
	const pid = server.child.pid as number;
	await pause(300);
	const before = status(pid, "VmRSS");
	const socket = await connectTls(server.port);
	socket.pause();
	socket.on("error", () => {});
	const chunk = new Uint8Array(1024 * 1024).fill(0x61);
	const deadline = performance.now() + 20_000;
	while (performance.now() < deadline) {
		if (socket.write(chunk)) continue;
		const drained = await new Promise<boolean>((resolve) => {
			const timer = setTimeout(() => resolve(false), 1000);
			socket.once("drain", () => {
				clearTimeout(timer);
				resolve(true);
			});
		});
		if (!drained) break;
	}
	const growth = (status(pid, "VmRSS") - before) / 1024 / 1024;
	socket.destroy();
	return growth;
}

type Sample = {
	ping: Ping;
	hs: Handshakes;
	idle: number;
	neverReads: number;
};
const samples = new Map<string, Sample[]>(SERVERS.map((s) => [`${s.name} on ${s.runtime}`, []]));
try {
	for (let round = 0; round < ROUNDS; round++) {
		// Each round starts with a different server: the machine drifts within a round.
		for (let i = 0; i < SERVERS.length; i++) {
			const spec = SERVERS[(i + round) % SERVERS.length] as (typeof SERVERS)[number];
			const server = await startServer(spec.command);
			try {
				const ping = await measure(server);
				const hs = await handshakes(server);
				const idleKiB = await idle(server);
				const stuck = await neverReads(server);
				samples.get(`${spec.name} on ${spec.runtime}`)?.push({ ping, hs, idle: idleKiB, neverReads: stuck });
			} finally {
				await server.stop();
			}
		}
		process.stderr.write(`round ${round + 1} of ${ROUNDS}\n`);
	}
} finally {
	rmSync(dir, { recursive: true, force: true });
}

const MiB = 1024 * 1024;
const rows: string[] = [];
for (const spec of SERVERS) {
	const list = samples.get(`${spec.name} on ${spec.runtime}`) ?? [];
	const baseline =
		samples.get(spec.runtime === "Node" ? "raw node:tls pipe on Node" : "raw Bun.listen tls on Bun") ?? [];
	const cpu = median(list.map((s) => s.ping.cpuPerMessage));
	const baseCpu = median(baseline.map((s) => s.ping.cpuPerMessage));
	const hsCpu = median(list.map((s) => s.hs.cpuPerHandshake));
	const baseHs = median(baseline.map((s) => s.hs.cpuPerHandshake));
	const rss1k = median(list.map((s) => s.hs.rssAfter1k)) / MiB;
	const rssHalf = median(list.map((s) => s.hs.rssAfterHalf)) / MiB;
	const rssAll = median(list.map((s) => s.hs.rssAfterAll)) / MiB;
	const growth = (rss: number) => `${rss >= rss1k ? "+" : ""}${((rss / rss1k - 1) * 100).toFixed(1)}%`;
	const rss = `${rss1k.toFixed(1)} → ${rssHalf.toFixed(1)} → ${rssAll.toFixed(1)} MiB (${growth(rssHalf)}, ${growth(rssAll)})`;
	rows.push(
		`| ${spec.name} on ${spec.runtime} | ${Math.round(median(list.map((s) => s.ping.msgPerSecond)))} | ${cpu.toFixed(1)} | ${(cpu / baseCpu).toFixed(2)}x | ${Math.round(median(list.map((s) => s.hs.perSecond)))} | ${hsCpu.toFixed(0)} | ${(hsCpu / baseHs).toFixed(2)}x | ${rss} | ${median(list.map((s) => s.idle)).toFixed(1)} | ${median(list.map((s) => s.neverReads)).toFixed(1)} |`,
	);
}
const counts = [...samples.values()].flat().map((s) => s.hs.count);
const output = [
	`- Node ${version("node")}, Bun ${version(BUN)}; ${ROUNDS} rounds, medians; pingpong ${DURATION} ms after a ${WARMUP} ms warm-up (echo-cli bench --tls, 100 connections, 1 KiB); ${Math.min(...counts)} to ${Math.max(...counts)} handshakes per run from 8 loops; ${IDLE} idle connections; RSS read after a forced full collection (SIGUSR2, Bun.gc(true) or gc()); TLS 1.3, EC P-256 certificate; nothing pinned, the clients on the same 2 cores`,
	"",
	"| server | 1 KiB pingpong msg/s | CPU µs/msg | vs raw | handshakes/s | CPU µs/handshake | vs raw | RSS after 1,000 → half → all handshakes | idle KiB/connection | a client that never reads: MiB |",
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
	...rows,
].join("\n");
process.stdout.write(`${output}\n`);
if (values.write) writeSection(values.write, "tls", output);
