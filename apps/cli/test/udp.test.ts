import { afterEach, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";
import {
	assertBytes,
	type DatagramPeer,
	randomBytes,
	referenceDatagramClient,
	tryConnect,
} from "@echo-cli/core/testing";
import { assertSameDatagrams, drain } from "@echo-cli/core/testing/properties";
import { eventually, expectOneLineError, killAll, type Runtime, run, startUdp } from "./harness.ts";

afterEach(killAll);

const socat = spawnSync("socat", ["-V"]).status === 0;
if (!socat) {
	// CI installs socat (.ci/run); elsewhere the case is named as skipped in `bun run test`'s summary.
	if (process.env.CI) throw new Error("socat is needed for the UDP client test; .ci/run installs it");
	console.log("echo-cli-tests: skipped: the socat UDP client test (apps/cli/test/udp.test.ts): no socat on the PATH");
}
// Binding source ports 7 and 19 needs root; CI runs as root.
const root = process.getuid?.() === 0;
if (!root) {
	if (process.env.CI) throw new Error("the reserved source port tests need root, and CI runs as root");
	console.log("echo-cli-tests: skipped: the UDP reserved source port tests (apps/cli/test/udp.test.ts): not root");
}

const combos: [Runtime, "node" | "bun"][] = [
	["node", "node"],
	["bun", "node"],
	["bun", "bun"],
];

const peers: DatagramPeer[] = [];
afterEach(() => {
	for (const peer of peers.splice(0)) peer.close();
});
async function peer(port?: number): Promise<DatagramPeer> {
	const opened = await referenceDatagramClient.open("127.0.0.1", port);
	peers.push(opened);
	return opened;
}

/** Sends one datagram and returns the reply, or null after `ms`. */
async function roundTrip(from: DatagramPeer, port: number, bytes: Uint8Array, ms = 2_000): Promise<Uint8Array | null> {
	from.send(bytes, "127.0.0.1", port);
	return from.next(ms);
}

/** What `socat - UDP:127.0.0.1:PORT` prints for `input` on its stdin. */
function socatEcho(port: number, input: Uint8Array): Promise<Uint8Array> {
	return new Promise((resolve, reject) => {
		const child = spawn("socat", ["-t", "1", "-T", "3", "-", `UDP:127.0.0.1:${port}`], {
			stdio: ["pipe", "pipe", "pipe"],
		});
		const chunks: Buffer[] = [];
		child.stdout.on("data", (d: Buffer) => chunks.push(d));
		const timer = setTimeout(() => {
			child.kill("SIGKILL");
			reject(new Error("socat did not finish within 10 s"));
		}, 10_000);
		child.once("exit", () => {
			clearTimeout(timer);
			resolve(new Uint8Array(Buffer.concat(chunks)));
		});
		child.stdin.end(input);
	});
}

for (const [runtime, driver] of combos) {
	describe(`UDP echo on ${runtime} with the ${driver} driver`, () => {
		test("--udp: socat gets every byte value back in one datagram; TCP is served on the same port", async () => {
			const cli = await startUdp(runtime, ["--udp", "--driver", driver]);
			expect(cli.tcpPort).toBe(cli.udpPort);
			expect(cli.stdout()).toMatch(
				/UDP echo too, on udp:\/\/127\.0\.0\.1:\d+: no reply to source ports 0, 7, 9, 13, 17, 19, 37/,
			);
			expect(cli.stdout()).toContain(`try UDP: socat - UDP:127.0.0.1:${cli.udpPort}`);
			expect(await tryConnect(cli.tcpPort as number)).toBe("connected");
			if (socat) {
				const payload = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
				assertBytes(await socatEcho(cli.udpPort, payload), payload, "socat's echo");
			}
			const client = await peer();
			for (const size of [0, 1, 1472, 65_507]) {
				const sent = randomBytes(size, size);
				const reply = await roundTrip(client, cli.udpPort, sent);
				expect(reply).not.toBeNull();
				assertBytes(reply as Uint8Array, sent, `the echo of ${size} bytes`);
			}
			cli.child.kill("SIGINT");
			expect(await cli.exit()).toBe(0);
			const count = socat ? 5 : 4;
			expect(cli.stdout()).toContain(`udp: received ${count} datagrams, echoed ${count}, dropped 0\n`);
		});

		test("--udp-only: no TCP; UDP answers; the JSON events name UDP and count datagrams", async () => {
			const cli = await startUdp(runtime, ["--udp-only", "--driver", driver, "--log-format", "json"]);
			expect(cli.tcpPort).toBeUndefined();
			expect(await tryConnect(cli.udpPort)).toBe("ECONNREFUSED");
			const listening = JSON.parse(cli.stdout().split("\n")[0] as string);
			expect(listening).toMatchObject({ event: "listening", address: `udp://127.0.0.1:${cli.udpPort}`, udpRate: 1000 });
			const client = await peer();
			const sent = Uint8Array.of(0, 1, 2, 255);
			assertBytes((await roundTrip(client, cli.udpPort, sent)) as Uint8Array, sent, "the echo");
			cli.child.kill("SIGTERM");
			expect(await cli.exit()).toBe(0);
			const summary = JSON.parse(cli.stdout().trimEnd().split("\n").at(-1) as string);
			expect(summary.event).toBe("summary");
			expect(summary.udp).toMatchObject({ received: 1, echoed: 1 });
			expect(summary.accepted).toBeUndefined();
		});

		test.skipIf(!root)(
			"no reply to a datagram from source port 7 or 19; an ordinary port is answered; drops are logged and counted",
			async () => {
				const cli = await startUdp(runtime, ["--udp-only", "--driver", driver, "--verbose"]);
				for (const port of [7, 19]) {
					const reserved = await peer(port);
					expect(await roundTrip(reserved, cli.udpPort, Uint8Array.of(port), 500)).toBeNull();
					reserved.close();
				}
				const ordinary = await peer();
				expect(await roundTrip(ordinary, cli.udpPort, Uint8Array.of(1))).not.toBeNull();
				await eventually(
					() => /udp:\/\/127\.0\.0\.1:19 dropped: source port 19 is reserved/.test(cli.stderr()),
					3000,
					() => `no drop line; stderr: ${cli.stderr()}`,
				);
				expect(cli.stderr()).toMatch(/udp:\/\/127\.0\.0\.1:7 dropped: source port 7 is reserved/);
				cli.child.kill("SIGINT");
				expect(await cli.exit()).toBe(0);
				expect(cli.stdout()).toContain("udp: received 3 datagrams, echoed 1, dropped 2 (reserved-port 2)");
			},
		);

		test("past --udp-rate a source's datagrams are dropped and counted, and it gets no more replies than the rate allows", async () => {
			const cli = await startUdp(runtime, ["--udp-only", "--driver", driver, "--udp-rate", "20", "--verbose"]);
			const flooder = await peer();
			const started = performance.now();
			for (let i = 0; i < 200; i++) {
				flooder.send(Uint8Array.of(i), "127.0.0.1", cli.udpPort);
				if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 5));
			}
			const replies = await drain(flooder, 300);
			const seconds = (performance.now() - started) / 1000;
			// A burst of 20, then 20 a second for as long as the flood lasted.
			expect(replies.length).toBeGreaterThanOrEqual(20);
			expect(replies.length).toBeLessThanOrEqual(20 + Math.ceil(seconds * 20) + 1);
			cli.child.kill("SIGINT");
			expect(await cli.exit()).toBe(0);
			const match = /udp: received (\d+) datagrams, echoed (\d+), dropped (\d+) \(rate-limit (\d+)\)/.exec(
				cli.stdout(),
			);
			expect(match).not.toBeNull();
			const [, received, echoed, dropped, limited] = (match as RegExpExecArray).map(Number);
			expect(echoed).toBe(replies.length);
			expect(limited).toBe(dropped as number);
			expect((echoed as number) + (limited as number)).toBe(received as number);
			expect(cli.stderr()).toMatch(/dropped: more than 20 datagrams a second from 127\.0\.0\.1 \(--udp-rate\)/);
			// At most 20 drop lines a second, then one line for the rest.
			expect(cli.stderr()).toMatch(/\d+ more UDP drops in that second not shown/);
		});
	});
}

describe("datagram faults through the CLI", () => {
	const faulty = (spec: string, ...more: string[]) =>
		startUdp("node", ["--udp-only", "--udp-fault", spec, "--fault-seed", "7", ...more]);

	test("--udp-fault drop=100%: nothing comes back, and every datagram is counted as dropped by the fault", async () => {
		const cli = await faulty("drop=100%");
		expect(cli.stdout()).toContain("udp faults: drop=100% (seed 7; --fault-seed 7 repeats them)");
		const client = await peer();
		for (let i = 0; i < 5; i++) client.send(Uint8Array.of(i), "127.0.0.1", cli.udpPort);
		expect(await drain(client, 300)).toHaveLength(0);
		cli.child.kill("SIGINT");
		expect(await cli.exit()).toBe(0);
		expect(cli.stdout()).toContain("udp: received 5 datagrams, echoed 0, dropped 5 (fault 5)");
	});

	test("--udp-fault duplicate=100%: each datagram comes back twice, whole", async () => {
		const cli = await faulty("duplicate=100%");
		const client = await peer();
		const sent = [Uint8Array.of(1, 2), Uint8Array.of(3), new Uint8Array(0)];
		for (const bytes of sent) client.send(bytes, "127.0.0.1", cli.udpPort);
		assertSameDatagrams(await drain(client, 300), [...sent, ...sent], "duplicated replies");
	});

	test("--udp-fault reorder=4: every datagram comes back once, within its group of 4, and the groups are shuffled", async () => {
		const cli = await faulty("reorder=4");
		const client = await peer();
		const sent = Array.from({ length: 32 }, (_, i) => Uint8Array.of(i));
		for (const bytes of sent) client.send(bytes, "127.0.0.1", cli.udpPort);
		const replies = await drain(client, 400);
		assertSameDatagrams(replies, sent, "reordered replies");
		const order = replies.map((bytes) => bytes[0] as number);
		for (const [position, index] of order.entries()) expect(Math.floor(index / 4)).toBe(Math.floor(position / 4));
		// Eight groups of four all left in order would be a chance of 1 in 24^8.
		expect(order).not.toEqual([...order].sort((a, b) => a - b));
	});

	test("--udp-fault latency=300ms: the reply comes, and not before 300 ms", async () => {
		const cli = await faulty("latency=300ms");
		const client = await peer();
		const started = performance.now();
		const reply = await roundTrip(client, cli.udpPort, Uint8Array.of(42), 3_000);
		expect(performance.now() - started).toBeGreaterThanOrEqual(299);
		assertBytes(reply as Uint8Array, Uint8Array.of(42), "the late echo");
	});

	test("--udp-fault truncate=3: the reply is the datagram's first 3 bytes", async () => {
		const cli = await faulty("truncate=3");
		const client = await peer();
		assertBytes(
			(await roundTrip(client, cli.udpPort, Uint8Array.of(9, 8, 7, 6, 5))) as Uint8Array,
			Uint8Array.of(9, 8, 7),
			"the cut echo",
		);
		assertBytes(
			(await roundTrip(client, cli.udpPort, Uint8Array.of(1))) as Uint8Array,
			Uint8Array.of(1),
			"a short echo",
		);
	});
});

describe("UDP metrics", () => {
	test("--metrics counts datagrams received, echoed and dropped by reason", async () => {
		const cli = await startUdp("node", [
			"--udp",
			"--metrics",
			"127.0.0.1:0",
			"--udp-fault",
			"drop=50%",
			"--fault-seed",
			"3",
		]);
		const url = /metrics: (http:\S+)/.exec(cli.stdout())?.[1] as string;
		const client = await peer();
		for (let i = 0; i < 20; i++) client.send(Uint8Array.of(i), "127.0.0.1", cli.udpPort);
		const echoed = (await drain(client, 300)).length;
		const text = await (await fetch(url)).text();
		expect(text).toContain('echo_udp_datagrams_total{result="received"} 20');
		expect(text).toContain(`echo_udp_datagrams_total{result="echoed"} ${echoed}`);
		expect(text).toContain(`echo_udp_datagrams_total{result="fault"} ${20 - echoed}`);
		expect(text).toContain('echo_udp_datagrams_total{result="rate-limit"} 0');
	});
});

describe("UDP: bad input", () => {
	test("usage mistakes exit 2 with one line", async () => {
		for (const [args, message] of [
			[["--udp-rate", "0", "--udp"], /invalid --udp-rate '0'/],
			[["--udp-rate", "10"], /--udp-rate needs --udp or --udp-only/],
			[["--udp-fault", "drop=5%"], /--udp-fault needs --udp or --udp-only/],
			[["--udp", "--udp-fault", "drop=500%"], /invalid --udp-fault 'drop=500%': '500%' is not a share/],
			[["--udp", "--udp-fault", "mangle"], /unknown datagram fault 'mangle'/],
			[["--udp", "--udp-only"], /--udp and --udp-only cannot be used together/],
			[["--udp", "--unix", "/tmp/x.sock"], /leave out --unix/],
			[["--udp", "--workers", "2"], /UDP is served by one process/],
			[["--udp-only", "--tls"], /--tls acts on TCP connections and --udp-only serves none/],
			[["--udp-only", "--fault", "stall=0"], /use --udp-fault for datagrams/],
			[["--fault-seed", "3", "--udp"], /--fault-seed needs --fault or --udp-fault/],
		] as const) {
			const r = run("node", [...args]);
			expect(await r.exit()).toBe(2);
			expectOneLineError(r, message);
		}
	});

	test("a UDP port in use: one line, exit 1, TCP not left listening", async () => {
		// A UDP port whose TCP twin is free too: else the TCP listen fails first, and the error names TCP.
		let holder = dgram.createSocket("udp4");
		for (let tries = 0; ; tries++) {
			await new Promise<void>((resolve) => holder.bind(0, "127.0.0.1", () => resolve()));
			const taken = holder.address().port;
			const tcpFree = await new Promise<boolean>((resolve) => {
				const probe = net.createServer().once("error", () => resolve(false));
				probe.listen(taken, "127.0.0.1", () => probe.close(() => resolve(true)));
			});
			if (tcpFree) break;
			holder.close();
			if (tries >= 20) throw new Error("no UDP port in 20 tries had a free TCP twin");
			holder = dgram.createSocket("udp4");
		}
		const port = holder.address().port;
		try {
			const r = run("node", ["--udp", "--port", String(port)]);
			expect(await r.exit()).toBe(1);
			expectOneLineError(r, new RegExp(`address udp://127\\.0\\.0\\.1:${port} is already in use`));
		} finally {
			holder.close();
		}
	});
});
