import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { assertBytes, freePort, pattern, readyFileRecord, tlsFixture } from "@echo-cli/core/testing";

const CONFIG = fileURLToPath(new URL("../haproxy.cfg", import.meta.url));
const CLI = join(dirname(createRequire(import.meta.url).resolve("@echo-cli/cli/package.json")), "dist/cli.js");
const BUN = process.execPath;
/** Clients connect from this loopback address, so that the backends' logs and metrics can only learn it from the PROXY header. */
const CLIENT = "127.0.0.2";

const haproxy = spawnSync("haproxy", ["-v"]).status === 0;
if (!haproxy) {
	// CI installs haproxy (.ci/run); elsewhere the tier is named as skipped in `bun run test`'s summary.
	if (process.env.CI) throw new Error("haproxy is needed for the HAProxy tier; .ci/run installs it");
	console.log("echo-cli-tests: skipped: the HAProxy tier (tests/haproxy): no haproxy on the PATH");
}

interface Proc {
	readonly child: ChildProcess;
	out: string;
	err: string;
	exit(ms?: number): Promise<number>;
}

const running = new Set<ChildProcess>();
const files = new Set<string>();
let made = 0;

function spawnProc(command: string, args: readonly string[], env: Record<string, string> = {}): Proc {
	const child = spawn(command, args, {
		env: { ...process.env, NO_COLOR: "1", ...env },
		stdio: ["ignore", "pipe", "pipe"],
	});
	running.add(child);
	const proc: Proc = {
		child,
		out: "",
		err: "",
		exit: (ms = 15_000) =>
			new Promise((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`${command} did not exit in ${ms} ms: ${proc.err}`)), ms);
				const done = () => {
					clearTimeout(timer);
					resolve(child.exitCode ?? 128);
				};
				if (child.exitCode !== null || child.signalCode !== null) done();
				else child.once("exit", done);
			}),
	};
	child.stdout?.on("data", (d: Buffer) => {
		proc.out += d;
	});
	child.stderr?.on("data", (d: Buffer) => {
		proc.err += d;
	});
	child.once("exit", () => running.delete(child));
	return proc;
}

afterEach(() => {
	for (const child of running) if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
	running.clear();
	for (const file of files) rmSync(file, { force: true });
	files.clear();
});

interface Backend extends Proc {
	readonly port: number;
	readonly metrics: string;
}

/** An echo-cli backend requiring the PROXY protocol, on a free port, with metrics and JSON connection lines. */
async function backend(runtime: "node" | "bun", extra: readonly string[] = []): Promise<Backend> {
	const file = join(tmpdir(), `echo-cli-haproxy-${process.pid}-${made++}.ready`);
	files.add(file);
	const args = ["--port", "0", "--proxy-protocol", "--metrics", "127.0.0.1:0", "--verbose", "--log-format", "json"];
	const proc = spawnProc(runtime === "bun" ? BUN : "node", [CLI, ...args, "--ready-file", file, ...extra], {
		ECHO_CLI_DRIVER: "",
	});
	const gone = () => (proc.child.exitCode !== null ? `echo-cli exited: ${proc.err}` : undefined);
	const { address, fields } = await readyFileRecord(file, { gone });
	if (address.transport !== "tcp") throw new Error("not TCP");
	return Object.assign(proc, { port: address.port, metrics: fields.metrics as string });
}

/** HAProxy on the committed haproxy.cfg, in front of `servers` (the second defaults to the first). */
async function startHaproxy(sendProxy: string, a: number, b = a): Promise<{ proc: Proc; port: number }> {
	const port = await freePort();
	const proc = spawnProc("haproxy", ["-db", "-f", CONFIG], {
		FRONTEND: `127.0.0.1:${port}`,
		BACKEND_A: `127.0.0.1:${a}`,
		BACKEND_B: `127.0.0.1:${b}`,
		SEND_PROXY: sendProxy,
	});
	const started = Date.now();
	for (;;) {
		if (proc.child.exitCode !== null) throw new Error(`haproxy exited: ${proc.err}`);
		const up = await new Promise<boolean>((resolve) => {
			const s = net.connect({ port, host: "127.0.0.1" }, () => {
				s.destroy();
				resolve(true);
			});
			s.once("error", () => resolve(false));
		});
		if (up) return { proc, port };
		if (Date.now() - started > 10_000) throw new Error(`haproxy did not listen: ${proc.err}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

/**
 * One connection through HAProxy from {@link CLIENT}: sends `bytes`, half-closes, resolves to the
 * echo. With `ca`, over TLS: the client's handshake goes through HAProxy, after the header it adds.
 */
function exchange(port: number, bytes: Uint8Array, ca?: string): Promise<Uint8Array> {
	return new Promise((resolve, reject) => {
		const raw = net.connect({ port, host: "127.0.0.1", localAddress: CLIENT, allowHalfOpen: true });
		const socket = ca === undefined ? raw : tls.connect({ socket: raw, ca, host: "127.0.0.1" });
		const chunks: Buffer[] = [];
		socket.on("data", (d: Buffer) => chunks.push(d));
		socket.once("error", reject);
		socket.once("end", () => {
			socket.end();
			resolve(new Uint8Array(Buffer.concat(chunks)));
		});
		socket.once(ca === undefined ? "connect" : "secureConnect", () => socket.end(bytes));
		setTimeout(() => reject(new Error("no echo through haproxy within 10 s")), 10_000).unref();
	});
}

async function scrape(url: string): Promise<string> {
	return (await fetch(url)).text();
}

function value(text: string, name: string): number {
	const line = text.split("\n").find((l) => l.startsWith(`${name} `));
	return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

/** Until `ready(text)` or 10 s, the metrics at `url`. */
async function scrapeUntil(url: string, ready: (text: string) => boolean): Promise<string> {
	const started = Date.now();
	let text = await scrape(url);
	while (!ready(text) && Date.now() - started < 10_000) {
		await new Promise((r) => setTimeout(r, 100));
		text = await scrape(url);
	}
	return text;
}

const clientConnections = `echo_client_connections_total{address="${CLIENT}"}`;
const probes = 'echo_connections_closed_total{outcome="probe"}';
/** Every byte value, then a pattern long enough to cross HAProxy's buffers. */
const payload = (i: number) => new Uint8Array([...Array.from({ length: 256 }, (_, b) => b), ...pattern(i, 40_000)]);

/** Connection lines of a backend's stderr. */
function connectionLines(proc: Proc): { peer: string; outcome: string; worker?: number; tls?: string }[] {
	return proc.err
		.split("\n")
		.filter((l) => l.includes('"event":"connection"'))
		.map((l) => JSON.parse(l));
}

describe.skipIf(!haproxy)("echo-cli behind HAProxy in TCP mode", () => {
	beforeAll(() => {
		const check = spawnSync("haproxy", ["-c", "-f", CONFIG], {
			env: {
				...process.env,
				FRONTEND: "127.0.0.1:1",
				BACKEND_A: "127.0.0.1:2",
				BACKEND_B: "127.0.0.1:3",
				SEND_PROXY: "send-proxy",
			},
			encoding: "utf8",
		});
		if (check.status !== 0) throw new Error(`haproxy.cfg does not check: ${check.stdout}${check.stderr}`);
	});

	for (const sendProxy of ["send-proxy", "send-proxy-v2"]) {
		test(`${sendProxy}: byte-exact echo, both backends serve, the client's own address in logs and metrics, checks are probes, SIGTERM drains one while the other takes new clients`, async () => {
			const a = await backend("node");
			const b = await backend("bun");
			const lb = await startHaproxy(sendProxy, a.port, b.port);
			// Both servers checked UP: each backend has answered health checks.
			await scrapeUntil(a.metrics, (t) => value(t, probes) >= 1);
			await scrapeUntil(b.metrics, (t) => value(t, probes) >= 1);

			for (let i = 0; i < 20; i++) assertBytes(await exchange(lb.port, payload(i)), payload(i), `client ${i}`);
			const [ma, mb] = await Promise.all(
				[a.metrics, b.metrics].map((url) => scrapeUntil(url, (t) => value(t, clientConnections) >= 1)),
			);
			expect(value(ma as string, clientConnections)).toBeGreaterThan(0);
			expect(value(mb as string, clientConnections)).toBeGreaterThan(0);
			expect(value(ma as string, clientConnections) + value(mb as string, clientConnections)).toBe(20);
			for (const m of [ma, mb] as string[]) {
				expect(value(m, 'echo_connections_closed_total{outcome="reset"}')).toBe(0);
				expect(value(m, 'echo_connections_closed_total{outcome="protocol"}')).toBe(0);
			}
			const clientLines = [...connectionLines(a), ...connectionLines(b)].filter((l) =>
				l.peer.startsWith(`tcp://${CLIENT}:`),
			);
			expect(clientLines).toHaveLength(20);
			expect(clientLines.every((l) => l.outcome === "closed")).toBe(true);

			// A client held open on a: what it sent before the SIGTERM comes back, then the end.
			// Health checks also open connections on a, but bring it a few header bytes, never 1000.
			const received = "echo_received_bytes_total";
			const before = value(await scrape(a.metrics), received);
			let held: net.Socket | undefined;
			let heldEcho: Promise<Uint8Array> | undefined;
			for (let i = 0; i < 4 && !held; i++) {
				const socket = net.connect({ port: lb.port, host: "127.0.0.1", localAddress: CLIENT, allowHalfOpen: true });
				const chunks: Buffer[] = [];
				socket.on("data", (d: Buffer) => chunks.push(d));
				const echo = new Promise<Uint8Array>((resolve) =>
					socket.once("end", () => resolve(new Uint8Array(Buffer.concat(chunks)))),
				);
				socket.write(pattern(7, 1000));
				await new Promise((r) => setTimeout(r, 200));
				if (value(await scrape(a.metrics), received) >= before + 1000) {
					held = socket;
					heldEcho = echo;
				} else socket.destroy();
			}
			if (!held || !heldEcho) throw new Error("no connection landed on backend a");
			a.child.kill("SIGTERM");
			assertBytes(await heldEcho, pattern(7, 1000), "the held connection's echo during the drain");
			held.end();
			expect(await a.exit()).toBe(0);
			expect(a.out).toMatch(/"event":"summary".*"errors":0/);

			const servedByB = value(await scrape(b.metrics), clientConnections);
			for (let i = 0; i < 10; i++)
				assertBytes(await exchange(lb.port, payload(100 + i)), payload(100 + i), `after the drain, client ${i}`);
			const after = await scrapeUntil(b.metrics, (t) => value(t, clientConnections) >= servedByB + 10);
			expect(value(after, clientConnections)).toBe(servedByB + 10);

			lb.proc.child.kill("SIGTERM");
			await lb.proc.exit();
			b.child.kill("SIGTERM");
			expect(await b.exit()).toBe(0);
			const summary = JSON.parse(b.out.split("\n").find((l) => l.includes('"event":"summary"')) as string);
			expect(summary.errors).toBe(0);
			expect(summary.probes).toBeGreaterThan(0);
		}, 60_000);
	}

	test("TLS behind send-proxy-v2: the PROXY header, then the handshake; byte-exact, the client's own address, checks are probes", async () => {
		const { ca, server } = await tlsFixture();
		const cert = join(tmpdir(), `echo-cli-haproxy-${process.pid}-tls.pem`);
		const key = join(tmpdir(), `echo-cli-haproxy-${process.pid}-tls.key`);
		writeFileSync(cert, server.cert);
		writeFileSync(key, server.key);
		files.add(cert);
		files.add(key);
		// Both on Node: on Bun, TLS over a stream cannot half-close (BUN_TLS_OVER_STREAM_HALF_CLOSE in the README),
		// and these clients half-close right after their bytes.
		const a = await backend("node", ["--cert", cert, "--key", key]);
		const b = await backend("node", ["--cert", cert, "--key", key, "--driver", "node"]);
		const lb = await startHaproxy("send-proxy-v2", a.port, b.port);
		// HAProxy's checks send a header and close without a handshake: probes, not TLS errors.
		expect(value(await scrapeUntil(a.metrics, (t) => value(t, probes) >= 1), probes)).toBeGreaterThan(0);
		expect(value(await scrapeUntil(b.metrics, (t) => value(t, probes) >= 1), probes)).toBeGreaterThan(0);
		for (let i = 0; i < 12; i++) {
			const echoed = await exchange(lb.port, payload(i), ca.cert);
			assertBytes(echoed, payload(i), `TLS client ${i}`);
		}
		await new Promise((r) => setTimeout(r, 200));
		const all = [...connectionLines(a), ...connectionLines(b)].filter((l) => l.peer.startsWith(`tcp://${CLIENT}:`));
		expect(all).toHaveLength(12);
		expect(all.every((l) => l.outcome === "closed")).toBe(true);
		// The session of the TLS that follows the header, as --verbose tells it.
		expect(all.every((l) => /^TLSv1\.3 \S+$/.test(l.tls ?? ""))).toBe(true);
		// Both backends served clients, not only HAProxy's checks.
		for (const proc of [a, b])
			expect(connectionLines(proc).filter((l) => l.peer.startsWith(`tcp://${CLIENT}:`)).length).toBeGreaterThan(0);
		for (const proc of [a, b]) {
			proc.child.kill("SIGTERM");
			expect(await proc.exit()).toBe(0);
			const summary = JSON.parse(proc.out.split("\n").find((l) => l.includes('"event":"summary"')) as string);
			expect(summary.errors).toBe(0);
		}
		lb.proc.child.kill("SIGTERM");
		await lb.proc.exit();
	}, 60_000);

	test("one echo-cli with --workers 2 behind HAProxy: both workers serve, one metrics endpoint sums them", async () => {
		const w = await backend("node", ["--workers", "2"]);
		const lb = await startHaproxy("send-proxy-v2", w.port);
		await scrapeUntil(w.metrics, (t) => value(t, probes) >= 1);
		for (let i = 0; i < 24; i++) assertBytes(await exchange(lb.port, payload(i)), payload(i), `client ${i}`);
		const text = await scrapeUntil(w.metrics, (t) => value(t, clientConnections) >= 24);
		expect(value(text, clientConnections)).toBe(24);
		expect(value(text, "echo_workers_listening")).toBe(2);
		const workers = new Set(
			connectionLines(w)
				.filter((l) => l.peer.startsWith(`tcp://${CLIENT}:`))
				.map((l) => l.worker),
		);
		expect([...workers].sort()).toEqual([0, 1]);
		lb.proc.child.kill("SIGTERM");
		await lb.proc.exit();
		w.child.kill("SIGTERM");
		expect(await w.exit()).toBe(0);
		const summaries = w.out.split("\n").filter((l) => l.includes('"event":"summary"'));
		expect(summaries).toHaveLength(1);
		expect(JSON.parse(summaries[0] as string).errors).toBe(0);
	}, 60_000);
});
