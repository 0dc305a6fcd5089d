import net from "node:net";
import type { Connection, Driver, Handler } from "../contract.ts";
import { echo } from "../echo.ts";
import type { Server } from "../serve.ts";
import { concat, pattern } from "./bytes.ts";
import { pause } from "./checks.ts";
import { type EchoServer, startEchoServer } from "./echo-server.ts";

export interface ServedDriver {
	readonly server: Server;
	/** Server-side connections in accept order. */
	readonly accepted: Connection[];
	readonly port: number;
}

/**
 * Serves a handler over a driver on a free loopback port and opens raw
 * `node:net` clients to it, so that a driver bug cannot hide behind the same
 * bug in a client built on that driver. `cleanup()` ends everything it made.
 */
export function tcpHarness(driver: Driver) {
	const servers: EchoServer[] = [];
	const sockets: net.Socket[] = [];
	return {
		async start(handler: Handler = echo, highWaterMark?: number): Promise<ServedDriver> {
			const served = await startEchoServer(driver, { handler, highWaterMark });
			servers.push(served);
			const port = served.address.transport === "tcp" ? served.address.port : 0;
			return { server: served.server, accepted: served.accepted, port };
		},
		async client(port: number): Promise<net.Socket> {
			const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
			socket.on("error", () => {});
			sockets.push(socket);
			await new Promise((resolve) => socket.once("connect", resolve));
			return socket;
		},
		async cleanup(): Promise<void> {
			for (const socket of sockets.splice(0)) socket.destroy();
			await Promise.all(servers.splice(0).map((s) => s.close()));
		},
	};
}

/** Everything a raw socket receives until the peer's FIN (or close). */
export function collect(socket: net.Socket): Promise<Uint8Array> {
	const chunks: Uint8Array[] = [];
	socket.on("data", (d: Uint8Array) => chunks.push(d));
	return new Promise((resolve, reject) => {
		socket.once("end", () => resolve(concat(chunks)));
		socket.once("close", () => resolve(concat(chunks)));
		socket.once("error", reject);
	});
}

/** Tries a raw connection to a loopback port: `"connected"`, or the error code (`"ECONNREFUSED"`). */
export function tryConnect(port: number): Promise<string> {
	return new Promise((resolve) => {
		const socket = net.connect({ port, host: "127.0.0.1" });
		socket.once("connect", () => {
			socket.destroy();
			resolve("connected");
		});
		socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
	});
}

/** Writes until the socket's own buffer stops draining for `ms`, or `limit` bytes: the peer has stopped reading. */
export async function writeUntilStalled(socket: net.Socket, limit: number, ms = 300): Promise<number> {
	let sent = 0;
	const chunk = pattern(0, 64 * 1024);
	while (sent < limit) {
		sent += chunk.byteLength;
		if (socket.write(chunk)) continue;
		const drained = await Promise.race([
			new Promise<boolean>((resolve) => socket.once("drain", () => resolve(true))),
			pause(ms).then(() => false),
		]);
		if (!drained) break;
	}
	return sent;
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a foreign program
 * that must be told its port up front (HAProxy, a registry). Another
 * process may take it in between; where a program can bind port 0 and say
 * what it got, prefer that.
 */
export async function freePort(): Promise<number> {
	const probe = net.createServer().listen(0, "127.0.0.1");
	await new Promise((resolve) => probe.once("listening", resolve));
	const port = (probe.address() as net.AddressInfo).port;
	await new Promise((resolve) => probe.close(resolve));
	return port;
}
