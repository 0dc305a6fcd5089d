import { afterEach, describe, expect, test } from "bun:test";
import { encodeProxyHeader } from "@echo-cli/core";
import { assertBytes, pattern } from "@echo-cli/core/testing";
import { connect, eventually, expectOneLineError, killAll, type Runtime, readToEnd, run, start } from "./harness.ts";

afterEach(killAll);

const combos: [Runtime, "node" | "bun"][] = [
	["node", "node"],
	["bun", "node"],
	["bun", "bun"],
];
const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);

for (const [runtime, driver] of combos) {
	describe(`--proxy-protocol on ${runtime} with the ${driver} driver`, () => {
		test("v1 and v2 headers are taken off, the rest comes back exactly, and the header's client is logged", async () => {
			const cli = await start(runtime, ["--driver", driver, "--proxy-protocol", "--verbose"]);
			expect(cli.stdout()).toMatch(/PROXY protocol header required/);
			const server = { transport: "tcp", host: "127.0.0.1", port: cli.port, family: "IPv4" } as const;

			const v1 = await connect(cli.port);
			const v1Echo = readToEnd(v1);
			const client4 = { transport: "tcp", host: "203.0.113.9", port: 5555, family: "IPv4" } as const;
			const header1 = encodeProxyHeader(1, client4, server);
			v1.end(Buffer.concat([header1, everyByte]));
			assertBytes(await v1Echo, everyByte, "the echo behind a v1 header");

			const v2 = await connect(cli.port);
			const v2Echo = readToEnd(v2);
			const client6 = { transport: "tcp", host: "2001:db8::7", port: 6666, family: "IPv6" } as const;
			const server6 = { ...server, host: "::1", family: "IPv6" } as const;
			const stream = Buffer.concat([
				encodeProxyHeader(2, client6, server6, Uint8Array.of(4, 0, 0)),
				pattern(3, 100_000),
			]);
			// Split inside the header, as a slow proxy may.
			v2.write(stream.subarray(0, 9));
			await new Promise((r) => setTimeout(r, 50));
			v2.end(stream.subarray(9));
			assertBytes(await v2Echo, pattern(3, 100_000), "the echo behind a v2 header");

			await eventually(
				() => /\[2001:db8::7\]:6666 in /.test(cli.stderr()),
				5000,
				() => `no connection lines naming the header's clients: ${cli.stderr()}`,
			);
			// Bytes in count the header: they came in; bytes out are the echo alone.
			expect(cli.stderr()).toMatch(
				new RegExp(`tcp://203\\.0\\.113\\.9:5555 in ${header1.length + 256} B out 256 B .* closed`),
			);
			process.kill(cli.child.pid as number, "SIGTERM");
			expect(await cli.exit()).toBe(0);
			expect(cli.stdout()).toMatch(/served 2 connections/);
			expect(cli.stdout()).not.toMatch(/bad PROXY header/);
		});

		test("a connection without a valid header gets nothing back, and is logged and counted with the reason", async () => {
			const cli = await start(runtime, ["--driver", driver, "--proxy-protocol", "--verbose"]);
			const plain = await connect(cli.port);
			const echoed = readToEnd(plain).catch(() => new Uint8Array(0));
			plain.on("error", () => {});
			plain.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
			expect((await echoed).byteLength).toBe(0);
			await eventually(
				() => /protocol: bad PROXY header: no PROXY header/.test(cli.stderr()),
				5000,
				() => `no reason logged: ${cli.stderr()}`,
			);
			// The proxy's own address is all that is known of it.
			expect(cli.stderr()).toMatch(/tcp:\/\/127\.0\.0\.1:\d+ in \d+ B out 0 B .* protocol: bad PROXY header/);
			process.kill(cli.child.pid as number, "SIGTERM");
			expect(await cli.exit()).toBe(0);
			expect(cli.stdout()).toMatch(/served 1 connection, echoed 0 B .*, 1 bad PROXY header/);
		});
	});
}

describe("--proxy-header-timeout", () => {
	test("a connection that sends no header within the time is closed and counted, with the reason", async () => {
		const cli = await start("node", ["--proxy-protocol", "--proxy-header-timeout", "300ms", "--verbose"]);
		const silent = await connect(cli.port);
		const started = Date.now();
		// Closed with nothing echoed: an EOF, or the reset of a connection aborted for its error.
		const echoed = await readToEnd(silent, 5000).catch(() => new Uint8Array(0));
		expect(echoed.byteLength).toBe(0);
		// Closed by the 300 ms timeout, well before the 3 s default.
		expect(Date.now() - started).toBeLessThan(2500);
		await eventually(
			() => /no complete PROXY header within 300 ms/.test(cli.stderr()),
			5000,
			() => cli.stderr(),
		);
		cli.child.kill("SIGTERM");
		expect(await cli.exit()).toBe(0);
		expect(cli.stdout()).toMatch(/1 bad PROXY header/);
	}, 20_000);

	test("without --proxy-protocol it is a usage error", async () => {
		const r = run("node", ["--proxy-header-timeout", "1s"]);
		expect(await r.exit()).toBe(2);
		expectOneLineError(r, /--proxy-header-timeout needs --proxy-protocol/);
	});
});
