import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { assertBytes, pattern } from "@echo-cli/core/testing";
import { FAULT_EXAMPLES } from "../src/faults.ts";
import { connect, expectOneLineError, killAll, type Runtime, run, start } from "./harness.ts";

afterEach(killAll);

/** What a client sees of one connection: the bytes, when each arrived (ms after the send), and how it ended. */
async function exchange(port: number, payload: Uint8Array, ms = 10_000) {
	let socket: Awaited<ReturnType<typeof connect>>;
	try {
		socket = await connect(port);
	} catch (error) {
		// A reset at once can beat the client's own connect callback: it is still the reset.
		const code = (error as NodeJS.ErrnoException).code;
		if (code !== "ECONNRESET") throw error;
		return { echoed: new Uint8Array(0), arrivals: [] as { at: number; bytes: number }[], ended: code };
	}
	const sentAt = performance.now();
	const arrivals: { at: number; bytes: number }[] = [];
	const chunks: Buffer[] = [];
	const ended = await new Promise<string>((resolve) => {
		const timer = setTimeout(() => resolve("timeout"), ms);
		socket.on("data", (d: Buffer) => {
			chunks.push(d);
			arrivals.push({ at: performance.now() - sentAt, bytes: d.length });
		});
		socket.once("end", () => resolve("fin"));
		socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
		socket.once("close", () => {
			clearTimeout(timer);
			resolve("close");
		});
		socket.end(payload);
	});
	socket.destroy();
	return { echoed: new Uint8Array(Buffer.concat(chunks)), arrivals, ended };
}

const combos: [Runtime, "node" | "bun"][] = [
	["node", "node"],
	["bun", "node"],
	["bun", "bun"],
];

for (const [runtime, driver] of combos) {
	describe(`--fault on ${runtime} with the ${driver} driver`, () => {
		test("latency: the echo comes back whole, no sooner than the delay", async () => {
			const cli = await start(runtime, ["--driver", driver, "--fault", "latency=150ms"]);
			const { echoed, arrivals, ended } = await exchange(cli.port, pattern(0, 1000));
			assertBytes(echoed, pattern(0, 1000), "echo under latency");
			expect(ended).toBe("fin");
			expect(arrivals[0]?.at).toBeGreaterThanOrEqual(145);
		});

		test("limit: exactly the first bytes, then a clean FIN", async () => {
			const cli = await start(runtime, ["--driver", driver, "--fault", "limit=1KiB"]);
			const { echoed, ended } = await exchange(cli.port, pattern(0, 100_000));
			assertBytes(echoed, pattern(0, 1024), "echo under limit=1KiB");
			expect(ended).toBe("fin");
		});

		test("reset-after: the echo, then a reset at the time given", async () => {
			const cli = await start(runtime, ["--driver", driver, "--fault", "reset-after=500ms"]);
			const socket = await connect(cli.port);
			const chunks: Buffer[] = [];
			socket.on("data", (d: Buffer) => chunks.push(d));
			const ended = new Promise<string>((resolve) => {
				socket.once("end", () => resolve("fin"));
				socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
			});
			// The client keeps its side open, so only the fault can end the connection.
			socket.write(pattern(0, 1000));
			expect(await ended).toBe("ECONNRESET");
			assertBytes(new Uint8Array(Buffer.concat(chunks)), pattern(0, 1000), "echo before the reset");
			socket.destroy();
		});

		test("reset-after a size: no more than that many bytes, then a reset", async () => {
			const cli = await start(runtime, ["--driver", driver, "--fault", "reset-after=4KiB"]);
			const socket = await connect(cli.port);
			const chunks: Buffer[] = [];
			const ended = new Promise<string>((resolve) => {
				// Flowing, so that the reset is not read as an EOF behind queued data.
				socket.on("data", (d: Buffer) => chunks.push(d));
				socket.once("end", () => resolve("fin"));
				socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
			});
			socket.write(pattern(0, 64 * 1024));
			expect(await ended).toBe("ECONNRESET");
			const echoed = new Uint8Array(Buffer.concat(chunks));
			expect(echoed.byteLength).toBeLessThanOrEqual(4096);
			assertBytes(echoed, pattern(0, echoed.byteLength), "the bytes before the reset");
			socket.destroy();
		});

		test("refuse=rst resets at once; refuse closes at once", async () => {
			const reset = await start(runtime, ["--driver", driver, "--fault", "refuse=rst"]);
			expect((await exchange(reset.port, pattern(0, 10))).ended).toBe("ECONNRESET");
			// A client that sends nothing sees the FIN; one that sends would get a reset for its data.
			const fin = await start(runtime, ["--driver", driver, "--fault", "refuse"]);
			const socket = await connect(fin.port);
			const ended = await new Promise<string>((resolve) => {
				socket.once("end", () => resolve("fin"));
				socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
				socket.resume();
			});
			expect(ended).toBe("fin");
			socket.destroy();
		});
	});
}

describe("--fault on node", () => {
	test("stall: nothing comes back, and the connection closes when the stall ends", async () => {
		const cli = await start("node", ["--fault", "stall=300ms"]);
		const { echoed, ended, arrivals } = await exchange(cli.port, pattern(0, 5000));
		expect(echoed.byteLength).toBe(0);
		expect(arrivals).toEqual([]);
		expect(["fin", "close"]).toContain(ended);
	});

	test("slicer with a delay: every byte, in pieces no larger than the range, spread over time", async () => {
		const cli = await start("node", ["--fault", "slicer=1-4,delay=5ms"]);
		const { echoed, arrivals } = await exchange(cli.port, pattern(0, 40));
		assertBytes(echoed, pattern(0, 40), "echo through the slicer");
		expect(arrivals.length).toBeGreaterThanOrEqual(5);
		expect(Math.max(...arrivals.map((a) => a.bytes))).toBeLessThanOrEqual(8);
	});

	test("bandwidth: a 256 KiB echo at 1 MiB/s takes about a quarter of a second", async () => {
		const cli = await start("node", ["--fault", "bandwidth=1MiB/s"]);
		const { echoed, arrivals } = await exchange(cli.port, pattern(0, 256 * 1024));
		assertBytes(echoed, pattern(0, 256 * 1024), "echo under bandwidth");
		expect(arrivals.at(-1)?.at).toBeGreaterThanOrEqual(230);
	});

	test("slow-close: the echo at once, the FIN later", async () => {
		const cli = await start("node", ["--fault", "slow-close=400ms"]);
		const socket = await connect(cli.port);
		const sentAt = performance.now();
		let echoedAt = 0;
		socket.on("data", () => {
			echoedAt ||= performance.now() - sentAt;
		});
		const fin = new Promise<number>((resolve) => socket.once("end", () => resolve(performance.now() - sentAt)));
		socket.end(pattern(0, 10));
		const finAt = await fin;
		expect(echoedAt).toBeLessThan(300);
		expect(finAt).toBeGreaterThanOrEqual(390);
		socket.destroy();
	});

	test("the banner names the faults and the seed; --verbose names each connection's; the summary counts them", async () => {
		const cli = await start("node", [
			"--fault",
			"latency=1ms",
			"--fault",
			"limit=10@50%",
			"--fault-seed",
			"7",
			"--verbose",
		]);
		expect(cli.stdout()).toMatch(/^faults: latency=1ms limit=10B@50% \(seed 7; --fault-seed 7 repeats them\)$/m);
		for (let i = 0; i < 6; i++) await exchange(cli.port, pattern(0, 100));
		process.kill(cli.child.pid as number, "SIGTERM");
		expect(await cli.exit()).toBe(0);
		expect(cli.stderr()).toMatch(/faults latency=1ms limit=10B@50%\n/);
		expect(cli.stdout()).toMatch(/; faults: latency=1ms 6, limit=10B@50% \d\n/);
	});

	test("the same --fault-seed gives the same faults to the same order of connections", async () => {
		const outcomes = async (seed: string) => {
			const cli = await start("node", ["--fault", "refuse@50%", "--fault-seed", seed]);
			const seen: number[] = [];
			for (let i = 0; i < 12; i++) seen.push((await exchange(cli.port, pattern(0, 10))).echoed.byteLength);
			process.kill(cli.child.pid as number, "SIGTERM");
			await cli.exit();
			return seen;
		};
		const first = await outcomes("12345");
		expect(await outcomes("12345")).toEqual(first);
		// Both outcomes occur, so the comparison above compared something.
		expect(new Set(first).size).toBe(2);
	}, 30_000);
});

describe("--fault usage", () => {
	const bad: [string, RegExp][] = [
		["latency=abc", /invalid --fault 'latency=abc': 'abc' is not a delay; use a duration such as 100ms/],
		[
			"wobble",
			/unknown fault 'wobble'; choose latency, bandwidth, slicer, limit, reset-after, slow-close, stall, refuse/,
		],
		["slicer=9-3", /'9-3' is not a size range/],
		["limit=64KiB@0%", /'@0%' is not a share/],
		["refuse=maybe", /refuse takes fin or rst, not 'maybe'/],
		["latency=5ms,jiter=1ms", /latency takes no 'jiter'/],
	];
	for (const [spec, message] of bad) {
		test(`--fault ${spec} exits 2 with one line`, async () => {
			const r = run("node", ["--fault", spec]);
			expect(await r.exit()).toBe(2);
			expectOneLineError(r, message);
		});
	}

	test("--help lists every fault with an example, and each example starts a server", async () => {
		const help = run("node", ["--help"]);
		expect(await help.exit()).toBe(0);
		for (const [example] of FAULT_EXAMPLES) {
			expect(help.stdout()).toContain(example);
			const cli = await start("node", ["--fault", example]);
			expect(cli.stdout()).toContain(`faults: `);
			process.kill(cli.child.pid as number, "SIGTERM");
			expect(await cli.exit()).toBe(0);
		}
	}, 60_000);

	test("every --fault in the README starts a server as written", async () => {
		const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");
		const specs = [...readme.matchAll(/^echo-cli --fault (\S+)$/gm)].map((m) => m[1] as string);
		expect(specs.length).toBeGreaterThanOrEqual(8);
		for (const spec of specs) {
			const cli = await start("node", ["--fault", spec]);
			expect(cli.stdout()).toContain("faults: ");
			process.kill(cli.child.pid as number, "SIGTERM");
			expect(await cli.exit()).toBe(0);
		}
	}, 60_000);

	test("--fault-seed without --fault, or not a number, exits 2", async () => {
		const alone = run("node", ["--fault-seed", "3"]);
		expect(await alone.exit()).toBe(2);
		expectOneLineError(alone, /--fault-seed needs --fault/);
		const word = run("node", ["--fault", "refuse", "--fault-seed", "x"]);
		expect(await word.exit()).toBe(2);
		expectOneLineError(word, /invalid --fault-seed 'x'/);
	});
});
