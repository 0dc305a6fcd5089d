import dgram from "node:dgram";
import type { DatagramDriver, DatagramSocket } from "../datagram/contract.ts";
import { serveDatagrams } from "../datagram/serve.ts";

/** One client socket of a datagram suite: it sends, and takes what comes back one datagram at a time. */
export interface DatagramPeer {
	/** The port it is bound to. */
	readonly port: number;
	send(bytes: Uint8Array, host: string, port: number): void;
	/** The next datagram that came back, or `null` after `ms` without one. */
	next(ms: number): Promise<Uint8Array | null>;
	/** Idempotent. */
	close(): void;
}

/** What a datagram suite talks to the driver with, sharing no code with it. */
export interface DatagramClient {
	/** A client socket on `host`, bound to `port` (default 0: any free port). */
	open(host: string, port?: number): Promise<DatagramPeer>;
	/** A plain echo server to check the driver's own sending against. */
	echoServer(host: string): Promise<{ readonly port: number; close(): void }>;
}

/** Datagrams waiting for `next()`, and the one waiter. */
class Inbox {
	readonly #queue: Uint8Array[] = [];
	#waiter: ((bytes: Uint8Array | null) => void) | undefined;

	push(bytes: Uint8Array): void {
		const waiter = this.#waiter;
		this.#waiter = undefined;
		if (waiter) waiter(bytes);
		else this.#queue.push(bytes);
	}

	next(ms: number): Promise<Uint8Array | null> {
		const queued = this.#queue.shift();
		if (queued) return Promise.resolve(queued);
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.#waiter = undefined;
				resolve(null);
			}, ms);
			this.#waiter = (bytes) => {
				clearTimeout(timer);
				resolve(bytes);
			};
		});
	}
}

const typeOf = (host: string): "udp4" | "udp6" => (host.includes(":") ? "udp6" : "udp4");

async function bound(host: string, port = 0): Promise<dgram.Socket> {
	const socket = dgram.createSocket({ type: typeOf(host), recvBufferSize: 4 * 1024 * 1024 });
	// A send to a port that went away is reported here; a test client ignores it.
	socket.on("error", () => {});
	await new Promise<void>((resolve, reject) => {
		socket.once("error", reject);
		socket.bind(port, host, () => {
			socket.off("error", reject);
			resolve();
		});
	});
	return socket;
}

/**
 * The reference datagram client, over `node:dgram` with none of the
 * drivers' code: what the datagram suite checks every driver with.
 */
export const referenceDatagramClient: DatagramClient = {
	async open(host, port) {
		const socket = await bound(host, port);
		const inbox = new Inbox();
		socket.on("message", (message: Uint8Array) => inbox.push(new Uint8Array(message)));
		let open = true;
		return {
			port: socket.address().port,
			send: (bytes, to, port) => socket.send(bytes, port, to),
			next: (ms) => inbox.next(ms),
			close() {
				if (open) socket.close();
				open = false;
			},
		};
	},
	async echoServer(host) {
		const socket = await bound(host);
		socket.on("message", (message: Uint8Array, from: dgram.RemoteInfo) =>
			socket.send(message, from.port, from.address),
		);
		return { port: socket.address().port, close: () => socket.close() };
	},
};

/** A client made of the driver's own sockets: for the memory driver, which no real socket reaches. */
export function driverDatagramClient(driver: DatagramDriver): DatagramClient {
	return {
		async open(host, port) {
			const socket: DatagramSocket = await driver.bind({ host, ...(port === undefined ? {} : { port }) });
			const inbox = new Inbox();
			void (async () => {
				for await (const datagram of socket) inbox.push(datagram.bytes);
			})();
			return {
				port: socket.address.port,
				send: (bytes, to, port) =>
					socket.send(bytes, { transport: "udp", host: to, port, family: to.includes(":") ? "IPv6" : "IPv4" }),
				next: (ms) => inbox.next(ms),
				close: () => void socket.close(),
			};
		},
		async echoServer(host) {
			const server = serveDatagrams(await driver.bind({ host }), { guard: false });
			return { port: server.socket.address.port, close: () => void server.close() };
		},
	};
}
