import { afterEach, describe, expect, test } from "bun:test";
import net from "node:net";
import { encodeProxyHeader } from "@echo-cli/core";
import { assertBytes, pattern } from "@echo-cli/core/testing";
import { connect, eventually, killAll, metric, type Runtime, readToEnd, start } from "./harness.ts";

afterEach(killAll);

/** A connection from `localAddress`, a loopback address other than 127.0.0.1, so the client's own address shows. */
function connectFrom(port: number, localAddress: string): Promise<net.Socket> {
	return new Promise((resolve, reject) => {
		const socket = net.connect({ port, host: "127.0.0.1", localAddress, allowHalfOpen: true });
		socket.once("connect", () => resolve(socket));
		socket.once("error", reject);
	});
}

/** Connects and resets without sending a byte, as a load balancer's health check does. */
async function probe(port: number, before?: Uint8Array): Promise<void> {
	const socket = await connect(port);
	if (before) await new Promise<void>((r) => socket.write(before, () => r()));
	await new Promise((r) => setTimeout(r, 50));
	socket.resetAndDestroy();
}

async function scrapeUntil(url: string, done: (text: string) => boolean): Promise<string> {
	let text = "";
	for (let i = 0; i < 100; i++) {
		text = await (await fetch(url)).text();
		if (done(text)) return text;
		await new Promise((r) => setTimeout(r, 50));
	}
	return text;
}

/** A v2 header with the LOCAL command, as HAProxy's health checks send with send-proxy-v2. */
const LOCAL = Uint8Array.of(
	0x0d,
	0x0a,
	0x0d,
	0x0a,
	0x00,
	0x0d,
	0x0a,
	0x51,
	0x55,
	0x49,
	0x54,
	0x0a,
	0x20,
	0x00,
	0x00,
	0x00,
);
const server4 = { transport: "tcp", host: "127.0.0.1", port: 1, family: "IPv4" } as const;
const client4 = { transport: "tcp", host: "203.0.113.9", port: 5555, family: "IPv4" } as const;

for (const [runtime, driver] of [
	["node", "node"],
	["bun", "bun"],
] as [Runtime, string][]) {
	describe(`--metrics on ${runtime} with the ${driver} driver`, () => {
		test("counts connections, bytes, outcomes, clients, refusals and faults; a reset before any byte is a probe, not an error", async () => {
			const cli = await start(runtime, [
				"--driver",
				driver,
				"--metrics",
				"127.0.0.1:0",
				"--max-connections",
				"3",
				"--fault",
				"latency=1ms",
			]);
			const url = /metrics: (http:\S+)/.exec(cli.stdout())?.[1] as string;
			const before = await (await fetch(url)).text();
			expect(metric(before, 'echo_faults_applied_total{fault="latency=1ms"}')).toBe(0);

			const socket = await connectFrom(cli.port, "127.0.0.2");
			const echoed = readToEnd(socket);
			socket.end(pattern(0, 10_000));
			assertBytes(await echoed, pattern(0, 10_000), "the echo");
			await probe(cli.port);
			const held = await Promise.all([connect(cli.port), connect(cli.port), connect(cli.port)]);
			const refused = await connect(cli.port);
			expect((await readToEnd(refused)).byteLength).toBe(0);

			const text = await scrapeUntil(url, (t) => metric(t, 'echo_connections_closed_total{outcome="probe"}') === 1);
			expect(metric(text, "echo_connections_accepted_total")).toBe(5);
			expect(metric(text, "echo_connections_open")).toBe(3);
			expect(metric(text, "echo_received_bytes_total")).toBe(10_000);
			expect(metric(text, "echo_sent_bytes_total")).toBe(10_000);
			expect(metric(text, 'echo_connections_closed_total{outcome="closed"}')).toBe(1);
			expect(metric(text, 'echo_connections_closed_total{outcome="probe"}')).toBe(1);
			expect(metric(text, 'echo_connections_refused_total{reason="max-connections"}')).toBe(1);
			expect(metric(text, 'echo_client_connections_total{address="127.0.0.2"}')).toBe(1);
			expect(metric(text, 'echo_faults_applied_total{fault="latency=1ms"}')).toBe(5);
			for (const s of held) s.destroy();

			cli.child.kill("SIGTERM");
			expect(await cli.exit()).toBe(0);
			expect(cli.stdout()).toMatch(/served 5 connections, echoed .*, 0 errors, 1 refused, 1 probe;/);
		}, 30_000);

		test("behind --proxy-protocol: the header's client is counted, health checks are probes, a bad header is not", async () => {
			const cli = await start(runtime, [
				"--driver",
				driver,
				"--proxy-protocol",
				"--metrics",
				"127.0.0.1:0",
				"--verbose",
			]);
			const url = /metrics: (http:\S+)/.exec(cli.stdout())?.[1] as string;

			const socket = await connect(cli.port);
			const echoed = readToEnd(socket);
			socket.end(Buffer.concat([encodeProxyHeader(2, client4, server4), pattern(1, 5000)]));
			assertBytes(await echoed, pattern(1, 5000), "the echo behind the header");
			// HAProxy's check with send-proxy-v2: a LOCAL header, then a reset.
			await probe(cli.port, LOCAL);
			await probe(cli.port);
			const bad = await connect(cli.port);
			bad.end("GET / HTTP/1.1\r\n\r\n");
			// The server closes at once, with the request unread: an EOF or a reset.
			await readToEnd(bad).catch(() => undefined);

			const text = await scrapeUntil(url, (t) => metric(t, 'echo_connections_closed_total{outcome="probe"}') === 2);
			expect(metric(text, 'echo_client_connections_total{address="203.0.113.9"}')).toBe(1);
			expect(metric(text, 'echo_connections_closed_total{outcome="probe"}')).toBe(2);
			expect(metric(text, 'echo_connections_closed_total{outcome="protocol"}')).toBe(1);
			expect(metric(text, 'echo_client_connections_total{address="127.0.0.1"}')).toBe(1);
			await eventually(
				() => /203\.0\.113\.9:5555 in /.test(cli.stderr()),
				5000,
				() => cli.stderr(),
			);
			cli.child.kill("SIGTERM");
			expect(await cli.exit()).toBe(0);
			expect(cli.stdout()).toMatch(/served 4 connections, .*, 1 error, 2 probes, 1 bad PROXY header\n/);
		}, 30_000);
	});
}
