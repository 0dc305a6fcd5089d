/**
 * One regression test per Bun.listen pitfall that applies to a server
 * (shared/notes/runtime-pitfalls.md, section 1). Each names the naive
 * implementation it catches. Clients are plain node:net sockets, so a
 * driver bug cannot hide behind the same bug on the client side.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type Connection, ConnectionError, DEFAULT_HIGH_WATER_MARK, echo, MisuseError } from "@echo-cli/core";
import {
	assertBytes,
	collect,
	concat,
	pattern,
	pause,
	readAll,
	rejection,
	tcpHarness,
	tryConnect,
	writeUntilStalled,
} from "@echo-cli/core/testing";
import { BunDriver } from "../src/index.ts";

const MiB = 1024 * 1024;
const { start, client, cleanup } = tcpHarness(new BunDriver());
afterEach(cleanup);

describe(`Bun.listen pitfalls on Bun ${Bun.version}`, () => {
	test("B1: the unsent tail of a partial write is queued and flushed in order (naive write() loses it)", async () => {
		const big = pattern(0, 48 * MiB);
		let queuedPeak = 0;
		const { port } = await start(async (c) => {
			const writing = c.write(big);
			queuedPeak = c.outboundBytes;
			await writing;
			await c.end();
		});
		const socket = await client(port);
		socket.pause();
		const received = collect(socket);
		await pause(200); // the kernel buffers fill, so Bun's write() must take only part
		socket.resume();
		socket.end();
		assertBytes(await received, big, "48 MiB written in one call");
		expect(queuedPeak).toBeGreaterThan(0);
	}, 60_000);

	test("B2: reading pauses when the handler does not read (a queue without pause grows without bound)", async () => {
		const { accepted, port } = await start(async (c) => {
			await pause(60_000);
			await echo(c);
		});
		const socket = await client(port);
		// TCP holds the client back once the server stops reading.
		const sent = await writeUntilStalled(socket, 128 * MiB, 500);
		const server = accepted[0] as Connection;
		// One data callback can carry up to 512 KiB past the mark before the pause lands.
		expect(server.inboundBytes).toBeLessThanOrEqual(DEFAULT_HIGH_WATER_MARK + 512 * 1024);
		expect(server.inboundBytes).toBeGreaterThan(0);
		expect(socket.writableLength).toBeGreaterThan(0); // the client is held back by TCP, not buffered by us
		expect(sent).toBeLessThan(128 * MiB);
	}, 30_000);

	test("B3: drain after pause/resume cycles is idempotent (a drain that rewrites duplicates bytes)", async () => {
		const { port } = await start(async (c) => {
			for (;;) {
				const chunk = await c.read();
				if (chunk === null) break;
				await c.write(chunk);
				await pause(chunk.byteLength > 100_000 ? 2 : 0);
			}
			await c.end();
		}, 16 * 1024);
		const socket = await client(port);
		const received = collect(socket);
		const payload = pattern(3, 8 * MiB);
		for (let at = 0; at < payload.byteLength; at += 300_000) {
			socket.write(payload.subarray(at, at + 300_000));
			if (at % 1_200_000 === 0) {
				socket.pause();
				await pause(5);
				socket.resume();
			}
		}
		socket.end();
		assertBytes(await received, payload, "echo across pause/resume cycles");
	}, 60_000);

	test("B4: end() after a large queued write sends every byte before FIN (end(data) truncates)", async () => {
		const payload = pattern(9, 32 * MiB);
		const { port } = await start(async (c) => {
			void c.write(payload);
			await c.end();
		});
		const socket = await client(port);
		socket.pause();
		const received = collect(socket);
		await pause(100);
		socket.resume();
		assertBytes(await received, payload, "32 MiB then FIN");
	}, 60_000);

	test("B5: a client FIN does not discard the queued echo (allowHalfOpen: false truncates)", async () => {
		const payload = pattern(5, 16 * MiB);
		// Writes are not awaited, so the FIN arrives while megabytes are still queued in the driver.
		const { port } = await start(async (c) => {
			const writes: Promise<void>[] = [];
			for (let chunk = await c.read(); chunk !== null; chunk = await c.read()) writes.push(c.write(chunk));
			await Promise.all([...writes, c.end()]);
		});
		for (let run = 0; run < 3; run++) {
			const socket = await client(port);
			socket.pause();
			const received = collect(socket);
			socket.end(payload);
			await pause(300);
			socket.resume();
			assertBytes(await received, payload, `run ${run}: 16 MiB then FIN`);
		}
	}, 120_000);

	test("B6: end() half-closes: the peer can still send after our FIN (Bun's end() is a full close)", async () => {
		let counted = 0;
		const { port } = await start(async (c) => {
			await c.end();
			for (;;) {
				const chunk = await c.read();
				if (chunk === null) break;
				counted += chunk.byteLength;
			}
		});
		const socket = await client(port);
		const received = collect(socket);
		expect((await received).byteLength).toBe(0); // our FIN arrived
		const late = pattern(0, 2 * MiB);
		await new Promise<void>((resolve, reject) => socket.end(late, () => resolve()).once("error", reject));
		for (let i = 0; i < 200 && counted < late.byteLength; i++) await pause(10);
		expect(counted).toBe(late.byteLength);
	}, 30_000);

	test("B7: state is tracked by the driver: writes after a reset reject with a typed error", async () => {
		let outcome: unknown;
		const { port, accepted } = await start(async (c) => {
			await c.read();
			await pause(200);
			outcome = (await rejection(c.write(pattern(0, 10)))) ?? "resolved";
		});
		const socket = await client(port);
		socket.write(Uint8Array.of(1));
		await pause(50);
		socket.resetAndDestroy();
		await (accepted[0] as Connection).closed;
		for (let i = 0; i < 100 && outcome === undefined; i++) await pause(10);
		expect(outcome).toBeInstanceOf(ConnectionError);
		expect((accepted[0] as Connection).error?.reason).toBe("reset");
	}, 30_000);

	test("B7: write() after end() rejects with MisuseError instead of trusting Bun's return value", async () => {
		let outcome: unknown;
		const { port } = await start(async (c) => {
			await c.end();
			outcome = (await rejection(c.write(pattern(0, 10)))) ?? "resolved";
		});
		const socket = await client(port);
		await collect(socket);
		for (let i = 0; i < 100 && outcome === undefined; i++) await pause(10);
		expect(outcome).toBeInstanceOf(MisuseError);
	});

	test("B8: data chunks are fresh Uint8Arrays that Bun never reuses (binaryType inside socket handlers)", async () => {
		const kept: Uint8Array[] = [];
		const { port } = await start(async (c) => {
			for (;;) {
				const chunk = await c.read();
				if (chunk === null) break;
				kept.push(chunk); // kept without copying: reuse by Bun would corrupt these
			}
			await c.end();
		});
		const socket = await client(port);
		const payload = pattern(11, 26 * MiB);
		const done = collect(socket);
		socket.end(payload);
		await done;
		expect(kept.length).toBeGreaterThan(1);
		for (const chunk of kept) expect(Object.getPrototypeOf(chunk)).toBe(Uint8Array.prototype);
		assertBytes(concat(kept), payload, "chunks kept across callbacks");
	}, 60_000);

	test("B9: a handler that awaits between reads keeps order (Bun does not await async data handlers)", async () => {
		const { port } = await start(async (c) => {
			let n = 0;
			for (;;) {
				const chunk = await c.read();
				if (chunk === null) break;
				await pause(n++ % 3);
				await c.write(chunk);
			}
			await c.end();
		});
		const socket = await client(port);
		const received = collect(socket);
		const parts: Uint8Array[] = [];
		for (let i = 0; i < 200; i++) {
			const part = pattern(i * 1000, 100 + ((i * 7919) % 5000));
			parts.push(part);
			socket.write(part);
			if (i % 10 === 0) await pause(1);
		}
		socket.end();
		assertBytes(await received, concat(parts), "200 writes with delays");
	}, 30_000);

	test("B10: a peer reset mid-echo reaches close(socket, error) and becomes a typed error; others go on", async () => {
		const { port, accepted } = await start();
		const rude = await client(port);
		rude.pause();
		rude.write(pattern(0, 8 * MiB));
		await pause(100);
		rude.resetAndDestroy();
		const polite = await client(port);
		const received = collect(polite);
		polite.end(pattern(1, MiB));
		assertBytes(await received, pattern(1, MiB), "the other connection");
		const victim = accepted[0] as Connection;
		await victim.closed;
		expect(victim.error).toBeInstanceOf(ConnectionError);
		expect(victim.error?.reason).toBe("reset");
	}, 30_000);

	test("B15: closing the listener (stop() without true) refuses new clients and keeps open ones", async () => {
		const { port, server } = await start();
		const open = await client(port);
		await server.listener.close();
		const refused = await tryConnect(port);
		expect(refused).toBe("ECONNREFUSED");
		const received = collect(open);
		open.end(pattern(2, MiB));
		assertBytes(await received, pattern(2, MiB), "echo after the listener closed");
	});

	test("the client side (Bun.connect) keeps the same contract", async () => {
		const { port } = await start();
		const c = await new BunDriver().connect({ transport: "tcp", host: "127.0.0.1", port, family: "IPv4" });
		const payload = pattern(4, 8 * MiB);
		const reading = readAll(c);
		await c.write(payload);
		await c.end();
		assertBytes(await reading, payload, "Bun.connect client");
	}, 30_000);
});
