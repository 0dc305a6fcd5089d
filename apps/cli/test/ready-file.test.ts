import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseListening } from "@echo-cli/core";
import { assertBytes, pattern } from "@echo-cli/core/testing";
import { BUN, connect, eventually, expectOneLineError, killAll, type Runtime, readToEnd, run } from "./harness.ts";

afterEach(killAll);

const dir = mkdtempSync(join(tmpdir(), "echo-cli-ready-"));
const combos: [Runtime, "node" | "bun" | "deno"][] = [
	["node", "node"],
	["deno", "deno"],
	["deno", "node"],
	["bun", "bun"],
	// Node re-running the command under Bun: the Bun child writes the file and removes it.
	["node", "bun"],
];
const withBun = { PATH: `${dirname(BUN)}:${process.env.PATH}` };

for (const [runtime, driver] of combos) {
	describe(`--ready-file on ${runtime} with the ${driver} driver`, () => {
		test("names the address it listens on, even with --quiet, and is gone after the exit", async () => {
			const file = join(dir, `${runtime}-${driver}.ready`);
			const cli = run(runtime, ["--driver", driver, "--port", "0", "--quiet", "--ready-file", file], withBun);
			await eventually(
				() => existsSync(file),
				10_000,
				() => `no ready file; stderr: ${cli.stderr()}`,
			);
			const text = readFileSync(file, "utf8");
			expect(text.endsWith("\n")).toBe(true);
			const address = parseListening(text.trim());
			if (address?.transport !== "tcp") throw new Error(`not a TCP listening line: ${text}`);
			expect(address.host).toBe("127.0.0.1");
			expect(address.port).toBeGreaterThan(0);
			const socket = await connect(address.port);
			const echoed = readToEnd(socket);
			socket.end(pattern(7, 10_000));
			assertBytes(await echoed, pattern(7, 10_000), "echo at the address the ready file names");
			expect(cli.stdout()).toBe("");
			process.kill(cli.child.pid as number, "SIGTERM");
			expect(await cli.exit()).toBe(0);
			expect(existsSync(file)).toBe(false);
		});

		test("a ready file that cannot be written stops the server with exit 1 and one line", async () => {
			// A directory in the way is named as such.
			const inTheWay = join(dir, `${runtime}-${driver}-dir`);
			mkdirSync(inTheWay);
			const blocked = run(runtime, ["--driver", driver, "--port", "0", "--ready-file", inTheWay], withBun);
			expect(await blocked.exit()).toBe(1);
			expectOneLineError(blocked, /^echo-cli: cannot write --ready-file \S+: it is a directory$/);
			const cli = run(runtime, ["--driver", driver, "--port", "0", "--ready-file", join(dir, "missing", "x")], withBun);
			expect(await cli.exit()).toBe(1);
			expectOneLineError(cli, /^echo-cli: cannot write --ready-file \S+: its directory does not exist$/);
		});
	});
}

test("an empty --ready-file is a usage error", async () => {
	const cli = run("node", ["--ready-file", ""]);
	expect(await cli.exit()).toBe(2);
	expectOneLineError(cli, /--ready-file is empty/);
});
