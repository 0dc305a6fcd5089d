import { afterEach, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { pattern } from "@echo-cli/core/testing";
import { BUN, connect, eventually, killAll, type Runtime, start } from "./harness.ts";

afterEach(killAll);

const SLOW_READER = fileURLToPath(new URL("clients/slow_reader.py", import.meta.url));
const python = spawnSync("python3", ["--version"]).status === 0;
if (!python) {
	// CI installs python3 (.ci/run); elsewhere the tier is named as skipped in `bun run test`'s summary.
	if (process.env.CI) throw new Error("python3 is needed for the slow-reader client; .ci/run installs it");
	console.log(
		"echo-cli-tests: skipped: the slow-reader tests (apps/cli/test/timeouts.test.ts): no python3 on the PATH",
	);
}

/** Runtime, driver, and whether the CLI re-runs itself under Bun (`--driver bun` on Node). */
const combos: [Runtime, "node" | "bun" | "deno"][] = [
	["node", "node"],
	["deno", "deno"],
	["deno", "node"],
	["bun", "node"],
	["bun", "bun"],
	["node", "bun"],
];
const withBun = { PATH: `${dirname(BUN)}:${process.env.PATH}` };

interface SlowRead {
	read: number;
	end: string;
	exact: boolean;
	fin: boolean;
	sendError: string | null;
}

/** Runs the slow reader against `port`; resolves to what it saw. */
function slowRead(port: number, bytes: number, intervalSeconds: number): Promise<SlowRead> {
	const args = [SLOW_READER, "127.0.0.1", String(port), String(bytes), "16384", "65536", String(intervalSeconds), "5"];
	const child = spawn("python3", args, { stdio: ["ignore", "pipe", "pipe"] });
	let out = "";
	let err = "";
	child.stdout.on("data", (d: Buffer) => {
		out += d;
	});
	child.stderr.on("data", (d: Buffer) => {
		err += d;
	});
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill("SIGKILL");
			reject(new Error(`the slow reader did not finish in 60 s: ${err}`));
		}, 60_000);
		child.once("exit", (code) => {
			clearTimeout(timer);
			if (code === 0) resolve(JSON.parse(out) as SlowRead);
			else reject(new Error(`the slow reader exited ${code}: ${err}`));
		});
	});
}

for (const [runtime, driver] of combos) {
	const label = runtime === "node" && driver === "bun" ? "Node re-running under Bun" : runtime;
	describe(`timeouts on ${label} with the ${driver} driver`, () => {
		test.skipIf(!python)(
			"--idle-timeout 1s: a slow, steady reader of 8 MiB gets every byte, then the FIN, never a reset",
			async () => {
				const cli = await start(runtime, ["--driver", driver, "--idle-timeout", "1s", "--verbose"], withBun);
				// 16 KiB receive buffer, 64 KiB recv() every 20 ms: the kernel's send buffer frees room only every second or so.
				const result = await slowRead(cli.port, 8 << 20, 0.02);
				expect(result).toEqual({ read: 8 << 20, end: "complete", exact: true, fin: true, sendError: null });
				// Idle once nothing was owed and nothing moved: the half-close after the last byte.
				await eventually(() => / in 8388608 B out 8388608 B .* idle\n/.test(cli.stderr()), 5000, cli.stderr);
			},
			90_000,
		);

		test("--idle-timeout alone never cuts a client that does not read while its echo is queued", async () => {
			const cli = await start(runtime, ["--driver", driver, "--idle-timeout", "500ms", "--verbose"], withBun);
			const client = await neverReading(cli.port);
			// Six idle timeouts with nothing moving: owed, so not idle.
			await new Promise((resolve) => setTimeout(resolve, 3000));
			expect(client.closed()).toBe(false);
			expect(cli.stderr()).not.toMatch(/ idle\n/);
			client.socket.destroy();
		}, 30_000);

		test("--send-timeout 1s: a client that never reads is cut and logged as stalled, never as idle", async () => {
			const cli = await start(
				runtime,
				["--driver", driver, "--send-timeout", "1s", "--idle-timeout", "1s", "--verbose"],
				withBun,
			);
			const client = await neverReading(cli.port);
			await eventually(client.closed, 10_000, () => `the stalled client is still connected: ${cli.stderr()}`);
			await eventually(() => / stalled\n/.test(cli.stderr()), 5000, cli.stderr);
			expect(cli.stderr()).not.toMatch(/ idle\n/);
			process.kill(cli.child.pid as number, "SIGTERM");
			expect(await cli.exit()).toBe(0);
			expect(cli.stdout()).toMatch(/served 1 connection, .*, 0 errors, 1 stalled\n/);
		}, 30_000);
	});
}

/** A client that sends 32 MiB as fast as the server takes it and never reads. */
async function neverReading(port: number) {
	const socket = await connect(port);
	socket.on("error", () => {});
	socket.pause();
	let closed = false;
	socket.once("close", () => {
		closed = true;
	});
	socket.write(pattern(2, 32 << 20));
	return { socket, closed: () => closed };
}
