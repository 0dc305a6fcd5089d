import { afterEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import net from "node:net";
import { dirname } from "node:path";
import { BUN, CLI, eventually, killAll, type Runtime, start } from "./harness.ts";

afterEach(killAll);

/** Runs per test: enough to catch a race that hits one run in ten, about 95% of the time. */
const RUNS = 30;

/**
 * A client the server has accepted (its one byte came back), idle from then
 * on, that closes as soon as the server half-closes, so a drain ends at once.
 */
async function idleClient(port: number): Promise<net.Socket> {
	const socket = net.connect({ port, host: "127.0.0.1" });
	socket.on("error", () => {});
	await new Promise<void>((resolve, reject) => {
		socket.once("data", () => resolve());
		socket.once("error", reject);
		socket.write(Uint8Array.of(0));
	});
	return socket;
}

/** Busy-waits `ms` (a fraction of a millisecond): a timer cannot wait that little. */
function spin(ms: number): void {
	const until = performance.now() + ms;
	while (performance.now() < until) {}
}

for (const runtime of ["node", "bun", "deno"] as Runtime[]) {
	describe(`stop signals on ${runtime}`, () => {
		test(`SIGINT repeated 0 to 0.6 ms later (a group's Ctrl-C plus a wrapper's copy) drains, ${RUNS} runs in a row`, async () => {
			const failures: string[] = [];
			for (let i = 0; i < RUNS; i++) {
				const cli = await start(runtime, ["--drain-timeout", "500ms", "--verbose"]);
				const client = await idleClient(cli.port);
				const pid = cli.child.pid as number;
				// The second copy lands while the first is being handled: a window where no listener is installed
				// would let it end the process by its default action (status 130, no summary).
				process.kill(pid, "SIGINT");
				spin((i % 7) * 0.1);
				process.kill(pid, "SIGINT");
				const status = await cli.exit(10_000);
				client.destroy();
				if (
					status !== 0 ||
					!/SIGINT: draining 1 connection/.test(cli.stderr()) ||
					!/served 1 connection/.test(cli.stdout())
				) {
					failures.push(`run ${i}: status ${status}, stderr ${JSON.stringify(cli.stderr().slice(-200))}`);
				}
			}
			expect(failures).toEqual([]);
		}, 120_000);
	});
}

describe("--driver bun on Node, re-run under Bun", () => {
	test(`one Ctrl-C to the process group drains and exits 0 with the summary, ${RUNS} runs in a row`, async () => {
		const failures: string[] = [];
		for (let i = 0; i < RUNS; i++) {
			// Its own process group, as a terminal's foreground job is; the Node parent forwards what it gets.
			const parent = spawn("node", [CLI, "--driver", "bun", "--port", "0", "--drain-timeout", "500ms", "--verbose"], {
				detached: true,
				env: { ...process.env, PATH: `${dirname(BUN)}:${process.env.PATH}`, NO_COLOR: "1", ECHO_CLI_DRIVER: "" },
				stdio: ["ignore", "pipe", "pipe"],
			});
			let out = "";
			let err = "";
			parent.stdout.on("data", (d: Buffer) => {
				out += d;
			});
			parent.stderr.on("data", (d: Buffer) => {
				err += d;
			});
			const exited = new Promise<number | null>((resolve) => parent.once("exit", (code) => resolve(code)));
			const closed = new Promise<void>((resolve) => parent.stdout.once("close", () => resolve()));
			try {
				await eventually(
					() => /listening on tcp:\/\/127\.0\.0\.1:\d+ \(driver bun, Bun/.test(out),
					15_000,
					() => `no banner: ${err}`,
				);
				const client = await idleClient(Number(/:(\d+) \(driver bun/.exec(out)?.[1]));
				process.kill(-(parent.pid as number), "SIGINT");
				const status = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("no exit"), 10_000))]);
				await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
				client.destroy();
				if (status !== 0 || !/SIGINT: draining 1 connection/.test(err) || !/served 1 connection/.test(out)) {
					failures.push(`run ${i}: status ${status}, stderr ${JSON.stringify(err.slice(-200))}`);
				}
			} finally {
				if (parent.exitCode === null) process.kill(-(parent.pid as number), "SIGKILL");
			}
		}
		expect(failures).toEqual([]);
	}, 180_000);
});
