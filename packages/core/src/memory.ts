import {
	type Address,
	type Connection,
	type ConnectOptions,
	DEFAULT_HIGH_WATER_MARK,
	type Driver,
	type Listener,
	type ListenOptions,
	type TcpAddress,
	type TcpListenOptions,
	type UnixAddress,
	type UnixListenOptions,
} from "./contract.ts";
import { BaseConnection } from "./driver/base-connection.ts";
import { BaseListener } from "./driver/base-listener.ts";
import { ConnectionError, ListenError } from "./errors.ts";

/**
 * Faults the memory driver can inject, to prove that a test catches them
 * (exported by `@echo-cli/core/testing`).
 * Each mimics a real driver bug: a partial write whose tail is dropped
 * (Bun's `write()`), bytes decoded as text, chunks reordered, and a queue
 * lost at FIN (Bun with `allowHalfOpen: false`).
 */
export type MemoryFault = "drop-partial-tail" | "decode-text" | "reorder" | "lose-queued-at-fin";

export interface MemoryDriverOptions {
	/**
	 * The most bytes delivered to the peer at once: a number, or a function
	 * asked before each delivery (for random chunking). Default 64 KiB.
	 */
	readonly chunkSize?: number | (() => number);
	readonly fault?: MemoryFault;
}

const schedule: (task: () => void) => void =
	typeof setImmediate === "function" ? (task) => setImmediate(task) : (task) => setTimeout(task, 0);

/**
 * In-process connections as byte pipes, with the same backpressure and
 * half-close rules as the socket drivers and no sockets at all. Each
 * instance is its own network: ports are only visible to `connect()` on the
 * same driver.
 */
export class MemoryDriver implements Driver {
	readonly name = "memory";
	readonly #listeners = new Map<number, MemoryListener>();
	#nextPort = 40000;

	readonly options: MemoryDriverOptions;

	constructor(options: MemoryDriverOptions = {}) {
		this.options = options;
	}

	listen(options: UnixListenOptions): Promise<Listener<UnixAddress>>;
	listen(options?: TcpListenOptions): Promise<Listener<TcpAddress>>;
	listen(options?: ListenOptions): Promise<Listener>;
	async listen(options: ListenOptions = {}): Promise<Listener> {
		if (options.path !== undefined) {
			throw new ListenError("bad-address", `cannot listen on ${options.path}: the memory driver has no unix sockets`);
		}
		const host = options.host ?? "127.0.0.1";
		let port = options.port ?? 0;
		if (!Number.isInteger(port) || port < 0 || port > 65535) {
			throw new ListenError("bad-address", `cannot listen on port ${port}: a port is a whole number from 0 to 65535`);
		}
		if (port === 0) {
			while (this.#listeners.has(this.#nextPort)) this.#nextPort++;
			port = this.#nextPort++;
		}
		if (this.#listeners.has(port)) {
			throw new ListenError("address-in-use", `address ${host}:${port} is already in use`);
		}
		const address: TcpAddress = { transport: "tcp", host, port, family: host.includes(":") ? "IPv6" : "IPv4" };
		const listener = new MemoryListener(address, options, () => this.#listeners.delete(port));
		this.#listeners.set(port, listener);
		return listener;
	}

	async connect(address: Address, options: ConnectOptions = {}): Promise<Connection> {
		const listener = address.transport === "tcp" ? this.#listeners.get(address.port) : undefined;
		if (!listener) throw new ConnectionError("refused", "connection refused: nothing listens at that address");
		const remote: TcpAddress = { ...listener.address, port: this.#nextPort++ };
		const client = new MemoryConnection(
			options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
			remote,
			listener.address,
			this.options,
		);
		const server = new MemoryConnection(listener.highWaterMark, listener.address, remote, this.options);
		client.peer = server;
		server.peer = client;
		listener.take(server);
		return client;
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

class MemoryConnection extends BaseConnection {
	peer!: MemoryConnection;
	#queue: Uint8Array[] = [];
	#queued = 0;
	#scheduled = false;
	#ending = false;
	#finSent = false;
	sourcePaused = false;
	#reordered = false;

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
		return this.#queued;
	}

	protected transmit(bytes: Uint8Array): boolean {
		this.#queue.push(bytes);
		this.#queued += bytes.byteLength;
		this.#schedulePump();
		return this.#queued < this.highWaterMark;
	}

	protected finish(): void {
		this.#ending = true;
		if (this.options.fault === "lose-queued-at-fin") {
			this.#queue = [];
			this.#queued = 0;
		}
		this.#schedulePump();
	}

	protected abort(error?: Error): void {
		// `#queued` keeps counting what was dropped: `outboundBytes` after a close.
		this.#queue = [];
		const peer = this.peer;
		schedule(() => peer.terminated(error ? new ConnectionError("reset", "the peer reset the connection") : undefined));
	}

	protected pauseSource(): void {
		this.sourcePaused = true;
	}

	protected resumeSource(): void {
		this.sourcePaused = false;
		this.peer.#schedulePump();
	}

	#schedulePump(): void {
		if (this.#scheduled) return;
		this.#scheduled = true;
		schedule(() => this.#pump());
	}

	/** Moves queued bytes to the peer in chunks, as far as the peer's backpressure allows. */
	#pump(): void {
		this.#scheduled = false;
		const peer = this.peer;
		if (this.isTerminated) return;
		while (this.#queue.length > 0 && !peer.sourcePaused && !peer.isTerminated) {
			const head = this.#queue[0] as Uint8Array;
			const size = Math.max(1, this.#nextChunkSize());
			if (this.options.fault === "reorder" && !this.#reordered && this.#queue.length > 1) {
				this.#reordered = true;
				const second = this.#queue.splice(1, 1)[0] as Uint8Array;
				this.#queue.unshift(second);
				continue;
			}
			if (head.byteLength <= size) {
				this.#queue.shift();
				this.#queued -= head.byteLength;
				peer.deliver(head.slice());
			} else {
				this.#queued -= size;
				peer.deliver(head.slice(0, size));
				if (this.options.fault === "drop-partial-tail") {
					this.#queue.shift();
					this.#queued -= head.byteLength - size;
				} else {
					this.#queue[0] = head.subarray(size);
				}
			}
		}
		if (this.#queue.length === 0 && this.#ending && !this.#finSent && !peer.isTerminated) {
			this.#finSent = true;
			peer.deliverEnd();
			this.finished();
			this.#closeIfDone();
		}
		this.drained();
	}

	#nextChunkSize(): number {
		const size = this.options.chunkSize ?? 64 * 1024;
		return typeof size === "function" ? size() : size;
	}

	deliver(chunk: Uint8Array): void {
		if (this.options.fault === "decode-text") {
			chunk = new TextEncoder().encode(new TextDecoder().decode(chunk));
		}
		this.received(chunk);
	}

	deliverEnd(): void {
		this.receivedEnd();
		this.#closeIfDone();
	}

	get finSent(): boolean {
		return this.#finSent;
	}

	/** Both FINs sent: the connection is over on both sides. */
	#closeIfDone(): void {
		if (this.#finSent && this.peer.finSent) {
			this.terminated();
			this.peer.terminated();
		}
	}
}
