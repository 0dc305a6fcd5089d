/**
 * What Deno's own sockets do that the driver is built around, each checked
 * here on the Deno that runs the suite: a test fails when Deno changes, so
 * the driver's workaround can be revisited.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, test } from "node:test";
import { ConnectionError, serve } from "@echo-cli/core";
import { pattern, readAll } from "@echo-cli/core/testing";
import { deno } from "../src/deno-api.ts";
import { DenoDriver } from "../src/index.ts";
import { runtime } from "./runtime.ts";

const api = deno as NonNullable<typeof deno>;

/** A listener on a free loopback port and the two ends of one connection to it. */
async function pair() {
	const listener = api.listen({ hostname: "127.0.0.1", port: 0 });
	const port = (listener.addr as { port: number }).port;
	const [client, server] = await Promise.all([api.connect({ hostname: "127.0.0.1", port }), listener.accept()]);
	listener.close();
	return { client, server };
}

async function readToEnd(conn: { read(b: Uint8Array): Promise<number | null> }): Promise<number> {
	let total = 0;
	const buffer = new Uint8Array(64 * 1024);
	for (;;) {
		const n = await conn.read(buffer);
		if (n === null) return total;
		total += n;
	}
}

describe(`Deno socket pitfalls on ${runtime}`, () => {
	test("E1: iterating conn.readable to EOF closes the conn, so nothing can be written after the peer's FIN (the driver reads with read())", async () => {
		const { client, server } = await pair();
		await client.write(new Uint8Array([1, 2, 3]));
		await client.closeWrite();
		let read = 0;
		// The stream the driver never uses, so not in its own typing of Deno.Conn.
		const readable = (server as unknown as { readable: AsyncIterable<Uint8Array> }).readable;
		for await (const chunk of readable) read += chunk.byteLength;
		assert.equal(read, 3);
		await assert.rejects(server.write(new Uint8Array([4])), (error: Error) => error.name === "BadResource");
		client.close();
	});

	test("E1: with the driver, bytes written after the peer's FIN still arrive", async () => {
		const driver = new DenoDriver();
		const listener = await driver.listen();
		const server = serve(listener, async (c) => {
			const got = await readAll(c);
			await c.write(got);
			await c.end();
		});
		try {
			const { port } = listener.address as { port: number };
			const client = await api.connect({ hostname: "127.0.0.1", port });
			const payload = pattern(3, 100_000);
			await client.write(payload);
			await client.closeWrite();
			assert.equal(await readToEnd(client), payload.byteLength);
			client.close();
		} finally {
			await server.abort();
		}
	});

	test("E2: conn.write() to a peer that does not read takes part of a large buffer (the driver writes the rest)", async () => {
		const { client, server } = await pair();
		const taken = await server.write(new Uint8Array(32 * 1024 * 1024));
		assert.ok(taken > 0 && taken < 32 * 1024 * 1024, `write() took ${taken} bytes`);
		server.close();
		client.close();
	});

	test("DENO_NO_RESET: Deno.Conn cannot reset, so close(error) reaches the peer as an orderly close", async () => {
		const driver = new DenoDriver();
		const listener = await driver.listen();
		const server = serve(listener, async (c) => {
			await c.read();
			c.close(new Error("reset, as asked"));
		});
		try {
			const { port } = listener.address as { port: number };
			const outcome = await new Promise<string>((resolve) => {
				const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
				socket.on("data", () => {});
				socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
				socket.once("end", () => resolve("FIN"));
				socket.write(new Uint8Array([1]));
			});
			// A reset would be ECONNRESET. Deno.Conn has no SO_LINGER and no reset: see the README's DENO_NO_RESET.
			assert.equal(outcome, "FIN");
		} finally {
			await server.abort();
		}
	});

	test("a reset by the peer is a typed error on the driver's connection", async () => {
		const driver = new DenoDriver();
		const listener = await driver.listen();
		let seen: unknown;
		let resolve = () => {};
		const done = new Promise<void>((r) => {
			resolve = r;
		});
		const server = serve(listener, async (c) => {
			try {
				for await (const chunk of c) c.send(chunk);
			} catch (error) {
				seen = error;
			}
			resolve();
		});
		try {
			const { port } = listener.address as { port: number };
			const socket = net.connect({ port, host: "127.0.0.1" });
			await new Promise((resolve) => socket.once("connect", resolve));
			socket.write(new Uint8Array([1]));
			await new Promise((resolve) => setTimeout(resolve, 50));
			socket.resetAndDestroy();
			await done;
			assert.ok(seen instanceof ConnectionError && seen.reason === "reset", `got ${String(seen)}`);
		} finally {
			await server.abort();
		}
	});
});
