/**
 * What Deno's `node:tls` does that core's `TlsConnection` (TLS for this
 * driver) and the kit's reference TLS client are built around, each checked
 * on the Deno that runs the suite: a test fails when Deno changes, so the
 * workaround can be revisited.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { Duplex } from "node:stream";
import { describe, test } from "node:test";
import tls from "node:tls";
import { echo, serve } from "@echo-cli/core";
import { pattern, tlsFixture, within } from "@echo-cli/core/testing";
import { DenoDriver } from "../src/index.ts";
import { runtime } from "./runtime.ts";

const fixture = await tlsFixture();
const serverOptions = { cert: fixture.server.cert, key: fixture.server.key };

/** Resolves "end" on the socket's end event, or "no end" once `ms` passed without one. */
function endWithin(socket: tls.TLSSocket, ms: number): Promise<"end" | "no end"> {
	return new Promise((resolve) => {
		const timer = setTimeout(() => resolve("no end"), ms);
		socket.once("end", () => {
			clearTimeout(timer);
			resolve("end");
		});
	});
}

/** A plain TCP listener whose first connection `onSocket` gets. */
async function tcpServer(onSocket: (socket: net.Socket) => void): Promise<{ port: number; close(): void }> {
	const server = net.createServer({ allowHalfOpen: true }, onSocket);
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** A TLS server session over a Duplex that carries `socket`'s bytes, as TlsConnection runs one. */
function overStream(socket: net.Socket, events: string[]): tls.TLSSocket {
	const carrier = new Duplex({
		allowHalfOpen: true,
		read() {},
		write(chunk, _encoding, callback) {
			socket.write(chunk, callback);
		},
		final(callback) {
			events.push("final");
			socket.end(callback);
		},
		destroy(error, callback) {
			events.push(error ? "destroy with an error" : "destroy");
			socket.destroy();
			callback(error);
		},
	});
	socket.on("data", (chunk) => carrier.push(chunk));
	socket.on("end", () => carrier.push(null));
	return new tls.TLSSocket(carrier as unknown as net.Socket, {
		isServer: true,
		secureContext: tls.createSecureContext(serverOptions),
	});
}

/** A node:tls client to `port` that sends `payload`, then its close_notify and FIN, and reads what comes back. */
function client(port: number, payload: Uint8Array): tls.TLSSocket {
	const socket = tls.connect({ host: "127.0.0.1", port, ca: fixture.ca.cert });
	socket.on("error", () => {});
	socket.once("secureConnect", () => socket.end(payload));
	return socket;
}

describe(`Deno node:tls pitfalls on ${runtime}`, () => {
	test("DENO_TLS_PAUSED_END: a TLSSocket paused while the peer's end arrives never reports it, even once resumed (TlsConnection pauses the connection beneath instead)", async () => {
		const server = await tcpServer((socket) => {
			const secure = new tls.TLSSocket(socket, {
				isServer: true,
				secureContext: tls.createSecureContext(serverOptions),
			});
			secure.on("error", () => {});
			secure.on("data", (chunk: Buffer) => secure.write(chunk));
			secure.on("end", () => secure.end());
		});
		try {
			const paused = client(server.port, pattern(1, 300_000));
			paused.on("data", () => {
				paused.pause();
				setTimeout(() => paused.resume(), 0);
			});
			const flowing = client(server.port, pattern(1, 300_000));
			flowing.on("data", () => {});
			const [whenPaused, whenFlowing] = await Promise.all([endWithin(paused, 3000), endWithin(flowing, 3000)]);
			paused.destroy();
			flowing.destroy();
			assert.equal(whenFlowing, "end", "a flowing TLSSocket reports the end");
			assert.equal(whenPaused, "no end", "the paused TLSSocket reported the end: Deno fixed it");
		} finally {
			server.close();
		}
	});

	test("DENO_TLS_DESTROYS_STREAM: a TLSSocket over a stream ends by destroying the stream, never calling its end() (TlsConnection ends the connection beneath when its stream is destroyed)", async () => {
		const events: string[] = [];
		const server = await tcpServer((socket) => {
			const secure = overStream(socket, events);
			secure.on("error", () => {});
			secure.on("data", (chunk: Buffer) => secure.write(chunk));
			secure.on("end", () => secure.end());
		});
		try {
			const c = client(server.port, pattern(2, 1000));
			c.on("data", () => {});
			assert.equal(await endWithin(c, 3000), "end");
			c.destroy();
			await within(
				new Promise<void>((resolve) => {
					const poll = setInterval(() => {
						if (events.length > 0) resolve(clearInterval(poll));
					}, 10);
				}),
				3000,
				"the stream was neither ended nor destroyed",
			);
			assert.deepEqual(events, ["destroy"], "the stream was ended: Deno fixed it");
		} finally {
			server.close();
		}
	});

	test("DENO_TLS_EMPTY_WRITE: an empty write before any other fails a TLSSocket over a stream with EPERM (the reference client sends nothing for it)", async () => {
		const listener = await new DenoDriver().listen({ tls: serverOptions });
		const served = serve(listener, echo);
		try {
			const raw = await new Promise<net.Socket>((resolve) => {
				const socket = net.connect(listener.address.port, "127.0.0.1", () => resolve(socket));
			});
			const carrier = new Duplex({
				read() {},
				write(chunk, _encoding, callback) {
					raw.write(chunk, callback);
				},
			});
			raw.on("data", (chunk) => carrier.push(chunk));
			const socket = tls.connect({ socket: carrier as unknown as net.Socket, ca: fixture.ca.cert, host: "127.0.0.1" });
			await new Promise((resolve) => socket.once("secureConnect", resolve));
			const failure = new Promise<Error>((resolve) => socket.once("error", resolve));
			socket.write(new Uint8Array(0));
			const error = await within(failure, 3000, "the empty write did not fail: Deno fixed it");
			assert.match(error.message, /EPERM/);
			raw.destroy();
		} finally {
			await served.abort();
		}
	});

	test("a plaintext peer whose FIN follows a few bytes fails with a tls error that names the cause", async () => {
		const listener = await new DenoDriver().listen({ tls: serverOptions });
		try {
			const plain = net.connect(listener.address.port, "127.0.0.1", () => plain.end("hello\n"));
			plain.on("data", () => {});
			plain.on("error", () => {});
			const c = await within(listener.accept(), 3000, "no connection");
			assert.ok(c);
			c.receive({ data() {}, end() {} });
			await within(c.closed, 3000, "the connection did not close");
			assert.equal(c.error?.reason, "tls");
			assert.match(c.error?.message ?? "", /the peer does not speak TLS/);
			plain.destroy();
		} finally {
			await listener.close();
		}
	});
});
