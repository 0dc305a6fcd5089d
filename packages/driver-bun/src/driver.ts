import { unlink } from "node:fs/promises";
import {
	type Address,
	type Connection,
	ConnectionError,
	type ConnectOptions,
	DEFAULT_HIGH_WATER_MARK,
	type Driver,
	type Listener,
	type ListenOptions,
	type TcpAddress,
	type TcpListenOptions,
	type UnixAddress,
	type UnixListenOptions,
} from "@echo-cli/core";
import {
	BaseConnection,
	BaseListener,
	bindAddress,
	clearStaleUnixSocket,
	connectionErrorFrom,
	hostPort,
	listenErrorFrom,
	sharedHost,
	tcpAddress,
} from "@echo-cli/core/driver";
import type { Socket, SocketHandler } from "bun";

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
 * Bun running `close` inside `end()` or `terminate()`.
 */
export class BunDriver implements Driver {
	readonly name = "bun";

	listen(options: UnixListenOptions): Promise<Listener<UnixAddress>>;
	listen(options?: TcpListenOptions): Promise<Listener<TcpAddress>>;
	listen(options?: ListenOptions): Promise<Listener>;
	async listen(options: ListenOptions = {}): Promise<Listener> {
		const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
		const host = options.host ?? "127.0.0.1";
		const port = options.port ?? 0;
		let listener: BunListener | undefined;
		const handlers = socketHandlers((socket) => {
			const connection = new BunConnection(socket, highWaterMark, listener?.address);
			listener?.take(connection);
			return connection;
		});
		if (options.path) await clearStaleUnixSocket(options.path, this);
		let server: { stop(closeActiveConnections?: boolean): void };
		let address: Address;
		try {
			if (options.path) {
				server = Bun.listen<BunConnection | undefined>({ unix: options.path, socket: handlers, allowHalfOpen: true });
				address = { transport: "unix", path: options.path };
			} else {
				const bound = await bindAddress(host, port);
				const tcp = Bun.listen<BunConnection | undefined>({
					hostname: bound.host,
					port,
					socket: handlers,
					allowHalfOpen: true,
				});
				server = tcp;
				address = tcpAddress(bound.host, tcp.port, bound.family);
			}
		} catch (error) {
			throw listenErrorFrom(error, options.path ?? hostPort(host, port));
		}
		listener = new BunListener(server, address, options);
		return listener;
	}

	async connect(address: Address, options: ConnectOptions = {}): Promise<Connection> {
		const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
		let connection: BunConnection | undefined;
		const handlers = socketHandlers((socket) => {
			connection = new BunConnection(socket, highWaterMark, address.transport === "unix" ? address : undefined);
			return connection;
		});
		try {
			if (address.transport === "unix") {
				await Bun.connect<BunConnection | undefined>({ unix: address.path, socket: handlers, allowHalfOpen: true });
			} else {
				const { host: hostname, port } = address;
				await Bun.connect<BunConnection | undefined>({ hostname, port, socket: handlers, allowHalfOpen: true });
			}
		} catch (error) {
			throw connectionErrorFrom(error);
		}
		if (!connection) throw new ConnectionError("closed", "the connection closed while it was being opened");
		return connection;
	}
}

/** One handler object per listener; per-socket state lives in `socket.data`. */
function socketHandlers(open: (socket: BunSocket) => BunConnection): SocketHandler<BunConnection | undefined> {
	return {
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

/** The peer of a unix socket connection has no name of its own. */
const UNNAMED: UnixAddress = { transport: "unix", path: "" };
const WILDCARDS = new Set(["0.0.0.0", "::"]);

class BunConnection extends BaseConnection {
	readonly #socket: BunSocket;
	readonly #local: Address | undefined;
	/** The peer's host (a shared string) and port: cheaper to hold than an address object. */
	readonly #remoteHost: string | undefined;
	readonly #remotePort: number;
	/** Bytes the kernel has not taken yet, in order; the head may be a partly sent view. */
	#queue: Uint8Array[] | undefined;
	#queued = 0;

	/** `bound` is the listener's address for an accepted connection, the socket file's for a unix client. */
	constructor(socket: BunSocket, highWaterMark: number, bound: Address | undefined) {
		super(highWaterMark);
		this.#socket = socket;
		// Captured now, since a closed socket can no longer tell; the listener's own address is shared when it is exact.
		const tcp = bound?.transport !== "unix";
		this.#local = tcp && (!bound || WILDCARDS.has(bound.host)) ? bunAddress(socket, "local") : bound;
		this.#remoteHost = tcp && socket.remoteAddress ? sharedHost(socket.remoteAddress) : undefined;
		this.#remotePort = socket.remotePort;
	}

	get outboundBytes(): number {
		return this.#queued;
	}

	protected localAddress(): Address | undefined {
		return this.#local;
	}

	protected remoteAddress(): Address | undefined {
		if (this.#local?.transport === "unix") return UNNAMED;
		const host = this.#remoteHost;
		return host === undefined ? undefined : tcpAddress(host, this.#remotePort, host.includes(":") ? "IPv6" : "IPv4");
	}

	onData(chunk: Uint8Array): void {
		// Bun hands a fresh buffer to each call (checked by a regression test), so no copy is needed.
		this.received(chunk);
	}

	onDrain(): void {
		this.#flush();
		if (this.#queued === 0 && this.isEnding) this.#sendFin();
		this.drained();
	}

	onEnd(): void {
		this.receivedEnd();
	}

	onClose(error?: Error): void {
		// `#queued` keeps counting what was never sent: `outboundBytes` after a close.
		this.#queue = undefined;
		if (error === undefined && this.isEnding && !this.isFinished) {
			this.terminated(new ConnectionError("closed", "the connection closed before queued bytes were sent"));
			return;
		}
		this.terminated(error);
	}

	protected transmit(bytes: Uint8Array): boolean {
		if (this.#queued > 0) {
			this.#enqueue(bytes);
		} else {
			const sent = this.#socket.write(bytes);
			if (sent < bytes.byteLength) this.#enqueue(sent > 0 ? bytes.subarray(sent) : bytes);
		}
		return this.#queued < this.highWaterMark;
	}

	#enqueue(bytes: Uint8Array): void {
		if (this.#queue) this.#queue.push(bytes);
		else this.#queue = [bytes];
		this.#queued += bytes.byteLength;
	}

	protected finish(): void {
		if (this.#queued === 0) this.#sendFin();
	}

	protected abort(error?: Error): void {
		this.#queue = undefined;
		if (error) this.#socket.terminate();
		else this.#socket.end();
	}

	protected pauseSource(): void {
		this.#socket.pause();
	}

	protected resumeSource(): void {
		this.#socket.resume();
	}

	/** Writes queued bytes until the kernel takes less than offered. */
	#flush(): void {
		const queue = this.#queue;
		while (queue && queue.length > 0) {
			const head = queue[0] as Uint8Array;
			const sent = this.#socket.write(head);
			if (sent < 0) return;
			this.#queued -= sent;
			if (sent < head.byteLength) {
				queue[0] = head.subarray(sent);
				return;
			}
			queue.shift();
		}
		if (this.#queue === queue && queue?.length === 0) this.#queue = undefined;
	}

	#sendFin(): void {
		if (this.isFinished || this.isTerminated) return;
		this.finished();
		// shutdown() is the half-close; once the peer has also finished, a full close ends the socket.
		if (this.peerFinished) this.#socket.end();
		else this.#socket.shutdown();
	}
}

function bunAddress(socket: BunSocket, side: "local" | "remote"): Address | undefined {
	const host = side === "local" ? socket.localAddress : socket.remoteAddress;
	const port = side === "local" ? socket.localPort : socket.remotePort;
	if (!host) return undefined;
	return tcpAddress(
		host,
		port,
		(side === "local" ? socket.localFamily : socket.remoteFamily) === "IPv6" ? "IPv6" : "IPv4",
	);
}
