import { afterEach, describe, expect, test } from "bun:test";
import { execFileSync, spawn } from "node:child_process";
import { lookup } from "node:dns/promises";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assertBytes, isAlive, pattern, randomBytes, tryConnect, within } from "@echo-cli/core/testing";
import {
	BUN,
	connect,
	eventually,
	killAll,
	type Runtime,
	readToEnd,
	readyAddress,
	readyPath,
	received,
	run,
	start,
} from "./harness.ts";

afterEach(killAll);

const combos: [Runtime, "node" | "bun" | "deno"][] = [
	["node", "node"],
	["deno", "deno"],
	["deno", "node"],
	["bun", "node"],
	["bun", "bun"],
];

for (const [runtime, driver] of combos) {
	describe(`echo-cli on ${runtime} with the ${driver} driver`, () => {
		test("announces the real address, driver and runtime", async () => {
			const cli = await start(runtime, ["--driver", driver]);
			const line = cli.stdout().split("\n")[0] ?? "";
			expect(line).toMatch(
				new RegExp(
					`^listening on tcp://127\\.0\\.0\\.1:${cli.port} \\(driver ${driver}, ${{ node: "Node", bun: "Bun", deno: "Deno" }[runtime]} \\d+\\.\\d+\\.\\d+\\)$`,
				),
			);
			expect(cli.stdout()).toContain(`nc 127.0.0.1 ${cli.port}`);
			expect(cli.port).toBeGreaterThan(0);
		});

		test("echoes binary data byte-exact, then half-closes after the client's FIN", async () => {
			const cli = await start(runtime, ["--driver", driver]);
			const payload = new Uint8Array([...Array.from({ length: 256 }, (_, i) => i), ...randomBytes(3 * 1024 * 1024, 9)]);
			const socket = await connect(cli.port);
			const echoed = readToEnd(socket);
			socket.end(payload);
			assertBytes(await echoed, payload, "echo");
		}, 30_000);

		test("a client FIN with no data gets the server's FIN", async () => {
			const cli = await start(runtime, ["--driver", driver]);
			const socket = await connect(cli.port);
			const echoed = readToEnd(socket);
			socket.end();
			expect((await echoed).byteLength).toBe(0);
		});

		test("a reset client does not stop the server", async () => {
			const cli = await start(runtime, ["--driver", driver]);
			const rude = await connect(cli.port);
			rude.on("error", () => {});
			rude.write(pattern(0, 1 << 20));
			rude.resetAndDestroy();
			const socket = await connect(cli.port);
			const echoed = readToEnd(socket);
			socket.end(pattern(1, 1000));
			assertBytes(await echoed, pattern(1, 1000), "echo after a reset");
			expect(cli.child.exitCode).toBeNull();
		});

		for (const signal of ["SIGTERM", "SIGINT"] as const) {
			test(`${signal}: echoes what arrived, half-closes, aborts a stuck client at the drain timeout, exits 0`, async () => {
				const cli = await start(runtime, ["--driver", driver, "--drain-timeout", "500ms"]);
				const polite = await connect(cli.port);
				const politeEcho = readToEnd(polite);
				polite.write(pattern(0, 200_000));
				await received(polite, 200_000);
				// A client that sends without reading cannot be drained; the timeout must abort it.
				const stuck = await connect(cli.port);
				stuck.on("error", () => {});
				stuck.pause();
				stuck.write(pattern(0, 32 << 20));
				process.kill(cli.child.pid as number, signal);
				const got = await politeEcho;
				assertBytes(got, pattern(0, 200_000), "echo before the shutdown");
				polite.end();
				expect(await cli.exit()).toBe(0);
				// A peer still open at the drain timeout is not a fault of the server's.
				expect(cli.stdout()).toMatch(
					/served 2 connections, echoed .* \(\d+ bytes\), 0 errors, 1 peer still connected at the drain timeout, disconnected/,
				);
				stuck.destroy();
			}, 30_000);
		}

		test("--host localhost binds and reports the numeric address node:net would pick", async () => {
			const cli = await start(runtime, ["--driver", driver, "--host", "localhost"]);
			expect(cli.host).toBe((await lookup("localhost")).address);
		});

		test("a second signal exits at once, without waiting for the drain timeout", async () => {
			const cli = await start(runtime, ["--driver", driver, "--drain-timeout", "60s", "--verbose"]);
			const stuck = await connect(cli.port);
			stuck.on("error", () => {});
			stuck.pause();
			stuck.write(pattern(0, 32 << 20));
			process.kill(cli.child.pid as number, "SIGTERM");
			await eventually(
				() => cli.stderr().includes("SIGTERM: draining"),
				5000,
				() => "no draining line after SIGTERM",
			);
			process.kill(cli.child.pid as number, "SIGINT");
			expect(await cli.exit(5000)).toBe(130);
			stuck.destroy();
		}, 20_000);

		test("one Ctrl-C delivered twice at once (terminal and a wrapper) still drains", async () => {
			const cli = await start(runtime, ["--driver", driver]);
			const c = await connect(cli.port);
			const echoed = readToEnd(c);
			c.write(pattern(0, 1000));
			await received(c, 1000);
			process.kill(cli.child.pid as number, "SIGINT");
			process.kill(cli.child.pid as number, "SIGINT");
			expect(await cli.exit(10_000)).toBe(0);
			assertBytes(await echoed, pattern(0, 1000), "echo before the drain");
			expect(cli.stdout()).toMatch(/served 1 connection, echoed/);
		}, 20_000);

		test("a server whose launcher is killed by its PID drains and exits instead of serving on as an orphan", async () => {
			// `sh -c '"$@"; true'` stays as the parent, as npx and bun run do.
			const file = readyPath();
			const launcher = run(runtime, ["--port", "0", "--driver", driver, "--ready-file", file], {}, [
				"sh",
				"-c",
				'"$@"; true',
				"sh",
			]);
			const { port } = await readyAddress(file, launcher);
			const server = Number(
				execFileSync("pgrep", ["-P", String(launcher.child.pid)])
					.toString()
					.trim()
					.split("\n")[0],
			);
			try {
				process.kill(launcher.child.pid as number, "SIGKILL");
				await eventually(
					() => !isAlive(server),
					10_000,
					() => "the orphaned server is still running",
				);
				expect(launcher.stdout()).toMatch(/served 0 connections/);
				expect(await tryConnect(port)).toBe("ECONNREFUSED");
			} finally {
				if (isAlive(server)) process.kill(server, "SIGKILL");
			}
		}, 30_000);

		test("--quiet prints nothing on start or exit", async () => {
			// Quiet means no banner to wait for: a unix socket file shows when the server listens.
			const path = join(mkdtempSync(join(tmpdir(), "echo-cli-quiet-")), "echo.sock");
			const r = run(runtime, ["--unix", path, "--quiet", "--driver", driver]);
			await eventually(
				() => existsSync(path),
				10_000,
				() => `not listening: ${r.stderr()}`,
			);
			process.kill(r.child.pid as number, "SIGTERM");
			expect(await r.exit()).toBe(0);
			expect(r.stdout()).toBe("");
			expect(r.stderr()).toBe("");
		});

		test("--verbose logs a line per connection with peer, bytes, duration and outcome", async () => {
			const cli = await start(runtime, ["--driver", driver, "--verbose"]);
			const socket = await connect(cli.port);
			const port = socket.localPort;
			const echoed = readToEnd(socket);
			socket.end(pattern(0, 4321));
			await echoed;
			for (let i = 0; i < 100 && !cli.stderr().includes(`:${port} `); i++) await new Promise((r) => setTimeout(r, 20));
			expect(cli.stderr()).toMatch(new RegExp(`tcp://127\\.0\\.0\\.1:${port} in 4321 B out 4321 B \\d+ ms closed`));
		});
	});
}

describe("the quick start's serve command", () => {
	test("a SIGTERM to it drains the server, prints the summary and frees the port", async () => {
		const root = fileURLToPath(new URL("../../..", import.meta.url));
		const file = readyPath();
		const command = spawn(BUN, ["run", "serve", "--port", "0", "--ready-file", file], {
			cwd: root,
			stdio: ["ignore", "pipe", "pipe"],
		});
		let out = "";
		command.stdout.on("data", (d: Buffer) => {
			out += d.toString();
		});
		// The server holds the pipe too: its end means every process of the command is gone.
		const drained = new Promise<void>((resolve) => command.stdout.once("close", () => resolve()));
		try {
			const { port } = await readyAddress(file, { child: command, stderr: () => "" }, 60_000);
			const c = await connect(port);
			const echoed = readToEnd(c);
			c.end(pattern(0, 1000));
			assertBytes(await echoed, pattern(0, 1000), "echo through bun run serve");
			process.kill(command.pid as number, "SIGTERM");
			await within(drained, 15_000, "the server outlived the serve command");
			expect(out).toMatch(/served 1 connection, echoed 1000 B/);
			expect(await tryConnect(port)).toBe("ECONNREFUSED");
		} finally {
			command.kill("SIGKILL");
		}
	}, 90_000);
});
