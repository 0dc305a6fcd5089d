import type { Address, Connection, Receiver, TlsSession } from "../contract.ts";
import { ConnectionError, connectionErrorFrom, MisuseError } from "../errors.ts";

interface Waiter<T> {
	resolve(value: T): void;
	reject(error: Error): void;
}

export type CloseListener = (connection: Connection) => void;

/** A socket's reading, as Node's, Bun's and a `Connection` pause and resume it. */
export interface Pausable {
	pause(): void;
	resume(): void;
}

const settled: Promise<void> = Promise.resolve();

/** Reads are over: the peer's FIN, or `stopReading()`. */
const READS_ENDED = 1;
/** `stopReading()`: what arrives is dropped. */
const DISCARDING = 2;
/** The socket is paused. */
const PAUSED = 4;
/** `pause()` is in effect. */
const HELD = 8;
/** A send or write found the outbound queue at its mark; cleared by `drained()`. */
const FULL = 16;
/** Our FIN went out. */
const FINISHED = 32;
/** `close()` was called or the socket closed. */
const TERMINATED = 64;
/** The driver reported the peer's FIN. */
const PEER_FIN = 128;

/** Connection state that an idle connection on the push path never needs. */
interface Rare {
	reader?: Waiter<Uint8Array | null> | undefined;
	writers?: Waiter<void>[] | undefined;
	ending?: Promise<void> | undefined;
	endWaiter?: Waiter<void> | undefined;
	error?: ConnectionError | undefined;
	closed?: Promise<void> | undefined;
	closeListeners?: CloseListener[] | undefined;
}
/** The shared empty inbound queue; replaced by a real array on the first queued chunk. */
const EMPTY: (Uint8Array | undefined)[] = [];

/**
 * The part of {@link Connection} that is the same in every driver: the
 * inbound queue with read backpressure, the pull and push paths and their
 * single-reader rule, write waiters, end/close ordering and the `closed`
 * promise.
 *
 * A driver extends it and implements the abstract members over its socket
 * (`transmit`, `finish`, `abort`, `source` or `pauseSource` and `resumeSource`,
 * `outboundBytes`, the two addresses). It reports socket events back by calling the protected
 * `received*`, `drained`, `finished` and `terminated` methods, each of which
 * is safe to call at any time, more than once, and from inside another hook
 * (Bun runs `close` handlers synchronously inside `end()`). What those calls
 * recorded it reads back from `isEnding`, `isFinished`, `peerFinished` and
 * `isTerminated` rather than keeping flags of its own.
 */
export abstract class BaseConnection implements Connection {
	bytesRead = 0;
	bytesWritten = 0;

	// Kept small and lazy: a server may hold tens of thousands of idle connections.
	#chunks: (Uint8Array | undefined)[] = EMPTY;
	#head = 0;
	#inbound = 0;
	/** The flags defined above (READS_ENDED ... PEER_FIN), in one field rather than one each. */
	#state = 0;
	#receiver: Receiver | undefined;
	/** The first two close listeners; more go to `rare.closeListeners`. */
	#closeListener: CloseListener | undefined;
	#closeListener2: CloseListener | undefined;
	/** What only the pull path, `end()` or a failure needs, allocated on first use. */
	#rare: Rare | undefined;

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

	/** Undefined here; a TLS connection's driver overrides it. */
	get tls(): TlsSession | undefined {
		return undefined;
	}

	get closed(): Promise<void> {
		const rare = this.#rareState();
		rare.closed ??= this.#is(TERMINATED)
			? Promise.resolve()
			: new Promise((resolve) => {
					this.whenClosed(() => resolve());
				});
		return rare.closed;
	}

	whenClosed(listener: CloseListener): void {
		if (this.#is(TERMINATED)) listener(this);
		else if (this.#closeListener === undefined) this.#closeListener = listener;
		else if (this.#closeListener2 === undefined) this.#closeListener2 = listener;
		else {
			const rare = this.#rareState();
			rare.closeListeners ??= [];
			rare.closeListeners.push(listener);
		}
	}

	/** Hands `bytes` to the socket. Returns false once `outboundBytes` has reached the high-water mark. */
	protected abstract transmit(bytes: Uint8Array): boolean;
	/** Flushes what is queued, then sends FIN; calls `finished()` when done. */
	protected abstract finish(): void;
	/** Drops everything and closes now; with an error, the peer should see a reset. */
	protected abstract abort(error?: Error): void;
	/**
	 * What reading pauses and resumes: the socket, or the connection under a
	 * layer. A driver whose source has no `pause()`/`resume()` overrides
	 * `pauseSource` and `resumeSource` instead.
	 */
	protected get source(): Pausable | undefined {
		return undefined;
	}

	/** Stops reading from the socket. */
	protected pauseSource(): void {
		this.source?.pause();
	}

	protected resumeSource(): void {
		this.source?.resume();
	}
	abstract readonly outboundBytes: number;

	get inboundBytes(): number {
		return this.#inbound;
	}

	get error(): ConnectionError | undefined {
		return this.#rare?.error;
	}

	/** True once `close()` was called or the socket closed. */
	protected get isTerminated(): boolean {
		return this.#is(TERMINATED);
	}

	/** True once `end()` was called: `finish()` has been asked to send FIN. */
	protected get isEnding(): boolean {
		return this.#rare?.ending !== undefined;
	}

	/** True once `finished()` was called: our FIN is out. */
	protected get isFinished(): boolean {
		return this.#is(FINISHED);
	}

	/** True once the driver reported the peer's FIN with `receivedEnd()`. */
	protected get peerFinished(): boolean {
		return this.#is(PEER_FIN);
	}

	read(): Promise<Uint8Array | null> {
		if (this.#rare?.reader || this.#receiver) return Promise.reject(concurrentRead());
		if (this.#head < this.#chunks.length) return Promise.resolve(this.#shift());
		if (this.#is(READS_ENDED)) return Promise.resolve(null);
		if (this.#is(TERMINATED)) return this.error ? Promise.reject(this.error) : Promise.resolve(null);
		const rare = this.#rareState();
		return new Promise((resolve, reject) => {
			rare.reader = { resolve, reject };
		});
	}

	receive(receiver: Receiver): void {
		if (this.#rare?.reader || this.#receiver) throw concurrentRead();
		this.#receiver = receiver;
		if (this.#is(TERMINATED)) this.#stopReceiving(this.error);
		else this.#deliver();
	}

	send(bytes: Uint8Array): boolean {
		if (this.#rare?.ending) throw writeAfterEnd();
		if (this.#is(TERMINATED)) return false;
		if (bytes.byteLength > 0) {
			this.bytesWritten += bytes.byteLength;
			if (!this.transmit(bytes) && !this.#is(FULL)) {
				this.#state |= FULL;
				if (this.#receiver) this.#updateFlow();
			}
		}
		return !this.#is(FULL);
	}

	write(bytes: Uint8Array): Promise<void> {
		if (this.#rare?.ending) return Promise.reject(writeAfterEnd());
		if (this.#is(TERMINATED)) return Promise.reject(this.error ?? closedError());
		if (this.send(bytes)) return settled;
		const rare = this.#rareState();
		rare.writers ??= [];
		const writers = rare.writers;
		return new Promise((resolve, reject) => {
			writers.push({ resolve, reject });
		});
	}

	end(): Promise<void> {
		const rare = this.#rareState();
		if (rare.ending) return rare.ending;
		if (this.#is(TERMINATED)) {
			rare.ending = Promise.reject(rare.error ?? closedError());
		} else {
			rare.ending = new Promise((resolve, reject) => {
				rare.endWaiter = { resolve, reject };
			});
			this.finish();
		}
		// end() is often fire-and-forget; a lost connection is reported through `closed` and `error`.
		rare.ending.catch(() => {});
		return rare.ending;
	}

	close(error?: Error): void {
		if (this.#is(TERMINATED)) return;
		const failure = error
			? error instanceof ConnectionError
				? error
				: new ConnectionError("aborted", `the connection was aborted: ${error.message}`, { cause: error })
			: undefined;
		// Settle first: Bun runs its close handler synchronously inside abort().
		this.#terminate(failure);
		this.abort(failure);
	}

	pause(): void {
		if (this.#is(HELD)) return;
		this.#state |= HELD;
		this.#updateFlow();
	}

	resume(): void {
		if (!this.#is(HELD)) return;
		this.#state &= ~HELD;
		this.#deliver();
		this.#updateFlow();
	}

	stopReading(): void {
		this.#state |= DISCARDING;
		this.#endReads();
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
		if ((this.#state & (DISCARDING | TERMINATED)) !== 0 || chunk.byteLength === 0) return;
		this.bytesRead += chunk.byteLength;
		const receiver = this.#receiver;
		if (receiver !== undefined) {
			if ((this.#state & (FULL | HELD)) === 0 && this.#head === this.#chunks.length) {
				this.#hand(receiver, chunk);
				return;
			}
		} else {
			const reader = this.#rare?.reader;
			if (reader) {
				(this.#rare as Rare).reader = undefined;
				reader.resolve(chunk);
				return;
			}
		}
		if (this.#chunks === EMPTY) this.#chunks = [];
		this.#chunks.push(chunk);
		this.#inbound += chunk.byteLength;
		if (!this.#is(PAUSED) && (this.#inbound >= this.highWaterMark || receiver !== undefined)) this.#updateFlow();
	}

	/** The peer half-closed (FIN). */
	protected receivedEnd(): void {
		this.#state |= PEER_FIN;
		this.#endReads();
	}

	/** No more data will be read: a pending read gets null, the receiver its `end` once the queue is empty. */
	#endReads(): void {
		if (this.#is(READS_ENDED)) return;
		this.#state |= READS_ENDED;
		const reader = this.#rare?.reader;
		if (reader) {
			(this.#rare as Rare).reader = undefined;
			reader.resolve(null);
		}
		this.#deliver();
	}

	/** The outbound queue fell below the high-water mark. Spurious calls are harmless. */
	protected drained(): void {
		// Nothing waits for room unless a send found the queue full: most drain calls end here.
		if (!this.#is(FULL) || this.outboundBytes >= this.highWaterMark) return;
		this.#state &= ~FULL;
		const rare = this.#rare;
		const writers = rare?.writers;
		if (writers) {
			(rare as Rare).writers = undefined;
			for (const writer of writers) writer.resolve();
		}
		if (this.#receiver) {
			this.#deliver();
			this.#updateFlow();
		}
	}

	/** Our FIN went out after everything queued before it. */
	protected finished(): void {
		// Everything written before end() is out; runtimes need not emit a drain for it.
		this.#state = (this.#state | FINISHED) & ~FULL;
		const rare = this.#rare;
		if (rare === undefined) return;
		const writers = rare.writers;
		rare.writers = undefined;
		for (const writer of writers ?? []) writer.resolve();
		// Also after an earlier call: a layer's FIN may go out (a limit reached) before its end() is called.
		rare.endWaiter?.resolve();
		rare.endWaiter = undefined;
	}

	/**
	 * The socket is gone. Without an error the close was orderly; but one
	 * that came while our FIN was still to go out (after `end()`, before
	 * `finished()`) lost what was queued, and fails with `closed`.
	 */
	protected terminated(error?: unknown): void {
		if (error === undefined && this.isEnding && !this.#is(FINISHED)) {
			this.#terminate(new ConnectionError("closed", "the connection closed before queued bytes were sent"));
		} else this.#terminate(error);
	}

	#terminate(error: unknown): void {
		if (this.#is(TERMINATED)) return;
		this.#state |= TERMINATED;
		// An orderly close without a FIN first still means the peer sends no more.
		if (error !== undefined) this.#rareState().error = connectionErrorFrom(error);
		const rare = this.#rare;
		if (rare !== undefined) {
			const failure = rare.error ?? closedError();
			const reader = rare.reader;
			rare.reader = undefined;
			if (reader) {
				if (rare.error) reader.reject(rare.error);
				else reader.resolve(null);
			}
			const writers = rare.writers;
			rare.writers = undefined;
			for (const writer of writers ?? []) writer.reject(failure);
			if (!this.#is(FINISHED)) rare.endWaiter?.reject(failure);
			rare.endWaiter = undefined;
		}
		if (this.#receiver) this.#stopReceiving(this.error);
		const first = this.#closeListener;
		const second = this.#closeListener2;
		const more = this.#rare?.closeListeners;
		this.#closeListener = undefined;
		this.#closeListener2 = undefined;
		if (more) (this.#rare as Rare).closeListeners = undefined;
		first?.(this);
		second?.(this);
		for (const listener of more ?? []) listener(this);
	}

	#is(bit: number): boolean {
		return (this.#state & bit) !== 0;
	}

	#rareState(): Rare {
		this.#rare ??= {};
		return this.#rare;
	}

	/** Hands queued chunks to the receiver while nothing holds it back; then the end, once the peer's FIN is next. */
	#deliver(): void {
		const receiver = this.#receiver;
		if (receiver === undefined) return;
		while ((this.#state & (FULL | HELD)) === 0 && this.#head < this.#chunks.length) {
			this.#hand(receiver, this.#shift());
			if (this.#receiver !== receiver) return;
		}
		if ((this.#state & (READS_ENDED | FULL | HELD)) === READS_ENDED && this.#head === this.#chunks.length) {
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
		if (this.#is(PAUSED) && this.#inbound < this.highWaterMark) this.#updateFlow();
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
		const state = this.#state;
		if ((state & TERMINATED) !== 0) return;
		const blocked = (state & HELD) !== 0 || (this.#receiver !== undefined && (state & FULL) !== 0);
		const full = (state & DISCARDING) === 0 && (this.#inbound >= this.highWaterMark || blocked);
		if (full && (state & PAUSED) === 0) {
			this.#state |= PAUSED;
			this.pauseSource();
		} else if (!full && (state & PAUSED) !== 0) {
			this.#state &= ~PAUSED;
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
