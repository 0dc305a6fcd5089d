import { afterEach, describe, expect, test } from "bun:test";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, symlinkSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execPath } from "node:process";
import { isAlive, tryConnect } from "@echo-cli/core/testing";
import {
	BUN,
	CLI,
	connect,
	eventually,
	expectOneLineError,
	killAll,
	type Runtime,
	received,
	run,
	start,
} from "./harness.ts";

afterEach(killAll);

const usageErrors: [string, string[], RegExp][] = [
	["a port that is not a number", ["--port", "abc"], /invalid port 'abc'.*0 to 65535/],
	["a negative port", ["--port", "-1"], /invalid port '-1'/],
	["a port above 65535", ["--port", "70000"], /invalid port '70000'/],
	["an unknown flag", ["--bogus"], /unknown option '--bogus'.*--help/i],
	["an unknown driver", ["--driver", "nope"], /unknown driver 'nope'.*auto, node, bun or deno/],
	["a stray argument", ["serve"], /unexpected argument 'serve'/],
	["a bad drain timeout", ["--drain-timeout", "soon"], /invalid --drain-timeout 'soon'.*500ms/],
	["a flag without its value", ["--port"], /--port.*missing/],
	["an unclosed IPv6 bracket", ["--host", "[::1"], /invalid --host '\[::1'; write an IPv6 address as ::1 or \[::1\]/],
	// Bun drops a `--` after the script from process.argv; Node keeps it, and it ends the options.
	["options after --", ["--", "--port", "1"], /unexpected argument '--port'/],
];

for (const runtime of ["node", "bun", "deno"] as Runtime[]) {
	describe(`echo-cli usage on ${runtime}`, () => {
		for (const [what, args, message] of usageErrors) {
			test(`${what} exits 2 with one line`, async () => {
				const r = run(runtime, args);
				expect(await r.exit()).toBe(2);
				expectOneLineError(r, message);
			});
		}

		test("an unknown driver in ECHO_CLI_DRIVER exits 2", async () => {
			const r = run(runtime, [], { ECHO_CLI_DRIVER: "nope" });
			expect(await r.exit()).toBe(2);
			expectOneLineError(r, /unknown driver 'nope' in ECHO_CLI_DRIVER/);
		});

		test("a port in use exits 1 and names the fix", async () => {
			const blocker = net.createServer().listen(0, "127.0.0.1");
			await new Promise((resolve) => blocker.once("listening", resolve));
			const port = (blocker.address() as net.AddressInfo).port;
			try {
				const r = run(runtime, ["--port", String(port)]);
				expect(await r.exit()).toBe(1);
				expectOneLineError(r, new RegExp(`127\\.0\\.0\\.1:${port} is already in use.*another port`));
			} finally {
				blocker.close();
			}
		});

		test("an unknown host exits 1", async () => {
			const r = run(runtime, ["--host", "no-such-host.invalid", "--port", "0"]);
			expect(await r.exit()).toBe(1);
			expectOneLineError(r, /cannot listen on no-such-host\.invalid:0/);
		});

		for (const driver of runtime === "node" ? ["node"] : ["node", runtime]) {
			test(`a host that is no address says so in the same words on the ${driver} driver`, async () => {
				const r = run(runtime, ["--host", "999.1.1.1", "--port", "0", "--driver", driver]);
				expect(await r.exit()).toBe(1);
				expectOneLineError(r, /cannot listen on 999\.1\.1\.1:0: no such local address$/);
			});
		}

		test("a privileged port without privileges exits 1 with permission denied", async () => {
			// As root every port is allowed, so drop to nobody for this one run.
			const asRoot = process.getuid?.() === 0;
			const prefix = asRoot ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
			const r = run(runtime, ["--port", "80"], {}, prefix);
			expect(await r.exit()).toBe(1);
			expectOneLineError(r, /permission denied.*above 1023/);
		});

		test("--help describes every flag and exits 0", async () => {
			const r = run(runtime, ["--help"]);
			expect(await r.exit()).toBe(0);
			for (const flag of [
				"--host",
				"--port",
				"--driver",
				"--drain-timeout",
				"--quiet",
				"--verbose",
				"--help",
				"--version",
				"ECHO_CLI_DRIVER",
			])
				expect(r.stdout()).toContain(flag);
		});

		test("--version prints the package version", async () => {
			const { version } = (await import("../package.json")).default;
			const r = run(runtime, ["--version"]);
			expect(await r.exit()).toBe(0);
			expect(r.stdout().trim()).toBe(version);
		});
	});
}

describe("driver choice", () => {
	test("ECHO_CLI_DRIVER picks the driver when no flag is given", async () => {
		const cli = await start("bun", [], { ECHO_CLI_DRIVER: "node" });
		expect(cli.stdout()).toContain("(driver node, Bun ");
	});

	test("--driver wins over ECHO_CLI_DRIVER", async () => {
		const cli = await start("bun", ["--driver", "bun"], { ECHO_CLI_DRIVER: "node" });
		expect(cli.stdout()).toContain("(driver bun, Bun ");
	});

	test("auto picks the node driver on Node and the bun driver on Bun", async () => {
		expect((await start("node")).stdout()).toContain("(driver node, Node ");
		expect((await start("bun")).stdout()).toContain("(driver bun, Bun ");
	});

	test("--driver bun on Node re-runs under Bun when bun is on the PATH", async () => {
		const bin = mkdtempSync(join(tmpdir(), "echo-cli-path-"));
		symlinkSync(execPath, join(bin, "bun"));
		const cli = await start("node", ["--driver", "bun"], { PATH: `${bin}:${process.env.PATH}` });
		expect(cli.stdout()).toContain("(driver bun, Bun ");
		process.kill(cli.child.pid as number, "SIGTERM");
		expect(await cli.exit()).toBe(0);
		expect(cli.stdout()).toContain("served 0 connections");
	});

	test("--driver bun on Node without bun, with --log-format json: the error is JSON too", async () => {
		const bin = mkdtempSync(join(tmpdir(), "echo-cli-path-"));
		symlinkSync(execFileSync("sh", ["-c", "command -v node"]).toString().trim(), join(bin, "node"));
		const r = run("node", ["--driver", "bun", "--log-format", "json"], { PATH: bin });
		expect(await r.exit()).toBe(1);
		const record = JSON.parse(r.stderr()) as { level: string; message: string };
		expect(record.level).toBe("error");
		expect(record.message).toMatch(/needs the Bun runtime/);
	});

	for (const runtime of ["node", "bun"] as Runtime[]) {
		test(`--driver deno on ${runtime} says how to run on Deno and exits 1`, async () => {
			const r = run(runtime, ["--driver", "deno"]);
			expect(await r.exit()).toBe(1);
			expectOneLineError(r, /the deno driver needs the Deno runtime.*deno run -A npm:@echo-cli\/cli --driver deno$/);
		});
	}

	describe("what Deno does not serve: one line, and no stack trace", () => {
		for (const [args, message] of [
			[["--udp"], /--udp and --udp-only are not served on Deno; run them on Node or Bun/],
			[["--udp-only"], /--udp and --udp-only are not served on Deno/],
			[["--workers", "2"], /--workers is not available on Deno; run it on Node or Bun/],
		] as const) {
			test(args.join(" "), async () => {
				const r = run("deno", [...args, "--port", "0"]);
				expect(await r.exit()).toBe(2);
				expectOneLineError(r, message);
			});
		}
	});

	test("--driver bun on Node without bun says how to run on Bun and exits 1", async () => {
		const bin = mkdtempSync(join(tmpdir(), "echo-cli-path-"));
		symlinkSync(execFileSync("sh", ["-c", "command -v node"]).toString().trim(), join(bin, "node"));
		const r = run("node", ["--driver", "bun"], { PATH: bin });
		expect(await r.exit()).toBe(1);
		// The advice must work with Node.js and npm only.
		expectOneLineError(r, /needs the Bun runtime.*npx -y bun \S*cli\.js --driver bun$/);
	});

	describe("--driver bun on Node, re-run under Bun", () => {
		const withBun = { PATH: `${dirname(BUN)}:${process.env.PATH}` };
		const launch = async () => {
			// Its own process group, as a terminal's foreground job is.
			const parent = spawn("node", [CLI, "--driver", "bun", "--port", "0"], {
				detached: true,
				env: { ...process.env, ...withBun, NO_COLOR: "1" },
				stdio: ["ignore", "pipe", "pipe"],
			});
			let out = "";
			parent.stdout.on("data", (d: Buffer) => {
				out += d;
			});
			const closed = new Promise<void>((resolve) => parent.stdout.once("close", () => resolve()));
			await eventually(
				() => /listening on tcp:\/\/127\.0\.0\.1:\d+ \(driver bun, Bun/.test(out),
				15_000,
				() => out,
			);
			const port = Number(/:(\d+) \(driver bun/.exec(out)?.[1]);
			return { parent, port, out: () => out, closed };
		};

		test("one Ctrl-C to the process group drains once and exits 0 with the summary", async () => {
			const { parent, port, out, closed } = await launch();
			try {
				const c = await connect(port);
				c.write(Uint8Array.of(1, 2, 3));
				await received(c, 3);
				c.end();
				process.kill(-(parent.pid as number), "SIGINT");
				const status = await new Promise<number | null>((resolve) => parent.once("exit", (code) => resolve(code)));
				await closed;
				expect(status).toBe(0);
				expect(out()).toMatch(/served 1 connection, echoed 3 B/);
				expect(out()).not.toMatch(/again, exiting without draining/);
			} finally {
				if (parent.exitCode === null) process.kill(-(parent.pid as number), "SIGKILL");
			}
		}, 30_000);

		test("kill -9 of the Node parent: the Bun child drains and exits instead of serving on", async () => {
			const { parent, port, out, closed } = await launch();
			const child = Number(
				execFileSync("pgrep", ["-P", String(parent.pid)])
					.toString()
					.trim()
					.split("\n")[0],
			);
			try {
				process.kill(parent.pid as number, "SIGKILL");
				await eventually(
					() => !isAlive(child),
					10_000,
					() => "the Bun child outlived its parent",
				);
				await closed;
				expect(out()).toMatch(/served 0 connections/);
				expect(await tryConnect(port)).toBe("ECONNREFUSED");
			} finally {
				if (isAlive(child)) process.kill(child, "SIGKILL");
			}
		}, 30_000);
	});
});
