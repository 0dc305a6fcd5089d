import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import type { Address, Connection, TlsClientOptions } from "../contract.ts";
import { ConnectionError } from "../errors.ts";

/** What the kit's cases need of a client connection: the pull path, end and abort. */
export type ClientConnection = Pick<Connection, "read" | "write" | "end" | "close" | "closed" | "bytesRead">;

/** Anything that opens client connections: the {@link referenceClient}, or a driver for its own client side. */
export interface Client {
	readonly name: string;
	connect(address: Address): Promise<ClientConnection>;
}

/**
 * A client written straight on `node:net` (which Node, Bun and Deno all
 * have), sharing no code with any driver: the kit talks to the server under
 * test through it, so that a bug in a driver cannot cancel out against the
 * same bug in a client built on that driver.
 */
export const referenceClient: Client = {
	name: "reference node:net client",
	connect(address) {
		return new Promise((resolve, reject) => {
			const target = address.transport === "unix" ? { path: address.path } : { host: address.host, port: address.port };
			const socket = net.connect({ ...target, allowHalfOpen: true, noDelay: true });
			const failed = (error: Error) => reject(translate(error));
			socket.once("error", failed);
			socket.once("connect", () => {
				socket.off("error", failed);
				resolve(new ReferenceConnection(socket));
			});
		});
	},
};

/**
 * The {@link referenceClient} over `node:tls`: the kit's TLS cases talk to a
 * driver's TLS listener through it, so that no driver's TLS is checked only
 * with its own client. `connect` resolves once the handshake completed.
 */
export function referenceTlsClient(options: TlsClientOptions): Client {
	return {
		name: "reference node:tls client",
		async connect(address) {
			// TLS goes over a connected TCP socket, which a reset can reach (a TLS socket has no TCP handle of its own).
			const raw = await new Promise<net.Socket>((resolve, reject) => {
				const target =
					address.transport === "unix" ? { path: address.path } : { host: address.host, port: address.port };
				const socket = net.connect({ ...target, allowHalfOpen: true, noDelay: true });
				socket.once("error", (error) => reject(translate(error)));
				socket.once("connect", () => resolve(socket));
			});
			return new Promise((resolve, reject) => {
				// Deno's TLSSocket, once paused, never reports the peer's end: there it reads a stream over
				// the TCP socket, and the TCP socket is what pauses (DENO_TLS_PAUSED_END in driver-deno).
				const carrier = onDeno ? new SocketStream(raw) : undefined;
				const socket = tls.connect({
					socket: (carrier ?? raw) as net.Socket,
					ca: options.ca,
					cert: options.cert,
					key: options.key,
					rejectUnauthorized: options.insecure !== true,
					...(options.alpn ? { ALPNProtocols: [...options.alpn] } : {}),
					...(options.serverName !== undefined ? { servername: options.serverName } : {}),
					...(address.transport === "tcp" && options.serverName === undefined ? { host: address.host } : {}),
				});
				socket.once("error", (error) => {
					raw.destroy();
					reject(new ConnectionError("tls", `TLS handshake failed: ${error.message}`, { cause: error }));
				});
				socket.once("close", () => raw.destroy());
				socket.once("secureConnect", () => {
					socket.removeAllListeners("error");
					resolve(new ReferenceConnection(socket, raw, carrier ? raw : socket));
				});
			});
		},
	};
}

class ReferenceConnection implements ClientConnection {
	bytesRead = 0;
	readonly closed: Promise<void>;
	readonly #socket: net.Socket;
	/** The TCP socket a reset goes to: a TLS socket has none of its own. */
	readonly #raw: net.Socket;
	/** What pauses while a chunk waits for its read. */
	readonly #hold: net.Socket;
	readonly #chunks: Uint8Array[] = [];
	#ended = false;
	#error: ConnectionError | undefined;
	#waiting: (() => void) | undefined;
	#ending: Promise<void> | undefined;

	constructor(socket: net.Socket, raw = socket, hold = socket) {
		this.#socket = socket;
		this.#raw = raw;
		this.#hold = hold;
		hold.pause();
		socket.on("data", (chunk: Buffer) => {
			this.bytesRead += chunk.byteLength;
			this.#chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
			// One chunk at a time: the server sees a reader that is paused until it asks for more.
			hold.pause();
			this.#wake();
		});
		socket.on("end", () => {
			this.#ended = true;
			this.#wake();
		});
		socket.on("error", (error) => {
			this.#error ??= translate(error);
		});
		this.closed = new Promise((resolve) =>
			socket.once("close", () => {
				this.#ended = true;
				this.#wake();
				resolve();
			}),
		);
	}

	read(): Promise<Uint8Array | null> {
		if (this.#waiting) return Promise.reject(new Error("two reads at once on the reference client"));
		return new Promise((resolve, reject) => {
			const settle = () => {
				const chunk = this.#chunks.shift();
				if (chunk) resolve(chunk);
				else if (this.#error) reject(this.#error);
				else if (this.#ended || this.#socket.destroyed) resolve(null);
				else {
					this.#waiting = settle;
					this.#hold.resume();
					return;
				}
				this.#waiting = undefined;
			};
			settle();
		});
	}

	write(bytes: Uint8Array): Promise<void> {
		if (this.#error) return Promise.reject(this.#error);
		// Nothing to send; and on Deno, an empty write before any other fails a TLS socket with EPERM.
		if (bytes.byteLength === 0) return Promise.resolve();
		if (this.#socket.write(bytes)) return Promise.resolve();
		return new Promise((resolve, reject) => {
			const done = () => {
				this.#socket.off("drain", done);
				this.#socket.off("close", done);
				if (this.#error) reject(this.#error);
				else resolve();
			};
			this.#socket.on("drain", done);
			this.#socket.on("close", done);
		});
	}

	end(): Promise<void> {
		this.#ending ??= new Promise((resolve, reject) => {
			this.#socket.end((error?: Error | null) =>
				error || this.#error ? reject(this.#error ?? translate(error as Error)) : resolve(),
			);
		});
		return this.#ending;
	}

	close(error?: Error): void {
		if (error) this.#raw.resetAndDestroy();
		this.#socket.destroy();
	}

	#wake(): void {
		const waiting = this.#waiting;
		this.#waiting = undefined;
		waiting?.();
	}
}

const onDeno = "Deno" in globalThis;

/** A TCP socket as the plain stream a TLS socket reads and writes; it ends the socket when the TLS socket is done. */
class SocketStream extends Duplex {
	readonly #socket: net.Socket;

	constructor(socket: net.Socket) {
		super({ allowHalfOpen: true });
		this.#socket = socket;
		socket.on("data", (chunk: Buffer) => this.push(chunk));
		socket.on("end", () => this.push(null));
		socket.on("error", (error) => this.destroy(error));
	}

	override _read(): void {}

	override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
		// Deno's TLSSocket answers the peer's close_notify with its own even after its end(): not for a socket that has ended.
		if (this.#socket.writableEnded) callback();
		else this.#socket.write(chunk, callback);
	}

	override _final(callback: (error?: Error | null) => void): void {
		this.#socket.end(callback);
	}

	override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
		// Deno's TLSSocket ends by destroying its stream, never ending it.
		if (error) this.#socket.destroy(error);
		else this.#socket.end();
		callback(error);
	}
}

function translate(error: Error): ConnectionError {
	const code = (error as { code?: string }).code;
	if (code === "ECONNREFUSED") return new ConnectionError("refused", "connection refused", { cause: error });
	if (code === "ECONNRESET" || code === "EPIPE")
		return new ConnectionError("reset", "the peer reset the connection", { cause: error });
	return new ConnectionError("reset", `the connection failed: ${error.message}`, { cause: error });
}
