import { afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfSignedCertificate } from "@echo-cli/core/tls";
import { CLI, killAll, type Runtime, run, start, startUdp } from "./harness.ts";

afterEach(killAll);

const servers: net.Server[] = [];
afterEach(() => {
	for (const s of servers.splice(0)) s.close();
});

/** A server that echoes, but flips the 100th byte of every connection's stream. */
async function corruptingServer(): Promise<number> {
	const server = net.createServer((socket) => {
		let seen = 0;
		socket.on("error", () => {});
		socket.on("data", (chunk: Buffer) => {
			const copy = Buffer.from(chunk);
			if (seen <= 99 && seen + copy.length > 99) copy[99 - seen] = (copy[99 - seen] as number) ^ 0xff;
			seen += copy.length;
			socket.write(copy);
		});
		socket.on("end", () => socket.end());
	});
	servers.push(server);
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	return (server.address() as net.AddressInfo).port;
}

/** A server on a free loopback port that treats each connection with `behave`. */
async function serverThat(behave: (socket: net.Socket) => void): Promise<number> {
	const server = net.createServer({ allowHalfOpen: true }, (socket) => {
		socket.on("error", () => {});
		behave(socket);
	});
	servers.push(server);
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	return (server.address() as net.AddressInfo).port;
}

/** Echoes until `limit` bytes have come back, then calls `then` once. */
function echoUntil(socket: net.Socket, limit: number, then: () => void): void {
	let echoed = 0;
	socket.on("data", (chunk: Buffer) => {
		if (echoed >= limit) return;
		socket.write(chunk);
		echoed += chunk.length;
		if (echoed >= limit) then();
	});
}

describe("echo-cli bench", () => {
	for (const runtime of ["node", "bun"] as Runtime[]) {
		test(`with no address it starts its own server and reports a table (${runtime})`, async () => {
			const r = run(runtime, ["bench", "--duration", "1s", "--warmup", "200ms", "-c", "4", "-s", "1KiB"]);
			expect(await r.exit(30_000)).toBe(0);
			const [title, header, values] = r.stdout().trim().split("\n");
			expect(title).toMatch(/^pingpong, 4 connections x 1024 B, .* measured, against 127\.0\.0\.1:\d+ \(driver/);
			expect(header?.trim().split(/\s+/)).toEqual([
				"msg/s",
				"MB/s",
				"p50",
				"p90",
				"p99",
				"p99.9",
				"max",
				"errors",
				"mismatches",
			]);
			const cells = values?.trim().split(/\s+/) ?? [];
			expect(Number(cells[0])).toBeGreaterThan(0);
			expect(cells.slice(-2)).toEqual(["0", "0"]);
		}, 40_000);
	}

	test("stream mode against a running server, as JSON", async () => {
		const cli = await start("bun", ["--driver", "bun"]);
		const r = run("node", [
			"bench",
			`127.0.0.1:${cli.port}`,
			"--mode",
			"stream",
			"-s",
			"64KiB",
			"-c",
			"3",
			"-d",
			"1s",
			"--warmup",
			"0s",
			"--json",
		]);
		expect(await r.exit(30_000)).toBe(0);
		const report = JSON.parse(r.stdout());
		expect(report).toMatchObject({ mode: "stream", connections: 3, size: 65536, errors: 0, mismatches: 0 });
		expect(report.messages).toBeGreaterThan(0);
		expect(report.latencyMs.p50).toBeGreaterThan(0);
	}, 40_000);

	test("a server that changes a byte is caught: mismatches counted, exit 1", async () => {
		const port = await corruptingServer();
		const r = run("node", ["bench", `127.0.0.1:${port}`, "-c", "2", "-d", "500ms", "--warmup", "0s", "--json"]);
		expect(await r.exit(30_000)).toBe(1);
		expect(JSON.parse(r.stdout()).mismatches).toBeGreaterThan(0);
		expect(r.stderr()).toMatch(/chunks came back wrong/);
	}, 40_000);

	test("nothing listening: every connection is refused, exit 1 with the cause", async () => {
		const probe = net.createServer();
		await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
		const port = (probe.address() as net.AddressInfo).port;
		probe.close();
		const r = run("node", ["bench", `127.0.0.1:${port}`, "-d", "300ms", "--warmup", "0s"]);
		expect(await r.exit(30_000)).toBe(1);
		expect(r.stderr()).toMatch(/10 of 10 connections could not connect: connection refused/);
	}, 40_000);

	// Servers that fail the way echo servers and proxies do: bench must fail and say how.
	const broken: [string, (socket: net.Socket) => void, string[], RegExp][] = [
		[
			"closes each connection after about 20 KB",
			(socket) => echoUntil(socket, 20_000, () => socket.end()),
			[],
			/4 of 4 connections closed by the server before the client was done, after at most \d+ bytes echoed/,
		],
		[
			"resets each connection after about 20 KB",
			(socket) => echoUntil(socket, 20_000, () => socket.resetAndDestroy()),
			[],
			/4 of 4 connections reset by the server/,
		],
		[
			"drops the last byte of the first reply",
			(socket) => {
				let first = true;
				socket.on("data", (chunk: Buffer) => {
					socket.write(first ? chunk.subarray(0, chunk.length - 1) : chunk);
					first = false;
				});
			},
			["-s", "64"],
			/4 of 4 connections stalled: bytes in flight and no reply for 5 s/,
		],
		["never replies", (socket) => socket.resume(), [], /4 of 4 connections stalled/],
		[
			"answers our FIN before echoing the rest",
			(socket) => {
				let held = 0;
				socket.on("data", (chunk: Buffer) => {
					held += chunk.length;
					// Keeps the last message of the stream back, then closes.
					if (held < 64 * 1024) socket.write(chunk);
				});
				socket.on("end", () => socket.end());
			},
			["--mode", "stream", "-s", "1KiB"],
			/4 of 4 connections got a short reply: up to \d+ bytes missing before the server's FIN/,
		],
	];
	for (const [name, behave, args, message] of broken) {
		test(`a server that ${name} fails the run with its cause`, async () => {
			const port = await serverThat(behave);
			const r = run("node", ["bench", `127.0.0.1:${port}`, "-c", "4", "-d", "1s", "--warmup", "0s", ...args, "--json"]);
			expect(await r.exit(30_000)).toBe(1);
			expect(r.stderr()).toMatch(message);
			expect(r.stderr()).not.toMatch(/\n\s+at /);
			const report = JSON.parse(r.stdout());
			expect(report.errors).toBe(4);
			expect(report.seconds).toBeGreaterThanOrEqual(0);
			expect(report.seconds).toBeLessThanOrEqual(1);
			expect(JSON.stringify(report)).not.toMatch(/NaN|-\d/);
		}, 40_000);
	}

	test("past the file descriptor limit it says so, and measures only once connected", async () => {
		const port = await serverThat((socket) => socket.pipe(socket));
		const r = run("node", ["bench", `127.0.0.1:${port}`, "-c", "200", "-d", "300ms", "--warmup", "0s"], {}, [
			"sh",
			"-c",
			'ulimit -n 64 && exec "$0" "$@"',
		]);
		expect(await r.exit(30_000)).toBe(1);
		expect(r.stderr()).toMatch(/of 200 connections could not connect: out of file descriptors/);
	}, 40_000);

	test("--driver bun under Node without bun on the PATH: one line, exit 1, no stack", async () => {
		const bin = mkdtempSync(join(tmpdir(), "echo-cli-path-"));
		symlinkSync(spawnSync("sh", ["-c", "command -v node"]).stdout.toString().trim(), join(bin, "node"));
		const r = run("node", ["bench", "--driver", "bun", "-d", "300ms"], { PATH: bin });
		expect(await r.exit(30_000)).toBe(1);
		expect(r.stderr()).toMatch(/needs the Bun runtime/);
		expect(r.stderr()).toMatch(/bench could not start an echo server/);
		expect(r.stderr()).not.toMatch(/\n\s+at /);
	}, 40_000);

	const usage: [string[], RegExp][] = [
		[["--mode", "burst"], /unknown --mode 'burst'; choose pingpong or stream/],
		[["--size", "0"], /invalid --size '0'/],
		[["--size", "lots"], /invalid --size 'lots'/],
		[["-c", "0"], /invalid --connections '0'/],
		[["nowhere"], /invalid address 'nowhere'; use HOST:PORT/],
		[["--bogus"], /unknown option '--bogus'.*bench --help/i],
		[["unix:"], /unix: needs a socket path/],
		[["-s", "-1"], /invalid --size '-1'/],
		[["--warmup", "-1"], /invalid --warmup '-1'; use a duration/],
		[["--rate", "0"], /invalid --rate '0'; give messages per second/],
		[["--rate", "fast"], /invalid --rate 'fast'/],
		[["-r", "-5"], /invalid --rate '-5'/],
	];
	for (const [args, message] of usage) {
		test(`bench ${args.join(" ")} exits 2 with one line`, async () => {
			const r = run("node", ["bench", ...args]);
			expect(await r.exit()).toBe(2);
			expect(r.stderr().trimEnd().split("\n")).toHaveLength(1);
			expect(r.stderr()).toMatch(message);
		});
	}

	/** An echo server that counts every byte it receives. */
	async function countingServer(): Promise<{ port: number; received: () => number }> {
		let received = 0;
		const port = await serverThat((socket) => {
			socket.on("data", (chunk: Buffer) => {
				received += chunk.length;
				socket.write(chunk);
			});
			socket.on("end", () => socket.end());
		});
		return { port, received: () => received };
	}

	for (const mode of ["pingpong", "stream"]) {
		test(`--rate paces ${mode}: the server never gets more than the schedule allows`, async () => {
			const server = await countingServer();
			const args = ["bench", `127.0.0.1:${server.port}`, "--mode", mode, "-s", "1KiB", "-c", "4"];
			const r = run("node", [...args, "--rate", "200", "-d", "1s", "--warmup", "0s", "--json"]);
			expect(await r.exit(30_000)).toBe(0);
			const report = JSON.parse(r.stdout());
			expect(report).toMatchObject({ rate: 200, errors: 0, mismatches: 0 });
			// One second at 200 msg/s, plus at most one message per connection on each side of the window.
			const allowed = 200 + 2 * 4;
			expect(server.received()).toBeLessThanOrEqual(allowed * 1024);
			expect(report.allMessages).toBeLessThanOrEqual(allowed);
			// Unpaced, the same run moves thousands of messages; paced, it still moves most of its 200.
			expect(report.allMessages).toBeGreaterThan(100);
		}, 40_000);
	}

	test("--rate that the server cannot keep up with: a note with the rate reached, exit 0", async () => {
		const port = await serverThat((socket) => {
			socket.on("data", (chunk: Buffer) => setTimeout(() => socket.write(chunk), 50));
			socket.on("end", () => setTimeout(() => socket.end(), 60));
		});
		const r = run("node", ["bench", `127.0.0.1:${port}`, "-c", "1", "--rate", "1000", "-d", "1s", "--warmup", "0s"]);
		expect(await r.exit(30_000)).toBe(0);
		expect(r.stdout()).toMatch(/at 1000 msg\/s asked/);
		expect(r.stderr()).toMatch(
			/note: reached \d+ msg\/s, \d+% of the 1000 asked; the server or this client could not keep up/,
		);
	}, 40_000);

	test("on a terminal it shows a live progress line, then the table", () => {
		const command = `node ${JSON.stringify(CLI)} bench --duration 1500ms --warmup 0s -c 2`;
		const result = spawnSync("script", ["-qec", command, "/dev/null"], { encoding: "utf8", timeout: 30_000 });
		expect(result.stdout).toMatch(/\r\d+\.\d s {2}\d+ msg\/s {2}\d+\.\d MB\/s/);
		expect(result.stdout).toMatch(/msg\/s\s+MB\/s\s+p50/);
	}, 40_000);

	test("bench --help explains the load client", async () => {
		const r = run("node", ["bench", "--help"]);
		expect(await r.exit()).toBe(0);
		for (const flag of ["--connections", "--size", "--duration", "--warmup", "--mode", "--rate", "--json"])
			expect(r.stdout()).toContain(flag);
	});
});

describe("bench --proxy-protocol", () => {
	for (const version of ["v1", "v2"]) {
		test(`${version}: a server that requires the header gets it on every connection and echoes the rest exactly`, async () => {
			const server = await start("node", ["--proxy-protocol", "--quiet"]);
			const args = ["bench", `127.0.0.1:${server.port}`, "-c", "4", "-d", "300ms", "--warmup", "0ms", "--json"];
			const without = run("node", args);
			expect(await without.exit(20_000)).toBe(1);
			expect(without.stderr()).toMatch(/4 of 4 connections (reset|closed) by the server/);
			const withHeader = run("node", [...args, "--proxy-protocol", version]);
			expect(await withHeader.exit(20_000)).toBe(0);
			const report = JSON.parse(withHeader.stdout()) as { messages: number; errors: number; mismatches: number };
			expect(report.mismatches).toBe(0);
			expect(report.errors).toBe(0);
		}, 40_000);
	}

	test("started with no address, the server it starts requires the header; a unix target or v3 is a usage error", async () => {
		const own = run("node", ["bench", "--proxy-protocol", "v2", "-c", "2", "-d", "300ms", "--warmup", "0ms"]);
		expect(await own.exit(20_000)).toBe(0);
		for (const bad of [
			["unix:/tmp/echo.sock", "--proxy-protocol", "v1"],
			["--proxy-protocol", "v3"],
		]) {
			const r = run("node", ["bench", ...bad]);
			expect(await r.exit()).toBe(2);
		}
	}, 40_000);
});

describe("bench --tls", () => {
	test("against a --tls server: --ca with its certificate verifies, --insecure skips, plain TCP and a wrong CA fail", async () => {
		const dir = mkdtempSync(join(tmpdir(), "echo-cli-bench-tls-"));
		try {
			const cert = join(dir, "server.pem");
			const server = await start("node", ["--tls", "--cert-out", cert, "--quiet"]);
			const args = ["bench", `127.0.0.1:${server.port}`, "-c", "3", "-d", "300ms", "--warmup", "0ms", "--json"];
			for (const flags of [["--ca", cert], ["--insecure"]]) {
				const r = run("node", [...args, ...flags]);
				expect(await r.exit(20_000)).toBe(0);
				const report = JSON.parse(r.stdout()) as { tls: boolean; messages: number; errors: number; mismatches: number };
				expect(report.tls).toBe(true);
				expect(report.messages).toBeGreaterThan(0);
				expect(report.errors + report.mismatches).toBe(0);
			}
			const plain = run("node", args);
			expect(await plain.exit(20_000)).toBe(1);
			const other = join(dir, "other.pem");
			writeFileSync(other, (await selfSignedCertificate({ hosts: ["127.0.0.1"] })).cert);
			const wrong = run("node", [...args, "--ca", other]);
			expect(await wrong.exit(20_000)).toBe(1);
			expect(wrong.stderr()).toMatch(/3 of 3 connections could not connect: TLS:/);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	}, 60_000);

	test("started with no address, the server it starts serves TLS and its made certificate is trusted", async () => {
		for (const runtime of ["node", "bun"] as const) {
			const r = run(runtime, ["bench", "--tls", "-c", "2", "-d", "300ms", "--warmup", "0ms"]);
			expect(await r.exit(20_000)).toBe(0);
			expect(r.stdout()).toMatch(/^pingpong over TLS, 2 connections/);
		}
		const both = run("node", ["bench", "--ca", "x.pem", "--insecure"]);
		expect(await both.exit()).toBe(2);
	}, 60_000);
});

describe("bench --udp", () => {
	for (const runtime of ["node", "bun"] as const) {
		test(`with no address it starts a --udp-only server and reports every datagram back, none lost (${runtime})`, async () => {
			const r = run(runtime, ["bench", "--udp", "-c", "4", "-s", "512", "-d", "1s", "--warmup", "200ms", "--json"]);
			expect(await r.exit(20_000)).toBe(0);
			const report = JSON.parse(r.stdout());
			expect(report).toMatchObject({ transport: "udp", connections: 4, size: 512, lost: 0, mismatches: 0 });
			expect(report.messages).toBeGreaterThan(0);
			expect(report.server).toMatch(/\(driver (node|bun), .*\) \(started by bench\)$/);
		});
	}

	test("against a server that drops 30% of replies: the loss is counted, no hang, exit 0", async () => {
		const cli = await startUdp("node", [
			"--udp-only",
			"--udp-rate",
			"off",
			"--udp-fault",
			"drop=30%",
			"--fault-seed",
			"1",
		]);
		const r = run("node", [
			"bench",
			"--udp",
			`127.0.0.1:${cli.udpPort}`,
			"-c",
			"2",
			"-d",
			"1s",
			"--warmup",
			"100ms",
			"--timeout",
			"50ms",
			"--json",
		]);
		expect(await r.exit(20_000)).toBe(0);
		const report = JSON.parse(r.stdout());
		expect(report.lost).toBeGreaterThan(0);
		expect(report.messages).toBeGreaterThan(report.lost);
		expect(report.lossPercent).toBeGreaterThan(10);
		expect(report.lossPercent).toBeLessThan(50);
	});

	test("against a server that cuts replies: every cut reply is a mismatch, exit 1", async () => {
		const cli = await startUdp("node", ["--udp-only", "--udp-rate", "off", "--udp-fault", "truncate=100"]);
		const r = run("node", [
			"bench",
			"--udp",
			`127.0.0.1:${cli.udpPort}`,
			"-c",
			"1",
			"-s",
			"200",
			"-d",
			"500ms",
			"--warmup",
			"0s",
		]);
		expect(await r.exit(20_000)).toBe(1);
		expect(r.stderr()).toMatch(/echo-cli: \d+ replies came back wrong \(changed or cut\)/);
	});

	test("nothing listening: no reply within the timeout, exit 1 with the cause", async () => {
		const cli = await startUdp("node", ["--udp-only"]);
		cli.child.kill("SIGKILL");
		await cli.exit();
		const r = run("node", [
			"bench",
			"--udp",
			`127.0.0.1:${cli.udpPort}`,
			"-d",
			"300ms",
			"--warmup",
			"0s",
			"--timeout",
			"100ms",
		]);
		expect(await r.exit(20_000)).toBe(1);
		expect(r.stderr()).toContain("no datagram came back within 100 ms; is a UDP echo server listening there?");
	});

	for (const [args, message] of [
		[["--udp", "--mode", "stream"], "--mode does not apply to --udp"],
		[["--udp", "--tls"], "--tls does not apply to --udp"],
		[["--udp", "unix:/tmp/x.sock"], "--udp needs HOST:PORT"],
		[["--udp", "-s", "4"], "--size over --udp is at least 8 bytes"],
		[["--udp", "-s", "70000"], "invalid --size '70000'"],
		[["--timeout", "1s"], "--timeout needs --udp"],
	] as const) {
		test(`bench ${args.join(" ")} exits 2 with one line`, async () => {
			const r = run("node", ["bench", ...args]);
			expect(await r.exit()).toBe(2);
			expect(r.stderr().trimEnd().split("\n")).toHaveLength(1);
			expect(r.stderr()).toContain(message);
		});
	}
});
