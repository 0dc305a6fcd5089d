import {
	type Address,
	type Connection,
	type ConnectOptions,
	DEFAULT_HIGH_WATER_MARK,
	type Listener,
	type ListenOptions,
	type TcpAddress,
} from "./contract.ts";
import { BaseConnection } from "./driver/base-connection.ts";
import { BaseDriver, type BindTarget } from "./driver/base-driver.ts";
import { BaseListener } from "./driver/base-listener.ts";
import { OutboundQueue } from "./driver/outbound-queue.ts";
import { ConnectionError, ListenError } from "./errors.ts";
import { hostPort } from "./format.ts";

export interface MemoryDriverOptions {
	/**
	 * The most bytes delivered to the peer at once: a number, or a function
	 * asked before each delivery (for random chunking). Default 64 KiB.
	 */
	readonly chunkSize?: number | (() => number);
}

const schedule: (task: () => void) => void =
	typeof setImmediate === "function" ? (task) => setImmediate(task) : (task) => setTimeout(task, 0);

/**
 * In-process connections as byte pipes, with the same backpressure and
 * half-close rules as the socket drivers and no sockets at all. Each
 * instance is its own network: ports are only visible to `connect()` on the
 * same driver.
 */
export class MemoryDriver extends BaseDriver {
	readonly name = "memory";
	protected override readonly unixSockets = false;
	readonly #listeners = new Map<number, MemoryListener>();
	#nextPort = 40000;

	readonly options: MemoryDriverOptions;

	constructor(options: MemoryDriverOptions = {}) {
		super();
		this.options = options;
	}

	protected bind(target: BindTarget): Listener {
		if (target.transport === "unix") throw new Error("unreachable: the memory driver has no unix sockets");
		const { host, family } = target;
		let port = target.port;
		if (!Number.isInteger(port) || port < 0 || port > 65535) {
			throw new ListenError("bad-address", `cannot listen on port ${port}: a port is a whole number from 0 to 65535`);
		}
		if (target.options.reusePort) {
			throw new ListenError("unavailable", "the memory driver has no SO_REUSEPORT: one listener per port");
		}
		if (target.options.tls) {
			throw new ListenError("unavailable", "the memory driver has no TLS: serve TLS with the node, bun or deno driver");
		}
		if (port === 0) {
			while (this.#listeners.has(this.#nextPort)) this.#nextPort++;
			port = this.#nextPort++;
		}
		if (this.#listeners.has(port)) {
			throw new ListenError("address-in-use", `address ${hostPort(host, port)} is already in use`);
		}
		const address: TcpAddress = { transport: "tcp", host, port, family };
		const listener = new MemoryListener(address, target.options, () => this.#listeners.delete(port));
		this.#listeners.set(port, listener);
		return listener;
	}

	async connect(address: Address, options: ConnectOptions = {}): Promise<Connection> {
		const listener = address.transport === "tcp" ? this.#listeners.get(address.port) : undefined;
		if (!listener) throw new ConnectionError("refused", "connection refused: nothing listens at that address");
		if (options.tls) throw new ConnectionError("tls", "the memory driver has no TLS");
		const remote: TcpAddress = { ...listener.address, port: this.#nextPort++ };
		const client = this.connection(options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, remote, listener.address);
		const server = this.connection(listener.highWaterMark, listener.address, remote);
		client.peer = server;
		server.peer = client;
		listener.take(server);
		return client;
	}

	/** Makes one end of a connection; the testing kit's broken drivers make broken ones. */
	protected connection(highWaterMark: number, local: Address, remote: Address): MemoryConnection {
		return new MemoryConnection(highWaterMark, local, remote, this.options);
	}
}

class MemoryListener extends BaseListener<TcpAddress> {
	readonly highWaterMark: number;
	readonly #release: () => void;

	constructor(address: TcpAddress, options: ListenOptions, release: () => void) {
		super(address, options);
		this.highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
		this.#release = release;
	}

	take(connection: MemoryConnection): void {
		this.accepted(connection);
	}

	protected async stop(): Promise<void> {
		this.#release();
	}
}

/**
 * One end of an in-memory connection. Bytes wait in an {@link OutboundQueue}
 * and move to the peer in chunks while its reading is not paused.
 */
export class MemoryConnection extends BaseConnection {
	peer!: MemoryConnection;
	protected readonly queue = new OutboundQueue();
	#scheduled = false;
	sourcePaused = false;

	readonly options: MemoryDriverOptions;
	readonly #local: Address;
	readonly #remote: Address;

	constructor(highWaterMark: number, local: Address, remote: Address, options: MemoryDriverOptions) {
		super(highWaterMark);
		this.#local = local;
		this.#remote = remote;
		this.options = options;
	}

	protected localAddress(): Address {
		return this.#local;
	}

	protected remoteAddress(): Address {
		return this.#remote;
	}

	get outboundBytes(): number {
		return this.queue.bytes;
	}

	protected transmit(bytes: Uint8Array): boolean {
		this.queue.push(bytes);
		this.schedulePump();
		return this.queue.bytes < this.highWaterMark;
	}

	protected finish(): void {
		this.schedulePump();
	}

	protected abort(error?: Error): void {
		this.queue.drop();
		const peer = this.peer;
		schedule(() => peer.terminated(error ? new ConnectionError("reset", "the peer reset the connection") : undefined));
	}

	protected pauseSource(): void {
		this.sourcePaused = true;
	}

	protected resumeSource(): void {
		this.sourcePaused = false;
		this.peer.schedulePump();
	}

	protected schedulePump(): void {
		if (this.#scheduled) return;
		this.#scheduled = true;
		schedule(() => this.#pump());
	}

	/** Moves queued bytes to the peer in chunks, as far as the peer's backpressure allows. */
	#pump(): void {
		this.#scheduled = false;
		const peer = this.peer;
		if (this.isTerminated) return;
		while (!this.queue.empty && !peer.sourcePaused && !peer.isTerminated) this.queue.flush(this.#sink);
		if (this.queue.empty && this.isEnding && !this.isFinished && !peer.isTerminated) {
			this.finished();
			peer.deliverEnd();
			this.#closeIfDone();
		}
		this.drained();
	}

	readonly #sink = { write: (bytes: Uint8Array): number => this.transfer(bytes) };

	/** Hands the peer the start of `bytes`, at most one chunk; returns how many bytes it took. */
	protected transfer(bytes: Uint8Array): number {
		const peer = this.peer;
		if (peer.sourcePaused || peer.isTerminated) return 0;
		const size = Math.max(1, this.nextChunkSize());
		const taken = Math.min(size, bytes.byteLength);
		// A copy: the peer owns what it receives.
		peer.deliver(bytes.slice(0, taken));
		return taken;
	}

	protected nextChunkSize(): number {
		const size = this.options.chunkSize ?? 64 * 1024;
		return typeof size === "function" ? size() : size;
	}

	/** Bytes from the peer. */
	deliver(chunk: Uint8Array): void {
		this.received(chunk);
	}

	deliverEnd(): void {
		this.receivedEnd();
		this.#closeIfDone();
	}

	/** Both FINs sent: the connection is over on both sides. */
	#closeIfDone(): void {
		if (this.isFinished && this.peer.isFinished) {
			this.terminated();
			this.peer.terminated();
		}
	}
}
