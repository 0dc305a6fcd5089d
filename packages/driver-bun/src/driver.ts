import { unlink } from "node:fs/promises";
import {
	type Address,
	type Connection,
	ConnectionError,
	type ConnectOptions,
	DEFAULT_HIGH_WATER_MARK,
	type Listener,
	type ListenOptions,
	type TlsSession,
} from "@echo-cli/core";
import {
	BaseConnection,
	BaseDriver,
	BaseListener,
	type BindTarget,
	connectionErrorFrom,
	OutboundQueue,
	type Pausable,
	sharedHost,
	socketAddress,
	tcpAddress,
	tlsHandshakeError,
	UNNAMED_PEER,
} from "@echo-cli/core/driver";
import type { Socket, SocketHandler } from "bun";
import { clientTlsOptions, serverTlsOptions, sessionOf } from "./tls.ts";

type BunSocket = Socket<BunConnection | undefined>;

/**
 * The contract over `Bun.listen` and `Bun.connect`.
 *
 * Bun's sockets do not buffer: `write()` returns how many bytes the kernel
 * took. This driver keeps the untaken tail in a FIFO, flushes it from
 * `drain`, and never writes new bytes around it. It listens with
 * `allowHalfOpen` so a peer's FIN does not discard that FIFO, half-closes
 * with `shutdown()` (Bun's `end()` is a full close), and never passes data to
 * `end()`. All handlers are synchronous, and every state change tolerates
 * Bun running `close` inside `end()` or `terminate()`. Over TLS, `open`
 * runs before the handshake (a `handshake` handler is set), so a
 * connection is handed out at once and fails if its handshake does.
 */
export class BunDriver extends BaseDriver {
	readonly name = "bun";

	protected bind(target: BindTarget): Listener {
		let listener: BunListener | undefined;
		const secure = target.options.tls;
		const socket = socketHandlers(
			(s) => {
				const connection = new BunConnection(s, target.highWaterMark, listener?.address);
				listener?.take(connection);
				return connection;
			},
			secure ? { strict: secure.clientAuth === true } : undefined,
		);
		const tls = secure ? { tls: serverTlsOptions(secure) } : {};
		if (target.transport === "unix") {
			const server = Bun.listen<BunConnection | undefined>({ unix: target.path, socket, allowHalfOpen: true, ...tls });
			listener = new BunListener(server, { transport: "unix", path: target.path }, target.options);
		} else {
			const { host: hostname, port, family } = target;
			// Bun.listen honours reusePort; bun-types 1.4.5 declares it only for Bun.connect.
			const reuse = target.options.reusePort ? ({ reusePort: true } as object) : {};
			const server = Bun.listen<BunConnection | undefined>({
				hostname,
				port,
				socket,
				allowHalfOpen: true,
				...reuse,
				...tls,
			});
			listener = new BunListener(server, tcpAddress(hostname, server.port, family), target.options);
		}
		return listener;
	}

	async connect(address: Address, options: ConnectOptions = {}): Promise<Connection> {
		const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
		let connection: BunConnection | undefined;
		const secure = options.tls;
		// Bun.connect resolves at `open`; over TLS the connection is handed out once its handshake settled.
		const handshake = secure ? Promise.withResolvers<void>() : undefined;
		const handlers = socketHandlers(
			(socket) => {
				connection = new BunConnection(socket, highWaterMark, address.transport === "unix" ? address : undefined);
				return connection;
			},
			secure ? { strict: secure.insecure !== true, settled: handshake } : undefined,
		);
		const tls = secure ? { tls: clientTlsOptions(secure) } : {};
		try {
			if (address.transport === "unix") {
				await Bun.connect<BunConnection | undefined>({
					unix: address.path,
					socket: handlers,
					allowHalfOpen: true,
					...tls,
				});
			} else {
				const { host: hostname, port } = address;
				await Bun.connect<BunConnection | undefined>({ hostname, port, socket: handlers, allowHalfOpen: true, ...tls });
			}
		} catch (error) {
			throw connectionErrorFrom(error);
		}
		await handshake?.promise.catch((error: unknown) => {
			throw tlsHandshakeError(error);
		});
		if (!connection) throw new ConnectionError("closed", "the connection closed while it was being opened");
		return connection;
	}
}

/** How a TLS socket's handshake is judged: `strict` refuses a peer certificate that did not verify. */
interface HandshakeRule {
	readonly strict: boolean;
	/** A client's connect() waits on it. */
	readonly settled?: { resolve(): void; reject(error: unknown): void } | undefined;
}

/** One handler object per listener; per-socket state lives in `socket.data`. */
function socketHandlers(
	open: (socket: BunSocket) => BunConnection,
	tls?: HandshakeRule,
): SocketHandler<BunConnection | undefined> {
	const handshake = tls && {
		handshake(socket: BunSocket, ok: boolean, error: Error | null) {
			// Under rejectUnauthorized Bun passes ok = true with the verify error for a client
			// certificate from another CA, then closes: the error is the verdict.
			const failure = !ok || (tls.strict && error) ? tlsHandshakeError(error ?? "the handshake failed") : undefined;
			// Settled first: a failure closes the socket at once, and its close must not be the reason.
			if (failure) tls.settled?.reject(failure);
			else tls.settled?.resolve();
			socket.data?.onHandshake(socket, failure);
		},
	};
	return {
		...handshake,
		// Honoured only here, not at the top level of the options. The typings
		// still say Buffer; at run time `data` gets plain Uint8Arrays.
		binaryType: "uint8array",
		open(socket) {
			socket.data = open(socket);
		},
		data(socket, chunk) {
			socket.data?.onData(chunk);
		},
		drain(socket) {
			socket.data?.onDrain();
		},
		end(socket) {
			socket.data?.onEnd();
		},
		close(socket, error) {
			socket.data?.onClose(error);
			tls?.settled?.reject(error ?? new ConnectionError("closed", "the connection closed during the TLS handshake"));
		},
		error(socket, error) {
			socket.data?.onClose(error);
			socket.terminate();
		},
	};
}

class BunListener extends BaseListener {
	readonly #server: { stop(closeActiveConnections?: boolean): void };

	constructor(server: { stop(closeActiveConnections?: boolean): void }, address: Address, options: ListenOptions) {
		super(address, options);
		this.#server = server;
	}

	take(connection: BunConnection): void {
		this.accepted(connection);
	}

	protected async stop(): Promise<void> {
		// Without `true`, stop() refuses new connections and leaves open ones alone.
		this.#server.stop();
		// Node unlinks its socket file on close(); do the same so that the path can be reused.
		if (this.address.transport === "unix") await unlink(this.address.path).catch(() => {});
	}
}

const WILDCARDS = new Set(["0.0.0.0", "::"]);

class BunConnection extends BaseConnection {
	readonly #socket: BunSocket;
	readonly #local: Address | undefined;
	/** The peer's host (a shared string) and port: cheaper to hold than an address object. */
	readonly #remoteHost: string | undefined;
	readonly #remotePort: number;
	/** Bytes the kernel has not taken yet; made on the first send, since idle connections are many. */
	#queue: OutboundQueue | undefined;
	#session: TlsSession | undefined;
	#handshakeFailure: Error | undefined;

	/** `bound` is the listener's address for an accepted connection, the socket file's for a unix client. */
	constructor(socket: BunSocket, highWaterMark: number, bound: Address | undefined) {
		super(highWaterMark);
		this.#socket = socket;
		// Captured now, since a closed socket can no longer tell; the listener's own address is shared when it is exact.
		const tcp = bound?.transport !== "unix";
		this.#local =
			tcp && (!bound || WILDCARDS.has(bound.host))
				? socketAddress(socket.localAddress, socket.localPort, socket.localFamily)
				: bound;
		this.#remoteHost = tcp && socket.remoteAddress ? sharedHost(socket.remoteAddress) : undefined;
		this.#remotePort = socket.remotePort;
	}

	get outboundBytes(): number {
		return this.#queue?.bytes ?? 0;
	}

	protected localAddress(): Address | undefined {
		return this.#local;
	}

	protected remoteAddress(): Address | undefined {
		if (this.#local?.transport === "unix") return UNNAMED_PEER;
		const host = this.#remoteHost;
		return host === undefined ? undefined : tcpAddress(host, this.#remotePort, host.includes(":") ? "IPv6" : "IPv4");
	}

	override get tls(): TlsSession | undefined {
		return this.#session;
	}

	onHandshake(socket: BunSocket, failure: Error | undefined): void {
		if (failure === undefined) this.#session = sessionOf(socket);
		else {
			// Bun's close that follows carries no error: the handshake's is the reason. A close, not a
			// reset: the peer gets the alert that says why.
			this.#handshakeFailure = failure;
			socket.end();
		}
	}

	onData(chunk: Uint8Array): void {
		// Bun hands a fresh buffer to each call (checked by a regression test), so no copy is needed.
		this.received(chunk);
	}

	onDrain(): void {
		if ((this.#queue?.flush(this.#socket) ?? true) && this.isEnding) this.#sendFin();
		this.drained();
	}

	onEnd(): void {
		this.receivedEnd();
	}

	onClose(error?: Error): void {
		// The queue's count stays: `outboundBytes` after a close is what was never sent.
		this.#queue?.drop();
		this.terminated(this.#handshakeFailure ?? error);
	}

	protected transmit(bytes: Uint8Array): boolean {
		this.#queue ??= new OutboundQueue();
		this.#queue.send(bytes, this.#socket);
		return this.#queue.bytes < this.highWaterMark;
	}

	protected finish(): void {
		if (this.outboundBytes === 0) this.#sendFin();
	}

	protected abort(error?: Error): void {
		this.#queue?.drop();
		if (error) this.#socket.terminate();
		else this.#socket.end();
	}

	protected override get source(): Pausable {
		return this.#socket;
	}

	#sendFin(): void {
		if (this.isFinished || this.isTerminated) return;
		this.finished();
		// shutdown() is the half-close; once the peer has also finished, a full close ends the socket.
		if (this.peerFinished) this.#socket.end();
		else this.#socket.shutdown();
	}
}
