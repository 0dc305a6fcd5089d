import type { Address, Connection, Receiver } from "../contract.ts";
import { ConnectionError, connectionErrorFrom, MisuseError } from "../errors.ts";

interface Waiter<T> {
	resolve(value: T): void;
	reject(error: Error): void;
}

export type CloseListener = (connection: Connection) => void;

const settled: Promise<void> = Promise.resolve();
/** The shared empty inbound queue; replaced by a real array on the first queued chunk. */
const EMPTY: (Uint8Array | undefined)[] = [];

/**
 * The part of {@link Connection} that is the same in every driver: the
 * inbound queue with read backpressure, the pull and push paths and their
 * single-reader rule, write waiters, end/close ordering and the `closed`
 * promise.
 *
 * A driver extends it and implements the abstract members over its socket
 * (`transmit`, `finish`, `abort`, `pauseSource`, `resumeSource`,
 * `outboundBytes`, the two addresses). It reports socket events back by calling the protected
 * `received*`, `drained`, `finished` and `terminated` methods, each of which
 * is safe to call at any time, more than once, and from inside another hook
 * (Bun runs `close` handlers synchronously inside `end()`).
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
	/** The socket is paused. */
	#paused = false;
	/** `pause()` is in effect. */
	#held = false;
	/** A send or write found the outbound queue at its mark; cleared by `drained()`. */
	#full = false;
	#reader: Waiter<Uint8Array | null> | undefined;
	#receiver: Receiver | undefined;
	#writers: Waiter<void>[] | undefined;
	#ending: Promise<void> | undefined;
	#endWaiter: Waiter<void> | undefined;
	#finished = false;
	#terminated = false;
	#error: ConnectionError | undefined;
	#closeListeners: CloseListener | CloseListener[] | undefined;
	#closed: Promise<void> | undefined;

	protected readonly highWaterMark: number;

	constructor(highWaterMark: number) {
		this.highWaterMark = highWaterMark;
	}

	/**
	 * Our end's address, as captured when the connection opened: it must
	 * stay valid after the socket is gone. Keep it cheap (a shared host
	 * string and a port), since servers hold many idle connections.
	 */
	protected abstract localAddress(): Address | undefined;
	/** The peer's address, captured like {@link localAddress}. */
	protected abstract remoteAddress(): Address | undefined;

	get local(): Address | undefined {
		return this.localAddress();
	}

	get remote(): Address | undefined {
		return this.remoteAddress();
	}

	get closed(): Promise<void> {
		this.#closed ??= this.#terminated
			? Promise.resolve()
			: new Promise((resolve) => {
					this.whenClosed(() => resolve());
				});
		return this.#closed;
	}

	whenClosed(listener: CloseListener): void {
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
		if (this.#reader || this.#receiver) return Promise.reject(concurrentRead());
		if (this.#head < this.#chunks.length) return Promise.resolve(this.#shift());
		if (this.#peerEnded) return Promise.resolve(null);
		if (this.#terminated) return this.#error ? Promise.reject(this.#error) : Promise.resolve(null);
		return new Promise((resolve, reject) => {
			this.#reader = { resolve, reject };
		});
	}

	receive(receiver: Receiver): void {
		if (this.#reader || this.#receiver) throw concurrentRead();
		this.#receiver = receiver;
		if (this.#terminated) this.#stopReceiving(this.#error);
		else this.#deliver();
	}

	send(bytes: Uint8Array): boolean {
		if (this.#ending) throw writeAfterEnd();
		if (this.#terminated) return false;
		if (bytes.byteLength > 0) {
			this.bytesWritten += bytes.byteLength;
			if (!this.transmit(bytes) && !this.#full) {
				this.#full = true;
				if (this.#receiver) this.#updateFlow();
			}
		}
		return !this.#full;
	}

	write(bytes: Uint8Array): Promise<void> {
		if (this.#ending) return Promise.reject(writeAfterEnd());
		if (this.#terminated) return Promise.reject(this.#error ?? closedError());
		if (this.send(bytes)) return settled;
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

	pause(): void {
		if (this.#held) return;
		this.#held = true;
		this.#updateFlow();
	}

	resume(): void {
		if (!this.#held) return;
		this.#held = false;
		this.#deliver();
		this.#updateFlow();
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
		const receiver = this.#receiver;
		if (receiver !== undefined && !this.#full && !this.#held && this.#head === this.#chunks.length) {
			this.#hand(receiver, chunk);
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
		if (!this.#paused && (this.#inbound >= this.highWaterMark || receiver !== undefined)) this.#updateFlow();
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
		this.#deliver();
	}

	/** The outbound queue fell below the high-water mark. Spurious calls are harmless. */
	protected drained(): void {
		if (this.outboundBytes >= this.highWaterMark) return;
		this.#full = false;
		const writers = this.#writers;
		if (writers) {
			this.#writers = undefined;
			for (const writer of writers) writer.resolve();
		}
		if (this.#receiver) {
			this.#deliver();
			this.#updateFlow();
		}
	}

	/** Our FIN went out after everything queued before it. */
	protected finished(): void {
		if (this.#finished) return;
		this.#finished = true;
		// Everything written before end() is out; runtimes need not emit a drain for it.
		this.#full = false;
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
		if (this.#receiver) this.#stopReceiving(this.#error);
		const listeners = this.#closeListeners;
		this.#closeListeners = undefined;
		if (typeof listeners === "function") listeners(this);
		else for (const listener of listeners ?? []) listener(this);
	}

	/** Hands queued chunks to the receiver while nothing holds it back; then the end, once the peer's FIN is next. */
	#deliver(): void {
		const receiver = this.#receiver;
		if (receiver === undefined) return;
		while (!this.#full && !this.#held && this.#head < this.#chunks.length) {
			this.#hand(receiver, this.#shift());
			if (this.#receiver !== receiver) return;
		}
		if (this.#peerEnded && this.#head === this.#chunks.length && !this.#full && !this.#held) {
			this.#stopReceiving(undefined);
		}
	}

	#hand(receiver: Receiver, chunk: Uint8Array): void {
		try {
			receiver.data(chunk, this);
		} catch (error) {
			this.#failReceiver(receiver, error);
		}
	}

	/** Tells the receiver it is done: `end` without an error, `error` with one. Cleared first, since either may close the connection synchronously (Bun). */
	#stopReceiving(error: ConnectionError | undefined): void {
		const receiver = this.#receiver as Receiver;
		this.#receiver = undefined;
		this.#updateFlow();
		if (error) {
			receiver.error?.(error, this);
			return;
		}
		try {
			receiver.end(this);
		} catch (thrown) {
			this.#failReceiver(receiver, thrown);
		}
	}

	/** A receiver method threw: it hears why, then the connection is aborted with it. */
	#failReceiver(receiver: Receiver, error: unknown): void {
		this.#receiver = undefined;
		try {
			receiver.error?.(error, this);
		} finally {
			this.close(error instanceof Error ? error : new Error(String(error)));
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
	 * Pauses the socket while the inbound queue is at its mark, while the
	 * push path is held back (outbound queue at its mark, or `pause()`), and
	 * while `pause()` holds a pull reader, unless we only discard. A full
	 * outbound queue alone does not pause a pull reader: a full-duplex client
	 * that writes and reads at once would then deadlock with an echo server.
	 * Writers are held back by `write()` instead.
	 */
	#updateFlow(): void {
		if (this.#terminated) return;
		const blocked = this.#held || (this.#receiver !== undefined && this.#full);
		const full = !this.#discarding && (this.#inbound >= this.highWaterMark || blocked);
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

function concurrentRead(): MisuseError {
	return new MisuseError(
		"concurrent-read",
		"read() or receive() called while another read() is pending or receive() is active; one reader at a time",
	);
}

function writeAfterEnd(): MisuseError {
	return new MisuseError("write-after-end", "write() or send() called after end(); nothing more can be sent");
}

function toIteratorResult(chunk: Uint8Array | null): IteratorResult<Uint8Array> {
	return chunk === null ? { done: true, value: undefined } : { done: false, value: chunk };
}
