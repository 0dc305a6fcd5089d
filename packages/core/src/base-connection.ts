import type { Address, Connection } from "./contract.ts";
import { ConnectionError, connectionErrorFrom, MisuseError } from "./errors.ts";

interface Waiter<T> {
	resolve(value: T): void;
	reject(error: Error): void;
}

export type CloseListener = (connection: Connection) => void;
export type EchoDone = (connection: BaseConnection, error?: Error) => void;

const settled: Promise<void> = Promise.resolve();
/** The shared empty inbound queue; replaced by a real array on the first queued chunk. */
const EMPTY: (Uint8Array | undefined)[] = [];

/**
 * The part of {@link Connection} that is the same in every driver: the
 * inbound queue with read backpressure, the single-reader rule, write
 * waiters, end/close ordering and the `closed` promise.
 *
 * A driver extends it and implements the abstract members over its socket
 * (`transmit`, `finish`, `abort`, `pauseSource`, `resumeSource`,
 * `outboundBytes`, and the two address look-ups). It reports
 * socket events back by calling the protected `received*`, `drained`,
 * `finished` and `terminated` methods, each of which is safe to call at any
 * time, more than once, and from inside another hook (Bun runs `close`
 * handlers synchronously inside `end()`).
 */
export abstract class BaseConnection implements Connection {
	bytesRead = 0;
	bytesWritten = 0;

	// Kept small and lazy: a server may hold tens of thousands of idle connections.
	#chunks: (Uint8Array | undefined)[] = EMPTY;
	#head = 0;
	#inbound = 0;
	#peerEnded = false;
	#discarding = false;
	#paused = false;
	#reader: Waiter<Uint8Array | null> | undefined;
	#writers: Waiter<void>[] | undefined;
	#ending: Promise<void> | undefined;
	#endWaiter: Waiter<void> | undefined;
	#finished = false;
	#terminated = false;
	#error: ConnectionError | undefined;
	#closeListeners: CloseListener | CloseListener[] | undefined;
	#closed: Promise<void> | undefined;
	#local: Address | undefined;
	#remote: Address | undefined;
	/** Set while the in-place echo runs. */
	#echo: EchoDone | undefined;
	/** The in-place echo waits for the outbound queue to fall below its mark. */
	#echoWaiting = false;

	protected readonly highWaterMark: number;

	constructor(highWaterMark: number) {
		this.highWaterMark = highWaterMark;
	}

	/** The socket's own address; asked once, on first use. */
	protected abstract localAddress(): Address;
	/** The peer's address; asked once, on first use, which should be while the socket is open. */
	protected abstract remoteAddress(): Address;

	get local(): Address {
		this.#local ??= this.localAddress();
		return this.#local;
	}

	get remote(): Address {
		this.#remote ??= this.remoteAddress();
		return this.#remote;
	}

	get closed(): Promise<void> {
		this.#closed ??= this.#terminated
			? Promise.resolve()
			: new Promise((resolve) => {
					this.onceClosed(() => resolve());
				});
		return this.#closed;
	}

	/**
	 * Calls `listener` with this connection once both directions are closed,
	 * or at once if they are: the moment `closed` settles, without a promise
	 * per connection.
	 */
	onceClosed(listener: CloseListener): void {
		if (this.#terminated) {
			listener(this);
			return;
		}
		const current = this.#closeListeners;
		if (current === undefined) this.#closeListeners = listener;
		else if (typeof current === "function") this.#closeListeners = [current, listener];
		else current.push(listener);
	}

	/** Hands `bytes` to the socket. Returns false once `outboundBytes` has reached the high-water mark. */
	protected abstract transmit(bytes: Uint8Array): boolean;
	/** Flushes what is queued, then sends FIN; calls `finished()` when done. */
	protected abstract finish(): void;
	/** Drops everything and closes now; with an error, the peer should see a reset. */
	protected abstract abort(error?: Error): void;
	protected abstract pauseSource(): void;
	protected abstract resumeSource(): void;
	abstract readonly outboundBytes: number;

	get inboundBytes(): number {
		return this.#inbound;
	}

	get error(): ConnectionError | undefined {
		return this.#error;
	}

	/** True once `close()` was called or the socket closed. */
	protected get isTerminated(): boolean {
		return this.#terminated;
	}

	read(): Promise<Uint8Array | null> {
		if (this.#reader || this.#echo) {
			return Promise.reject(
				new MisuseError("concurrent-read", "read() called while another read() is pending; await each read first"),
			);
		}
		if (this.#head < this.#chunks.length) return Promise.resolve(this.#shift());
		if (this.#peerEnded) return Promise.resolve(null);
		if (this.#terminated) return this.#error ? Promise.reject(this.#error) : Promise.resolve(null);
		return new Promise((resolve, reject) => {
			this.#reader = { resolve, reject };
		});
	}

	write(bytes: Uint8Array): Promise<void> {
		if (this.#ending) {
			return Promise.reject(new MisuseError("write-after-end", "write() called after end(); nothing more can be sent"));
		}
		if (this.#terminated) return Promise.reject(this.#error ?? closedError());
		if (bytes.byteLength === 0) return settled;
		this.bytesWritten += bytes.byteLength;
		if (this.transmit(bytes)) return settled;
		return new Promise((resolve, reject) => {
			this.#writers ??= [];
			this.#writers.push({ resolve, reject });
		});
	}

	end(): Promise<void> {
		if (this.#ending) return this.#ending;
		if (this.#terminated) {
			this.#ending = Promise.reject(this.#error ?? closedError());
		} else {
			this.#ending = new Promise((resolve, reject) => {
				this.#endWaiter = { resolve, reject };
			});
			this.finish();
		}
		// end() is often fire-and-forget; a lost connection is reported through `closed` and `error`.
		this.#ending.catch(() => {});
		return this.#ending;
	}

	close(error?: Error): void {
		if (this.#terminated) return;
		const failure = error
			? error instanceof ConnectionError
				? error
				: new ConnectionError("aborted", `the connection was aborted: ${error.message}`, { cause: error })
			: undefined;
		// Settle first: Bun runs its close handler synchronously inside abort().
		this.terminated(failure);
		this.abort(failure);
	}

	/**
	 * The echo handler, fused into the connection: each chunk goes back to the
	 * peer as it arrives, with no promise per chunk, exactly as
	 * `for (;;) { chunk = await read(); if (!chunk) break; await write(chunk) }`
	 * then `end()` would send it. While the outbound queue is at its mark,
	 * reading pauses, as it does while such a loop waits on `write()`.
	 * Resolves once the FIN is sent; rejects with the connection's error. It
	 * counts as the one pending read.
	 */
	echoInPlace(): Promise<void> {
		return new Promise((resolve, reject) => {
			this.echoThen((_, error) => (error ? reject(error) : resolve()));
		});
	}

	/**
	 * {@link echoInPlace} reporting to a callback instead of a promise, so
	 * that a server holding many connections pays nothing per connection for
	 * it: `done(connection)` once the FIN is sent, `done(connection, error)`
	 * when the connection fails first.
	 */
	echoThen(done: EchoDone): void {
		if (this.#reader || this.#echo) {
			done(this, new MisuseError("concurrent-read", "an echo was started while a read is pending"));
			return;
		}
		this.#echo = done;
		this.#pumpEcho();
	}

	stopReading(): void {
		this.#discarding = true;
		this.receivedEnd();
		this.#updateFlow();
	}

	[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
		return {
			next: () => this.read().then(toIteratorResult),
			return: () => Promise.resolve({ done: true, value: undefined }),
		};
	}

	async [Symbol.asyncDispose](): Promise<void> {
		this.close();
		await this.closed;
	}

	/** The driver got bytes from the peer. Ownership of `chunk` passes to the connection. */
	protected received(chunk: Uint8Array): void {
		if (this.#discarding || this.#terminated || chunk.byteLength === 0) return;
		this.bytesRead += chunk.byteLength;
		if (this.#echo && !this.#echoWaiting && this.#head === this.#chunks.length) {
			this.#echoChunk(chunk);
			return;
		}
		const reader = this.#reader;
		if (reader) {
			this.#reader = undefined;
			reader.resolve(chunk);
			return;
		}
		if (this.#chunks === EMPTY) this.#chunks = [];
		this.#chunks.push(chunk);
		this.#inbound += chunk.byteLength;
		if (!this.#paused && this.#inbound >= this.highWaterMark) this.#updateFlow();
	}

	/** The peer half-closed (FIN). */
	protected receivedEnd(): void {
		if (this.#peerEnded) return;
		this.#peerEnded = true;
		const reader = this.#reader;
		if (reader) {
			this.#reader = undefined;
			reader.resolve(null);
		}
		if (this.#echo) this.#pumpEcho();
	}

	/** The outbound queue fell below the high-water mark. Spurious calls are harmless. */
	protected drained(): void {
		if (this.outboundBytes >= this.highWaterMark) return;
		const writers = this.#writers;
		if (writers) {
			this.#writers = undefined;
			for (const writer of writers) writer.resolve();
		}
		if (this.#echoWaiting) {
			this.#echoWaiting = false;
			this.#pumpEcho();
			this.#updateFlow();
		}
	}

	/** Our FIN went out after everything queued before it. */
	protected finished(): void {
		if (this.#finished) return;
		this.#finished = true;
		// Everything written before end() is out; runtimes need not emit a drain for it.
		const writers = this.#writers;
		this.#writers = undefined;
		for (const writer of writers ?? []) writer.resolve();
		this.#endWaiter?.resolve();
		this.#endWaiter = undefined;
	}

	/** The socket is gone. Without an error the close was orderly. */
	protected terminated(error?: unknown): void {
		if (this.#terminated) return;
		this.#terminated = true;
		// An orderly close without a FIN first still means the peer sends no more.
		if (error !== undefined) this.#error = connectionErrorFrom(error);
		const failure = this.#error ?? closedError();
		const reader = this.#reader;
		this.#reader = undefined;
		if (reader) {
			if (this.#error) reader.reject(this.#error);
			else reader.resolve(null);
		}
		const writers = this.#writers;
		this.#writers = undefined;
		for (const writer of writers ?? []) writer.reject(failure);
		if (!this.#finished) this.#endWaiter?.reject(failure);
		this.#endWaiter = undefined;
		if (this.#echo) this.#pumpEcho();
		const listeners = this.#closeListeners;
		this.#closeListeners = undefined;
		if (typeof listeners === "function") listeners(this);
		else for (const listener of listeners ?? []) listener(this);
	}

	/** Sends queued chunks back while the outbound queue takes them; ends once the peer has. */
	#pumpEcho(): void {
		const done = this.#echo as EchoDone;
		if (this.#terminated) {
			this.#echo = undefined;
			done(this, this.#error);
			return;
		}
		while (!this.#echoWaiting && this.#head < this.#chunks.length) this.#echoChunk(this.#shift());
		if (!this.#echoWaiting && this.#peerEnded && this.#head === this.#chunks.length) {
			this.#echo = undefined;
			this.end().then(
				() => done(this),
				(error: Error) => done(this, error),
			);
		}
	}

	#echoChunk(chunk: Uint8Array): void {
		this.bytesWritten += chunk.byteLength;
		if (!this.transmit(chunk)) {
			this.#echoWaiting = true;
			this.#updateFlow();
		}
	}

	#shift(): Uint8Array {
		const chunk = this.#chunks[this.#head] as Uint8Array;
		this.#chunks[this.#head++] = undefined;
		if (this.#head === this.#chunks.length) {
			this.#chunks = EMPTY;
			this.#head = 0;
		}
		this.#inbound -= chunk.byteLength;
		if (this.#paused && this.#inbound < this.highWaterMark) this.#updateFlow();
		return chunk;
	}

	/**
	 * Pauses the socket while the inbound queue is at its mark or the in-place
	 * echo waits for a drain, unless we only discard. A full outbound queue
	 * alone does not pause reading: a full-duplex client that writes and
	 * reads at once would then deadlock with an echo server. Writers are held
	 * back by `write()` instead.
	 */
	#updateFlow(): void {
		if (this.#terminated) return;
		const full = !this.#discarding && (this.#inbound >= this.highWaterMark || this.#echoWaiting);
		if (full && !this.#paused) {
			this.#paused = true;
			this.pauseSource();
		} else if (!full && this.#paused) {
			this.#paused = false;
			this.resumeSource();
		}
	}
}

function closedError(): ConnectionError {
	return new ConnectionError("closed", "the connection is closed");
}

function toIteratorResult(chunk: Uint8Array | null): IteratorResult<Uint8Array> {
	return chunk === null ? { done: true, value: undefined } : { done: false, value: chunk };
}

/** Runs `listener` when `connection` closes: without a promise for the drivers' own connections. */
export function whenClosed(connection: Connection, listener: CloseListener): void {
	if (connection instanceof BaseConnection) connection.onceClosed(listener);
	else connection.closed.then(() => listener(connection));
}
