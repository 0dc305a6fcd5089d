import { afterEach, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertBytes, pattern } from "@echo-cli/core/testing";
import {
	CLI,
	connect,
	eventually,
	expectOneLineError,
	killAll,
	type Runtime,
	readToEnd,
	received,
	run,
	start,
	startWith,
} from "./harness.ts";

afterEach(killAll);

const combos: [Runtime, "node" | "bun"][] = [
	["node", "node"],
	["bun", "node"],
	["bun", "bun"],
];
const dir = mkdtempSync(join(tmpdir(), "echo-cli-options-"));
const ipv6 =
	spawnSync("node", ["-e", "require('net').createServer().listen(0,'::1',function(){this.close()})"]).status === 0;

const closedWithin = (socket: net.Socket, ms: number) =>
	new Promise<boolean>((resolve) => {
		const timer = setTimeout(() => resolve(false), ms);
		socket.once("close", () => {
			clearTimeout(timer);
			resolve(true);
		});
	});

async function stop(cli: { child: { pid?: number }; exit(ms?: number): Promise<number> }): Promise<number> {
	process.kill(cli.child.pid as number, "SIGTERM");
	return cli.exit();
}

for (const [runtime, driver] of combos) {
	describe(`options on ${runtime} with the ${driver} driver`, () => {
		test("--max-connections: connections above the cap are closed at once, counted and logged", async () => {
			const cli = await start(runtime, ["--driver", driver, "--max-connections", "2", "--verbose"]);
			const kept = [await connect(cli.port), await connect(cli.port)];
			for (const [i, s] of kept.entries()) {
				s.write(pattern(i, 100));
				await received(s, 100);
			}
			const extra = await connect(cli.port);
			expect((await readToEnd(extra, 5000)).byteLength).toBe(0);
			// The refused peer is named as the TCP peer it was, not as an unnamed unix one.
			await eventually(
				() => /tcp:\/\/127\.0\.0\.1:\d+ refused: max connections \(2\) reached/.test(cli.stderr()),
				5000,
				cli.stderr,
			);
			expect(cli.stderr()).not.toContain("unix:");
			// The kept connections still echo, and a freed slot is usable again.
			const first = kept[0] as net.Socket;
			const echoed = readToEnd(first);
			first.end(pattern(5, 1000));
			// The first 100 bytes of echo were read before `readToEnd` started.
			expect((await echoed).byteLength).toBe(1000);
			await eventually(() => /tcp:\/\/\S+ in 1100 B out 1100 B/.test(cli.stderr()), 5000, cli.stderr);
			const later = await connect(cli.port);
			const laterEcho = readToEnd(later);
			later.end(pattern(6, 500));
			assertBytes(await laterEcho, pattern(6, 500), "a connection in a freed slot");
			(kept[1] as net.Socket).destroy();
			expect(await stop(cli)).toBe(0);
			expect(cli.stdout()).toMatch(/, 1 refused/);
		});

		test("--idle-timeout: a slow reader whose echo is held back by backpressure is not cut as idle", async () => {
			// Bun's node:net shows bytes leaving its own buffer in steps: a timeout of seconds, as used in practice.
			const cli = await start(runtime, ["--driver", driver, "--idle-timeout", "1s"]);
			const socket = await connect(cli.port);
			const payload = pattern(0, 8 << 20);
			socket.pause();
			socket.end(payload);
			const chunks: Buffer[] = [];
			const ended = new Promise<string>((resolve) => {
				socket.once("end", () => resolve("fin"));
				socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
			});
			// Three times the timeout at 16 KiB every 100 ms: the server's counters stand still while its queue drains.
			for (let i = 0; i < 30; i++) {
				await new Promise((resolve) => setTimeout(resolve, 100));
				const chunk = socket.read(Math.min(16 * 1024, socket.readableLength)) as Buffer | null;
				if (chunk) chunks.push(chunk);
			}
			socket.on("data", (d: Buffer) => chunks.push(d));
			socket.resume();
			expect(await ended).toBe("fin");
			assertBytes(new Uint8Array(Buffer.concat(chunks)), payload, "the echo to a slow reader");
			socket.destroy();
		}, 30_000);

		test("--idle-timeout: an idle connection is half-closed, then closed; traffic keeps one open", async () => {
			const cli = await start(runtime, ["--driver", driver, "--idle-timeout", "1s", "--verbose"]);
			const busy = await connect(cli.port);
			const idle = await connect(cli.port);
			idle.write(pattern(0, 10));
			const idleEcho = readToEnd(idle, 10_000);
			// Busy: a byte every 100 ms for 2.5 s, well past the timeout.
			busy.on("data", () => {});
			for (let i = 0; i < 25; i++) {
				busy.write(Uint8Array.of(i));
				await new Promise((resolve) => setTimeout(resolve, 100));
			}
			expect(busy.destroyed).toBe(false);
			expect(busy.readableEnded).toBe(false);
			assertBytes(await idleEcho, pattern(0, 10), "the echo before the FIN");
			// We never end our side, so after the half-close the server must close on its own: without a
			// reset (what the OS took still arrives), so the kernel answers only our next byte with one.
			await eventually(() => / idle\n/.test(cli.stderr()), 5000, cli.stderr);
			expect(idle.destroyed).toBe(false);
			const idleClosed = closedWithin(idle, 5000);
			idle.write(Uint8Array.of(1));
			expect(await idleClosed).toBe(true);
			busy.destroy();
		}, 30_000);

		test.skipIf(!ipv6)("--host ::1 listens on IPv6 loopback and prints a bracketed URI", async () => {
			const cli = await start(runtime, ["--driver", driver, "--host", "::1"]);
			expect(cli.stdout()).toContain(`listening on tcp://[::1]:${cli.port} (driver ${driver}`);
			expect(cli.stdout()).toContain(`nc ::1 ${cli.port}`);
			const socket = await connect(cli.port, "::1");
			const echoed = readToEnd(socket);
			socket.end(pattern(1, 70_000));
			assertBytes(await echoed, pattern(1, 70_000), "echo over ::1");
		});

		test.skipIf(!ipv6)("--host :: accepts IPv6 and, dual stack, IPv4 clients", async () => {
			const cli = await start(runtime, ["--driver", driver, "--host", "::"]);
			expect(cli.stdout()).toContain(`listening on tcp://[::]:${cli.port} (driver ${driver}`);
			for (const host of ["::1", "127.0.0.1"]) {
				const socket = await connect(cli.port, host);
				const echoed = readToEnd(socket);
				socket.end(pattern(2, 1000));
				assertBytes(await echoed, pattern(2, 1000), `echo to ${host}`);
			}
		});

		test("--unix: replaces a stale socket file, echoes over it, removes it on exit", async () => {
			const path = join(dir, `${runtime}-${driver}.sock`);
			// A server killed with SIGKILL leaves its socket file behind.
			const crashed = spawn("node", ["-e", `require("net").createServer().listen(${JSON.stringify(path)})`]);
			await eventually(
				() => existsSync(path),
				5000,
				() => "the stale socket was not created",
			);
			crashed.kill("SIGKILL");
			await new Promise((resolve) => crashed.once("exit", resolve));
			expect(existsSync(path)).toBe(true);
			const cli = await startWith(runtime, ["--driver", driver, "--unix", path]);
			expect(cli.stdout()).toContain(`listening on unix://${path} (driver ${driver}`);
			expect(cli.stdout()).toContain(`nc -U ${path}`);
			const socket = await connect(path);
			const echoed = readToEnd(socket);
			socket.end(pattern(3, 300_000));
			assertBytes(await echoed, pattern(3, 300_000), "echo over a unix socket");
			expect(await stop(cli)).toBe(0);
			expect(existsSync(path)).toBe(false);
		});

		test("--unix: a path a live server answers on is left alone (exit 1)", async () => {
			const path = join(dir, `live-${runtime}-${driver}.sock`);
			const live = net.createServer().listen(path);
			await new Promise((resolve) => live.once("listening", resolve));
			try {
				const r = run(runtime, ["--driver", driver, "--unix", path]);
				expect(await r.exit()).toBe(1);
				expect(r.stderr()).toMatch(/^echo-cli: a server already answers on .*; stop it or choose another path\n$/);
				expect(existsSync(path)).toBe(true);
			} finally {
				live.close();
			}
		});

		test("--unix: a path longer than the OS allows is refused up front, naming the limit (exit 1)", async () => {
			const path = join(dir, `${"long-".repeat(24)}${runtime}-${driver}.sock`);
			expect(Buffer.byteLength(path)).toBeGreaterThan(107);
			const r = run(runtime, ["--driver", driver, "--unix", path]);
			expect(await r.exit()).toBe(1);
			expectOneLineError(
				r,
				/the path is \d+ bytes and unix socket paths take at most 107 here; choose a shorter path$/,
			);
			// Nothing is left behind, under the full name or a truncated one.
			expect(readdirSync(dir).filter((name) => name.startsWith("long-"))).toEqual([]);
		});

		test("--hexdump: hex and ASCII of both directions, bounded per connection", async () => {
			const cli = await start(runtime, ["--driver", driver, "--hexdump", "--hexdump-limit", "16"]);
			const socket = await connect(cli.port);
			const echoed = readToEnd(socket);
			const payload = new Uint8Array([...new TextEncoder().encode("hello"), 0, 255, ...pattern(0, 100)]);
			socket.end(payload);
			assertBytes(await echoed, payload, "echo with --hexdump");
			await eventually(
				// Each says which connection it is about.
				() => (cli.stderr().match(/tcp:\/\/127\.0\.0\.1:\d+ [<>] dump limit of 16 bytes reached/g) ?? []).length === 2,
				5000,
				cli.stderr,
			);
			expect(cli.stderr()).toMatch(/ < 00000000 {2}68 65 6c 6c 6f 00 ff \S\S {2}\S\S (\S\S ){7} \|hello\.\..{9}\|/);
			expect(cli.stderr()).toMatch(/ > 00000000 {2}68 65 6c 6c 6f 00 ff /);
			expect(cli.stderr()).not.toMatch(/ [<>] 00000010/);
		});

		test("--hexdump with --log-format json: each dump is one object with the bytes in hex", async () => {
			const cli = await startWith(runtime, ["--driver", driver, "--port", "0", "--hexdump", "--log-format", "json"]);
			const port = Number(/:(\d+)"/.exec(cli.stdout())?.[1]);
			const socket = await connect(port);
			const echoed = readToEnd(socket);
			socket.end(Uint8Array.of(0x68, 0x69, 0x00, 0xff));
			await echoed;
			await eventually(() => (cli.stderr().match(/"event":"data"/g) ?? []).length === 2, 5000, cli.stderr);
			const dumps = cli
				.stderr()
				.trim()
				.split("\n")
				.map((l) => JSON.parse(l));
			expect(dumps).toEqual([
				expect.objectContaining({ event: "data", direction: "in", offset: 0, hex: "686900ff" }),
				expect.objectContaining({ event: "data", direction: "out", offset: 0, hex: "686900ff" }),
			]);
		});

		test("--log-format json: one JSON object per line for start, connections and summary", async () => {
			const cli = await startWith(runtime, ["--driver", driver, "--port", "0", "--log-format", "json", "--verbose"]);
			const banner = JSON.parse(cli.stdout().split("\n")[0] as string);
			expect(banner).toMatchObject({ level: "info", event: "listening", driver });
			const port = Number(/:(\d+)$/.exec(banner.address)?.[1]);
			const socket = await connect(port);
			const echoed = readToEnd(socket);
			socket.end(pattern(0, 2000));
			await echoed;
			await eventually(() => cli.stderr().includes('"event":"connection"'), 5000, cli.stderr);
			const line = JSON.parse(cli.stderr().trim().split("\n").at(-1) as string);
			expect(line).toMatchObject({ event: "connection", bytesIn: 2000, bytesOut: 2000, outcome: "closed" });
			expect(await stop(cli)).toBe(0);
			const lines = cli
				.stdout()
				.trim()
				.split("\n")
				.map((l) => JSON.parse(l));
			expect(lines.at(-1)).toMatchObject({ event: "summary", accepted: 1, bytesOut: 2000, errors: 0 });
		});

		test("out of file descriptors: stays up, serves open connections, warns once per interval", async () => {
			const cli = await start(runtime, ["--driver", driver], {}, ["sh", "-c", 'ulimit -n 96 && exec "$0" "$@"']);
			const early = await connect(cli.port);
			early.write(pattern(0, 100));
			await received(early, 100);
			const flood: net.Socket[] = [];
			for (let i = 0; i < 150; i++) {
				const s = net.connect({ port: cli.port, host: "127.0.0.1" });
				s.on("error", () => {});
				flood.push(s);
			}
			await eventually(
				() => cli.stderr().includes("refusing connections"),
				10_000,
				() => `no warning: ${cli.stderr()}`,
			);
			await new Promise((resolve) => setTimeout(resolve, 500));
			expect(cli.stderr().match(/refusing connections/g)).toHaveLength(1);
			expect(cli.stderr()).toMatch(/raise the limit with ulimit -n/);
			// A burst of refusals is not reported as one refusal; the summary has the count.
			expect(cli.stderr()).not.toMatch(/1 connection closed at once/);
			expect(cli.child.exitCode).toBeNull();
			const echoed = readToEnd(early);
			early.end(pattern(100, 5000));
			expect((await echoed).byteLength).toBe(5000);
			for (const s of flood) s.destroy();
			await new Promise((resolve) => setTimeout(resolve, 500));
			const after = await connect(cli.port);
			const afterEcho = readToEnd(after);
			after.end(pattern(7, 1000));
			assertBytes(await afterEcho, pattern(7, 1000), "echo after the flood");
		}, 30_000);
	});
}

describe("bad option values", () => {
	const cases: [string, string[], RegExp, number][] = [
		["a negative connection cap", ["--max-connections", "-3"], /invalid --max-connections '-3'/, 2],
		["a connection cap of zero", ["--max-connections", "0"], /invalid --max-connections '0'.*1 or more/, 2],
		["an idle timeout that is not a duration", ["--idle-timeout", "soon"], /invalid --idle-timeout 'soon'/, 2],
		["an unknown log format", ["--log-format", "xml"], /unknown --log-format 'xml'; choose text or json/, 2],
		[
			"--unix with --port",
			["--unix", "/tmp/x.sock", "--port", "5"],
			/--unix cannot be combined with --host or --port/,
			2,
		],
		["--hexdump-limit without --hexdump", ["--hexdump-limit", "10"], /--hexdump-limit needs --hexdump/, 2],
		[
			"a unix path in a missing directory",
			["--unix", "/nonexistent-dir/echo.sock"],
			/the directory \/nonexistent-dir does not exist; create it/,
			1,
		],
	];
	for (const runtime of ["node", "bun"] as Runtime[]) {
		for (const [what, args, message, status] of cases) {
			test(`${what} on ${runtime}: exit ${status}, one line`, async () => {
				const r = run(runtime, args);
				expect(await r.exit()).toBe(status);
				expectOneLineError(r, message);
			});
		}
	}

	test("a regular file at the --unix path is not replaced", async () => {
		const path = join(dir, "not-a-socket");
		writeFileSync(path, "keep me");
		const r = run("node", ["--unix", path]);
		expect(await r.exit()).toBe(1);
		expect(r.stderr()).toMatch(/exists and is not a socket/);
		expect(existsSync(path)).toBe(true);
	});
});

describe("colors", () => {
	/** Runs the CLI under a pseudo-terminal, so that it may color its output. */
	function onTerminal(env: Record<string, string>) {
		const command = `node ${JSON.stringify(CLI)} --port 1 --host no-such-host.invalid`;
		return spawnSync("script", ["-qec", command, "/dev/null"], {
			encoding: "utf8",
			env: { ...process.env, ...env, NO_COLOR: env.NO_COLOR ?? "" },
			timeout: 20_000,
		});
	}

	test("errors are colored on a terminal", () => {
		const result = onTerminal({});
		expect(result.stdout).toContain("\x1b[31m");
	});

	test("NO_COLOR turns colors off", () => {
		const result = onTerminal({ NO_COLOR: "1" });
		expect(result.stdout).toContain("cannot listen on no-such-host.invalid");
		expect(result.stdout).not.toContain("\x1b[");
	});
});
