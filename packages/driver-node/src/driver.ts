import net from "node:net";
import tls from "node:tls";
import {
	type Address,
	type Connection,
	type ConnectOptions,
	DEFAULT_HIGH_WATER_MARK,
	ListenError,
	type Listener,
	type ListenOptions,
	type TlsSession,
	type UnixAddress,
} from "@echo-cli/core";
import {
	BaseConnection,
	BaseDriver,
	BaseListener,
	type BindTarget,
	clientCertificateError,
	connectionErrorFrom,
	type Pausable,
	socketAddress,
	tlsHandshakeError,
	tlsSessionOf,
	UNNAMED_PEER,
} from "@echo-cli/core/driver";
import { clientTlsOptions, type ServerTls, serverTls } from "@echo-cli/core/tls";
import { wrapServerSocket } from "./tls.ts";

/**
 * Whether `net.Server.listen` takes `reusePort`: Bun's `node:net`, Node 22.12+ and 23.1+. Older
 * Node ignores the option without a word and the second bind fails with EADDRINUSE.
 */
export const reusePortAvailable: boolean = ((): boolean => {
	if (process.versions.bun !== undefined) return true;
	const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
	return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
})();

export interface NodeDriverOptions {
	/** Disable Nagle's algorithm on every socket. Default true, as in Bun. */
	readonly noDelay?: boolean;
}

/**
 * The contract over `node:net`, for Node >= 20 and Bun's `node:net`.
 *
 * - Sockets are half-open capable (`allowHalfOpen`), so a peer's FIN ends
 *   only our read side; `end()` sends FIN after Node flushed its queue.
 * - The high-water mark is set on the server and every socket, so Node 20
 *   (16 KiB default) and Bun (64 KiB) behave alike.
 * - Every socket and the server have an `'error'` listener: a peer reset
 *   becomes a `ConnectionError`, never an uncaught exception.
 * - Reading is paused while the handler has a high-water mark of unread
 *   bytes, and resumed as it reads.
 * - TLS wraps each accepted socket in a `tls.TLSSocket` as `tls.Server`
 *   would, so the connection is handed out before its handshake.
 */
export class NodeDriver extends BaseDriver {
	readonly name = "node";
	readonly #noDelay: boolean;

	constructor(options: NodeDriverOptions = {}) {
		super();
		this.#noDelay = options.noDelay ?? true;
	}

	protected async bind(target: BindTarget): Promise<Listener> {
		const { highWaterMark, options } = target;
		const reusePort = options.reusePort === true && target.transport === "tcp";
		if (reusePort && !reusePortAvailable) {
			throw new ListenError(
				"unavailable",
				`cannot listen on port ${target.port} with SO_REUSEPORT: node:net has it from Node 22.12 and 23.1, this is Node ${process.versions.node}`,
			);
		}
		// Made before binding, so a bad certificate or key fails the listen, not the first connection.
		const secure = options.tls ? serverTls(options.tls) : undefined;
		const server = net.createServer({ allowHalfOpen: true, noDelay: this.#noDelay, highWaterMark });
		await new Promise<void>((resolve, reject) => {
			server.once("error", reject);
			server.listen(
				target.transport === "unix"
					? { path: target.path, backlog: options.backlog }
					: { host: target.host, port: target.port, backlog: options.backlog, ...(reusePort ? { reusePort } : {}) },
				() => {
					server.off("error", reject);
					resolve();
				},
			);
		}).catch((error: unknown) => {
			server.close();
			throw error;
		});
		return new NodeListener(server, options, highWaterMark, secure);
	}

	async connect(address: Address, options: ConnectOptions = {}): Promise<Connection> {
		const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
		const unix = address.transport === "unix" ? address : undefined;
		const raw = await new Promise<net.Socket>((resolve, reject) => {
			const common = { allowHalfOpen: true, noDelay: this.#noDelay, highWaterMark };
			const socket =
				address.transport === "unix"
					? net.connect({ ...common, path: address.path })
					: net.connect({ ...common, host: address.host, port: address.port });
			const failed = (error: Error) => reject(connectionErrorFrom(error));
			socket.once("error", failed);
			socket.once("connect", () => {
				socket.off("error", failed);
				resolve(socket);
			});
		});
		const secure = options.tls;
		if (!secure) return new NodeConnection(raw, highWaterMark, unix);
		// Over the TCP socket, connected first: a reset needs its handle, and a refused
		// connection is then `refused`, never a TLS failure.
		return new Promise((resolve, reject) => {
			const tcp = address.transport === "tcp" ? address : undefined;
			const socket = tls.connect({ ...clientTlsOptions(tcp, secure), socket: raw });
			const failed = (error: Error) => {
				raw.destroy();
				reject(tlsHandshakeError(error));
			};
			socket.once("error", failed);
			socket.once("secureConnect", () => {
				socket.off("error", failed);
				resolve(new NodeConnection(socket, highWaterMark, unix, { raw, secured: true }));
			});
		});
	}
}

class NodeListener extends BaseListener {
	readonly #server: net.Server;

	constructor(server: net.Server, options: ListenOptions, highWaterMark: number, secure: ServerTls | undefined) {
		super(serverAddress(server), options);
		this.#server = server;
		const unix = this.address.transport === "unix" ? this.address : undefined;
		server.on("connection", (socket) => {
			if (secure === undefined) this.accepted(new NodeConnection(socket, highWaterMark, unix));
			else {
				const wrapped = wrapServerSocket(socket, secure);
				this.accepted(new NodeConnection(wrapped, highWaterMark, unix, { raw: socket, clientAuth: secure.clientAuth }));
			}
		});
		// After listening, Node reports accept failures here; libuv keeps the server running.
		server.on("error", () => {});
	}

	protected async stop(): Promise<void> {
		// close() stops accepting at once; its callback waits for every connection, which is not ours to wait for.
		this.#server.close();
	}
}

/** A TLS socket's TCP socket under it, and where its handshake stands. */
interface TlsSocketRole {
	readonly raw: net.Socket;
	/** True for a client socket, handed over after its handshake; a server socket is handed over before. */
	readonly secured?: boolean;
	/** Refuse a client certificate that did not verify. */
	readonly clientAuth?: boolean;
}

class NodeConnection extends BaseConnection {
	readonly #socket: net.Socket;
	/** The TCP socket under a TLS one: it holds the addresses and is what a reset resets. */
	readonly #raw: net.Socket;
	readonly #local: Address | undefined;
	readonly #remote: Address | undefined;
	#failure: Error | undefined;
	#session: TlsSession | undefined;

	/** `unix` is the socket file's address for a unix socket connection; `secure` is set for a TLS socket. */
	constructor(socket: net.Socket, highWaterMark: number, unix: UnixAddress | undefined, secure?: TlsSocketRole) {
		super(highWaterMark);
		this.#socket = socket;
		const raw = secure?.raw ?? socket;
		this.#raw = raw;
		// Captured now: a closed socket can no longer tell.
		this.#local = unix ?? socketAddress(raw.localAddress, raw.localPort, raw.localFamily);
		this.#remote = unix ? UNNAMED_PEER : socketAddress(raw.remoteAddress, raw.remotePort, raw.remoteFamily);
		socket.on("data", (chunk: Buffer) => this.received(chunk));
		socket.on("end", () => this.receivedEnd());
		socket.on("drain", () => this.drained());
		socket.on("error", (error) => {
			this.#failure ??=
				socket instanceof tls.TLSSocket && this.#session === undefined ? tlsHandshakeError(error) : error;
		});
		socket.on("close", () => {
			this.terminated(this.#failure);
		});
		if (secure && socket instanceof tls.TLSSocket) {
			if (secure.secured) this.#session = tlsSessionOf(socket);
			else socket.once("secure", () => this.#secured(socket, secure.clientAuth === true));
		}
	}

	override get tls(): TlsSession | undefined {
		return this.#session;
	}

	#secured(socket: tls.TLSSocket, clientAuth: boolean): void {
		const refused = clientAuth ? clientCertificateError(socket) : undefined;
		if (refused) socket.destroy(tlsHandshakeError(refused));
		else this.#session = tlsSessionOf(socket);
	}

	get outboundBytes(): number {
		return this.#socket.writableLength;
	}

	protected localAddress(): Address | undefined {
		return this.#local;
	}

	protected remoteAddress(): Address | undefined {
		return this.#remote;
	}

	protected transmit(bytes: Uint8Array): boolean {
		// A socket destroyed but not yet closed: the 'close' event rejects the waiting writer.
		if (!this.#socket.writable) return false;
		return this.#socket.write(bytes);
	}

	protected finish(): void {
		// The callback also runs when the socket fails first (with the error): only a clean flush has finished.
		this.#socket.end((error?: Error | null) => {
			if (error) this.#failure ??= error;
			else this.finished();
		});
	}

	protected abort(error?: Error): void {
		// resetAndDestroy() needs the TCP handle, which a TLS socket wraps.
		if (error) this.#raw.resetAndDestroy();
		this.#socket.destroy();
	}

	protected override get source(): Pausable {
		return this.#socket;
	}
}

function serverAddress(server: net.Server): Address {
	const address = server.address();
	if (typeof address === "string") return { transport: "unix", path: address };
	if (address === null) throw new Error("the server is not listening");
	return { transport: "tcp", host: address.address, port: address.port, family: family(address.family) };
}

function family(value: string | number | undefined): "IPv4" | "IPv6" {
	return value === "IPv6" || value === 6 ? "IPv6" : "IPv4";
}
