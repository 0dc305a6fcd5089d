/**
 * One regression test per node:net pitfall that applies to a server
 * (shared/notes/runtime-pitfalls.md, section 2). Each names the naive
 * implementation it catches. Runs on real Node and on Bun's node:net.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, afterEach, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Connection, ConnectionError, DEFAULT_HIGH_WATER_MARK, echo } from "@echo-cli/core";
import {
	assertBytes,
	collect,
	isAlive,
	pattern,
	pause,
	rejection,
	spawnServer,
	tcpHarness,
	tryConnect,
	writeUntilStalled,
} from "@echo-cli/core/testing";
import { NodeDriver } from "../src/index.ts";
import { DENO_NODE_NET_MARK, onBun, onDeno, runtime } from "./runtime.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Node reads at most 64 KiB per 'data' event; Bun's node:net up to 512 KiB. */
const READ_CHUNK = onBun ? 512 * KiB : 64 * KiB;

const { start, client, cleanup } = tcpHarness(new NodeDriver());
afterEach(cleanup);

describe(`node:net pitfalls on ${runtime}`, () => {
	test("N1: a client that never reads stalls; the server's queues stay bounded (ignoring write() === false grows them)", async () => {
		const { accepted, port } = await start();
		const socket = await client(port);
		socket.pause();
		const sent = await writeUntilStalled(socket, 256 * MiB);
		const server = accepted[0] as Connection;
		assert.ok(sent < 256 * MiB, `the client sent all ${sent} bytes: nothing held it back`);
		assert.ok(server.outboundBytes <= DEFAULT_HIGH_WATER_MARK + READ_CHUNK, `outbound queue ${server.outboundBytes}`);
		assert.ok(server.inboundBytes <= DEFAULT_HIGH_WATER_MARK + READ_CHUNK, `inbound queue ${server.inboundBytes}`);
	});

	test("N2: a reset while the server has unsent data is a typed error, not a crash", async () => {
		const { accepted, port } = await start();
		const rude = await client(port);
		rude.pause();
		await writeUntilStalled(rude, 64 * MiB);
		rude.resetAndDestroy();
		const victim = accepted[0] as Connection;
		await victim.closed;
		assert.ok(victim.error instanceof ConnectionError, `expected a ConnectionError, got ${victim.error}`);
		assert.equal(victim.error.reason, "reset");
		const late = await rejection(victim.write(Uint8Array.of(1)));
		assert.ok(late instanceof ConnectionError, "a write after the reset must reject with a ConnectionError");
		const polite = await client(port);
		const received = collect(polite);
		polite.end(pattern(1, 100 * KiB));
		assertBytes(await received, pattern(1, 100 * KiB), "another connection after the reset");
	});

	test("N3: a peer FIN is seen even when the handler had stopped reading (a paused socket never emits 'end')", {
		skip: onDeno && "DENO_NODE_NET_STOPPED_READ: on Deno's node:net the client's 4 MiB write fails with EPIPE here",
	}, async () => {
		let outcome: { bytes: number; eof: boolean } | undefined;
		const { port, accepted } = await start(async (c) => {
			await pause(300); // the socket is paused by backpressure meanwhile
			c.stopReading();
			let bytes = 0;
			for (let chunk = await c.read(); chunk !== null; chunk = await c.read()) bytes += chunk.byteLength;
			outcome = { bytes, eof: true };
			await c.end();
		});
		const socket = await client(port);
		const received = collect(socket);
		socket.end(pattern(0, 4 * MiB));
		await received;
		await (accepted[0] as Connection).closed;
		assert.ok(outcome?.eof, "the handler never saw EOF");
		assert.ok(outcome.bytes > 0 && outcome.bytes <= 4 * MiB, `read ${outcome.bytes} bytes`);
	});

	test("N3: write then FIN with allowHalfOpen gets every byte, then the server's FIN", async () => {
		const { port } = await start();
		for (const size of [1, 100 * KiB, 50 * MiB]) {
			const socket = await client(port);
			const received = collect(socket);
			socket.end(pattern(size, size));
			assertBytes(await received, pattern(size, size), `${size} bytes then FIN`);
		}
	});

	test("N4: closing the listener keeps open connections and refuses new ones (server.close() waits for them)", async () => {
		const { port, server } = await start();
		const open = await client(port);
		await server.listener.close();
		const refused = await tryConnect(port);
		assert.equal(refused, "ECONNREFUSED");
		const received = collect(open);
		open.end(pattern(2, MiB));
		assertBytes(await received, pattern(2, MiB), "echo after the listener closed");
	});

	test("N5: no connection is dropped by default (maxConnections = 0 drops all on Bun)", async () => {
		const { port } = await start();
		const results = await Promise.all(
			Array.from({ length: 50 }, async (_, i) => {
				const socket = await client(port);
				const received = collect(socket);
				socket.end(pattern(i, 1000 + i));
				return { i, got: await received };
			}),
		);
		for (const { i, got } of results) assertBytes(got, pattern(i, 1000 + i), `connection ${i}`);
	});

	test("N6: out of file descriptors, the server stays up and serves again once they are freed", async () => {
		// This file runs from test/ and, compiled for Node 20, from .test-dist/test/.
		const compiled = import.meta.url.includes("/.test-dist/");
		const fixture = fileURLToPath(
			new URL(`${compiled ? "../../test/" : "./"}fixtures/echo-server.mjs`, import.meta.url),
		);
		const command = onBun ? process.execPath : "node";
		// `exec` keeps the PID: the server is stopped by it, not by the shell's.
		const server = await spawnServer("sh", ["-c", `ulimit -n 64 && exec "${command}" "${fixture}"`]);
		after(() => server.stop());
		if (server.address.transport !== "tcp") throw new Error("the fixture must listen on TCP");
		const { port } = server.address;
		const crowd: net.Socket[] = [];
		for (let i = 0; i < 100; i++) {
			const s = net.connect({ port, host: "127.0.0.1" });
			s.on("error", () => {});
			crowd.push(s);
		}
		await pause(500);
		assert.ok(isAlive(server.pid), "the server died of EMFILE");
		for (const s of crowd) s.destroy();
		await pause(500);
		const socket = await client(port);
		const received = collect(socket);
		socket.end(pattern(3, 64 * KiB));
		assertBytes(await received, pattern(3, 64 * KiB), "echo after EMFILE");
	});

	test("N7: Nagle is off on accepted sockets (Node enables it by default)", async () => {
		const original = net.createServer;
		let options: net.ServerOpts | undefined;
		net.createServer = ((opts: net.ServerOpts, listener?: (socket: net.Socket) => void) => {
			options = opts;
			return original(opts, listener);
		}) as typeof net.createServer;
		try {
			await start();
		} finally {
			net.createServer = original;
		}
		assert.equal(options?.noDelay, true);
		assert.equal(options?.allowHalfOpen, true);
	});

	test("N8: the high-water mark is ours, not the runtime's (16 KiB on Node 20, 64 KiB on Bun)", {
		skip: onDeno && DENO_NODE_NET_MARK,
	}, async () => {
		const mark = 1 * MiB;
		let stalledAt = -1;
		const { port } = await start(async (c) => {
			const chunk = pattern(0, 64 * KiB);
			for (let i = 0; i < 4096; i++) {
				const write = c.write(chunk);
				const stalled = await Promise.race([write.then(() => false), pause(300).then(() => true)]);
				if (stalled) {
					stalledAt = c.outboundBytes;
					break;
				}
			}
		}, mark);
		const socket = await client(port);
		socket.pause();
		for (let i = 0; i < 200 && stalledAt < 0; i++) await pause(50);
		assert.ok(stalledAt >= mark, `write() waited at ${stalledAt} queued bytes, before the ${mark}-byte mark`);
		assert.ok(stalledAt <= mark + 64 * KiB, `write() let ${stalledAt} bytes queue, past the mark plus one chunk`);
	});

	test("N9: leaving a for-await loop early does not destroy the connection (socket iterators do)", async () => {
		const { port } = await start(async (c) => {
			for await (const chunk of c) {
				await c.write(chunk);
				break;
			}
			await echo(c);
		});
		const socket = await client(port);
		const received = collect(socket);
		socket.write(pattern(0, 10));
		await pause(50);
		socket.end(pattern(10, MiB));
		assertBytes(await received, pattern(0, MiB + 10), "echo after leaving the loop");
	});

	test("N9: a reset inside a for-await loop surfaces as a typed error", async () => {
		let thrown: unknown;
		const { port } = await start(async (c) => {
			try {
				for await (const chunk of c) await c.write(chunk);
			} catch (error) {
				thrown = error;
			}
		});
		const socket = await client(port);
		socket.write(pattern(0, 1000));
		await pause(50);
		socket.resetAndDestroy();
		for (let i = 0; i < 100 && thrown === undefined; i++) await pause(10);
		assert.ok(thrown instanceof ConnectionError, `expected a ConnectionError, got ${thrown}`);
		assert.equal(thrown.reason, "reset");
	});
});
