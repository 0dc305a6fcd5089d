import { afterEach, describe, expect, test } from "bun:test";
import { cpSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { assertBytes, pattern } from "@echo-cli/core/testing";
import {
	CLI,
	connect,
	eventually,
	expectOneLineError,
	killAll,
	metric,
	type Runtime,
	readToEnd,
	readyAddress,
	readyPath,
	run,
	start,
} from "./harness.ts";

afterEach(killAll);

async function scrape(url: string): Promise<string> {
	const response = await fetch(url);
	expect(response.status).toBe(200);
	expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4");
	return response.text();
}

function metricsUrl(stdout: string): string {
	const url = /metrics: (http:\S+)/.exec(stdout)?.[1];
	if (!url) throw new Error(`no metrics URL in the banner: ${stdout}`);
	return url;
}

/** `count` connections, each sending its own pattern and half-closing; every echo must come back whole. */
async function echoMany(port: number, count: number, size = 3000): Promise<void> {
	await Promise.all(
		Array.from({ length: count }, async (_, i) => {
			const socket = await connect(port);
			const echoed = readToEnd(socket);
			socket.end(pattern(i, size));
			assertBytes(await echoed, pattern(i, size), `connection ${i}`);
		}),
	);
}

/** The workers named by the JSON connection lines on stderr. */
function servingWorkers(stderr: string): Set<number> {
	const workers = new Set<number>();
	for (const line of stderr.split("\n")) {
		if (!line.includes('"event":"connection"')) continue;
		workers.add((JSON.parse(line) as { worker: number }).worker);
	}
	return workers;
}

// Node 20 shares the port by node:cluster, Bun by SO_REUSEPORT; --driver bun re-runs under Bun.
const combos: [Runtime, "node" | "bun", string][] = [
	["node", "node", "node:cluster"],
	["bun", "node", "SO_REUSEPORT"],
	["bun", "bun", "SO_REUSEPORT"],
];

for (const [runtime, driver, sharing] of combos) {
	describe(`--workers on ${runtime} with the ${driver} driver`, () => {
		test(`two workers share one port by ${sharing}: one banner, both serve, metrics and summary are the sums`, async () => {
			const cli = await start(runtime, [
				"--driver",
				driver,
				"--workers",
				"2",
				"--metrics",
				"127.0.0.1:0",
				"--verbose",
				"--log-format",
				"json",
			]);
			const banner = cli
				.stdout()
				.split("\n")
				.filter((l) => l.includes('"event":"listening"'));
			expect(banner).toHaveLength(1);
			const listening = JSON.parse(banner[0] as string) as { workers: number; sharing: string; metrics: string };
			expect(listening.workers).toBe(2);
			expect(listening.sharing).toBe(sharing);

			await echoMany(cli.port, 64);
			await eventually(
				() => cli.stderr().split('"event":"connection"').length - 1 === 64,
				10_000,
				() => `not 64 connection lines: ${cli.stderr()}`,
			);
			// Either way of sharing sends 64 connections to both workers (2^-63 odds otherwise under SO_REUSEPORT).
			expect([...servingWorkers(cli.stderr())].sort()).toEqual([0, 1]);

			const text = await scrape(listening.metrics);
			expect(metric(text, "echo_connections_accepted_total")).toBe(64);
			expect(metric(text, "echo_received_bytes_total")).toBe(64 * 3000);
			expect(metric(text, "echo_sent_bytes_total")).toBe(64 * 3000);
			expect(metric(text, "echo_connections_open")).toBe(0);
			expect(metric(text, 'echo_connections_closed_total{outcome="closed"}')).toBe(64);
			expect(metric(text, "echo_connection_duration_seconds_count")).toBe(64);
			expect(metric(text, "echo_workers_listening")).toBe(2);

			cli.child.kill("SIGTERM");
			expect(await cli.exit()).toBe(0);
			const summaries = cli
				.stdout()
				.split("\n")
				.filter((l) => l.includes('"event":"summary"'));
			expect(summaries).toHaveLength(1);
			const summary = JSON.parse(summaries[0] as string) as { accepted: number; bytesOut: number; errors: number };
			expect(summary).toMatchObject({ accepted: 64, bytesOut: 64 * 3000, errors: 0 });
		}, 40_000);

		test("a killed worker is logged and restarted; echo goes on and the drain still ends at 0", async () => {
			const cli = await start(runtime, ["--driver", driver, "--workers", "2", "--metrics", "127.0.0.1:0"]);
			const url = metricsUrl(cli.stdout());
			const workers = () => childPids(cli.child.pid as number);
			await eventually(
				() => workers().length === 2,
				5000,
				() => "no two workers",
			);
			const [victim] = workers();
			process.kill(victim as number, "SIGKILL");
			await eventually(
				() => new RegExp(`worker \\d \\(pid ${victim}\\) was killed by SIGKILL; restarting it in`).test(cli.stderr()),
				5000,
				() => `no restart line: ${cli.stderr()}`,
			);
			await eventually(
				() => workers().length === 2 && !workers().includes(victim as number),
				10_000,
				() => `the worker was not replaced: ${workers().join(" ")}`,
			);
			let text = await scrape(url);
			for (let i = 0; i < 100 && metric(text, "echo_workers_listening") !== 2; i++) {
				await new Promise((r) => setTimeout(r, 100));
				text = await scrape(url);
			}
			expect(metric(text, "echo_workers_listening")).toBe(2);
			expect(metric(text, "echo_worker_restarts_total")).toBe(1);
			await echoMany(cli.port, 16);
			cli.child.kill("SIGINT");
			expect(await cli.exit()).toBe(0);
			expect(cli.stdout()).toMatch(/served 16 connections/);
		}, 40_000);

		test("--max-connections is the total across workers: never more open than N", async () => {
			const cli = await start(runtime, ["--driver", driver, "--workers", "2", "--max-connections", "2"]);
			const sockets = await Promise.all(Array.from({ length: 8 }, () => connect(cli.port)));
			// Held open: each one either echoes (admitted) or sees an immediate EOF (refused).
			const outcomes = await Promise.all(
				sockets.map(async (socket, i) => {
					const ended = readToEnd(socket, 3000).then(
						(bytes) => bytes.byteLength,
						() => -1,
					);
					socket.write(pattern(i, 10));
					const first = await Promise.race([ended, new Promise((r) => setTimeout(() => r("open"), 1000))]);
					return first;
				}),
			);
			const admitted = outcomes.filter((o) => o === "open").length;
			expect(admitted).toBeLessThanOrEqual(2);
			expect(admitted).toBeGreaterThanOrEqual(1);
			for (const socket of sockets) socket.destroy();
			cli.child.kill("SIGTERM");
			expect(await cli.exit()).toBe(0);
			const refused = Number(/(\d+) refused/.exec(cli.stdout())?.[1]);
			expect(refused).toBe(8 - admitted);
		}, 30_000);
	});
}

describe("the supervisor's lifecycle", () => {
	for (const runtime of ["node", "bun"] as const) {
		test(`on ${runtime}, one Ctrl-C to the whole group drains every worker: open echo finishes, one summary, status 0`, async () => {
			// setsid: a process group of its own, so the group's SIGINT reaches the supervisor and its workers, as a terminal's does.
			const file = readyPath();
			const cli = run(runtime, ["--port", "0", "--workers", "2", "--ready-file", file], {}, ["setsid"]);
			const { port } = await readyAddress(file, cli);
			const held = await Promise.all(Array.from({ length: 6 }, () => connect(port)));
			const echoes = held.map((socket) => readToEnd(socket));
			for (const [i, socket] of held.entries()) socket.write(pattern(i, 50_000));
			await new Promise((r) => setTimeout(r, 200));
			process.kill(-(cli.child.pid as number), "SIGINT");
			await new Promise((r) => setTimeout(r, 100));
			// Still served while draining: what was sent before the signal comes back, then the server's FIN.
			for (const [i, echoed] of echoes.entries()) assertBytes(await echoed, pattern(i, 50_000), `held ${i}`);
			expect(await cli.exit()).toBe(0);
			expect(cli.stdout().match(/^served /gm)).toHaveLength(1);
			expect(cli.stdout()).toMatch(/served 6 connections, echoed .* \(300000 bytes\), 0 errors/);
			expect(cli.stderr()).not.toMatch(/restarting|again/);
		}, 30_000);
	}

	test("workers that keep dying before they listen make the supervisor give up with status 1", async () => {
		// A copy of the built CLI that is deleted once running: every restart then fails before it listens.
		const copy = join(dirname(CLI), `../.test-dist-${process.pid}`);
		cpSync(dirname(CLI), copy, { recursive: true });
		try {
			const file = readyPath();
			const cli = run("node", ["--port", "0", "--workers", "2", "--ready-file", file], {}, [
				"sh",
				"-c",
				'shift 2; exec node "$0" "$@"',
				join(copy, "cli.js"),
			]);
			await readyAddress(file, cli);
			rmSync(copy, { recursive: true, force: true });
			const [victim] = childPids(cli.child.pid as number);
			process.kill(victim as number, "SIGKILL");
			expect(await cli.exit(20_000)).toBe(1);
			expect(cli.stderr()).toMatch(/workers keep dying before they listen \(5 in a row\); giving up/);
			expect(cli.stderr().match(/restarting it in/g)).toHaveLength(5);
			expect(childPids(cli.child.pid as number)).toHaveLength(0);
		} finally {
			rmSync(copy, { recursive: true, force: true });
		}
	}, 40_000);
});

describe("--workers and --metrics usage", () => {
	for (const [args, pattern] of [
		[["--workers", "0"], /invalid --workers '0'; give auto or a whole number from 1 to 256/],
		[["--workers", "two"], /invalid --workers 'two'/],
		[["--workers", "2", "--unix", "/tmp/x.sock"], /--workers serves TCP only/],
		[["--workers", "3", "--max-connections", "2"], /--max-connections 2 is below --workers 3/],
		[["--metrics", "9464"], /invalid --metrics '9464'; give HOST:PORT/],
		[["--metrics", "127.0.0.1:99999"], /invalid port '99999'/],
	] as const) {
		test(`${args.join(" ")} is refused with one line and status 2`, async () => {
			const r = run("node", [...args]);
			expect(await r.exit()).toBe(2);
			expectOneLineError(r, pattern);
		});
	}

	for (const runtime of ["node", "bun"] as const) {
		test(`on ${runtime}, an echo address in use fails --workers with the one line a single process prints`, async () => {
			const taken = await start("node", ["--quiet"]);
			const r = run(runtime, ["--port", String(taken.port), "--workers", "2"]);
			expect(await r.exit()).toBe(1);
			expectOneLineError(r, /^echo-cli: address 127\.0\.0\.1:\d+ is already in use; stop the other server/);
		}, 20_000);
	}

	test("a metrics address in use fails the start with status 1 and one line, on one process and on workers", async () => {
		const cli = await start("node", ["--metrics", "127.0.0.1:0", "--quiet"]);
		const taken = /http:\/\/127\.0\.0\.1:(\d+)/.exec(await readyMetrics(cli))?.[1];
		for (const extra of [[], ["--workers", "2"]]) {
			const r = run("node", ["--port", "0", "--metrics", `127.0.0.1:${taken}`, ...extra]);
			expect(await r.exit()).toBe(1);
			expectOneLineError(r, /--metrics: address 127\.0\.0\.1:\d+ is already in use/);
		}
	}, 30_000);
});

/** The metrics URL a --quiet CLI wrote into its ready file, read through a scrape of the banner-less process. */
async function readyMetrics(cli: { child: { pid?: number } }): Promise<string> {
	const { readFileSync } = await import("node:fs");
	const cmdline = readFileSync(`/proc/${cli.child.pid}/cmdline`, "utf8").split("\0");
	const file = cmdline[cmdline.indexOf("--ready-file") + 1] as string;
	return readFileSync(file, "utf8");
}

/** The PIDs whose parent is `pid`, from /proc. */
function childPids(pid: number): number[] {
	const { readFileSync, readdirSync } = require("node:fs") as typeof import("node:fs");
	const children: number[] = [];
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
			const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
			if (ppid === pid) children.push(Number(entry));
		} catch {
			// Gone meanwhile.
		}
	}
	return children;
}
