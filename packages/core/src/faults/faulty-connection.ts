import type { Address, Connection, Receiver } from "../contract.ts";
import { ConnectionError, MisuseError } from "../errors.ts";
import type { Out, Stage } from "./pipeline.ts";
import { stageOf } from "./registry.ts";
import type { Fault } from "./spec.ts";

const EMPTY = new Uint8Array(0);

/** The end of the pipeline: the real connection, whose full queue holds the stages back. */
class ConnectionOut implements Out {
	ready = true;
	/** Settles with the connection's own `end()`, once the stages let the FIN go. */
	ended: Promise<void> | undefined;
	readonly #connection: Connection;
	#callbacks: (() => void)[] = [];
	#finish: (() => void) | undefined;

	constructor(connection: Connection, finish: () => void) {
		this.#connection = connection;
		this.#finish = finish;
	}

	push(bytes: Uint8Array): void {
		if (this.#connection.send(bytes) || !this.ready) return;
		this.ready = false;
		// An empty write settles once the queue has room again.
		this.#connection.write(EMPTY).then(
			() => {
				this.ready = true;
				for (const callback of this.#callbacks.splice(0)) callback();
			},
			() => {},
		);
	}

	finish(): void {
		this.ended ??= this.#connection.end();
		this.#finish?.();
		this.#finish = undefined;
	}

	onReady(callback: () => void): void {
		if (this.ready) callback();
		else this.#callbacks.push(callback);
	}
}

/**
 * A connection whose outbound bytes go through fault stages before the real
 * one. Reads, addresses and counters of the peer's side are the real
 * connection's; bytes held by a stage count against the high-water mark, so
 * a peer that does not read still bounds memory.
 */
export class FaultyConnection implements Connection {
	bytesWritten = 0;
	readonly #inner: Connection;
	readonly #stages: Stage[];
	readonly #head: Out;
	readonly #out: ConnectionOut;
	readonly #highWaterMark: number;
	#ending: Promise<void> | undefined;
	#endWaiter: { resolve(): void; reject(error: unknown): void } | undefined;
	#closed = false;
	#holding = false;
	#paused = false;
	#roomWaiters: { resolve(): void; reject(error: unknown): void }[] = [];

	constructor(inner: Connection, faults: readonly Fault[], random: () => number, highWaterMark: number) {
		this.#inner = inner;
		this.#highWaterMark = highWaterMark;
		this.#out = new ConnectionOut(inner, () => this.#ended());
		this.#stages = [];
		let next: Out = this.#out;
		for (const fault of [...faults].reverse()) {
			const made = stageOf(fault, { connection: inner, next, random, released: () => this.#update() });
			this.#stages.unshift(made);
			next = made;
		}
		this.#head = next;
		this.#out.onReady(() => this.#update());
		inner.whenClosed(() => {
			this.#closed = true;
			for (const s of this.#stages) s.stop?.();
			const error = inner.error ?? new ConnectionError("closed", "the connection is closed");
			for (const waiter of this.#roomWaiters.splice(0)) waiter.reject(error);
			this.#endWaiter?.reject(error);
			this.#endWaiter = undefined;
		});
		for (const s of this.#stages) if (!this.#closed) s.start?.();
	}

	get local(): Address | undefined {
		return this.#inner.local;
	}
	get remote(): Address | undefined {
		return this.#inner.remote;
	}
	get closed(): Promise<void> {
		return this.#inner.closed;
	}
	get error(): ConnectionError | undefined {
		return this.#inner.error;
	}
	get inboundBytes(): number {
		return this.#inner.inboundBytes;
	}
	get bytesRead(): number {
		return this.#inner.bytesRead;
	}
	get outboundBytes(): number {
		return this.#inner.outboundBytes + this.#held();
	}

	read(): Promise<Uint8Array | null> {
		return this.#inner.read();
	}

	receive(receiver: Receiver): void {
		this.#inner.receive({
			data: (chunk) => receiver.data(chunk, this),
			end: () => receiver.end(this),
			error: (error) => receiver.error?.(error, this),
		});
	}

	send(bytes: Uint8Array): boolean {
		if (this.#ending)
			throw new MisuseError("write-after-end", "write() or send() called after end(); nothing more can be sent");
		if (this.#closed) return false;
		if (bytes.byteLength > 0) {
			this.bytesWritten += bytes.byteLength;
			this.#head.push(bytes);
			this.#update();
		}
		return this.#hasRoom();
	}

	write(bytes: Uint8Array): Promise<void> {
		if (this.#ending) {
			return Promise.reject(new MisuseError("write-after-end", "write() called after end(); nothing more can be sent"));
		}
		if (this.#closed)
			return Promise.reject(this.#inner.error ?? new ConnectionError("closed", "the connection is closed"));
		if (this.send(bytes)) return Promise.resolve();
		return new Promise((resolve, reject) => this.#roomWaiters.push({ resolve, reject }));
	}

	end(): Promise<void> {
		this.#ending ??= this.#closed
			? Promise.reject(this.#inner.error ?? new ConnectionError("closed", "the connection is closed"))
			: new Promise<void>((resolve, reject) => {
					this.#endWaiter = { resolve, reject };
					this.#head.finish();
					// A stage may have let the FIN go already (a limit reached).
					if (this.#out.ended) this.#ended();
				});
		this.#ending.catch(() => {});
		return this.#ending;
	}

	close(error?: Error): void {
		this.#inner.close(error);
	}

	pause(): void {
		this.#paused = true;
		this.#inner.pause();
	}

	resume(): void {
		this.#paused = false;
		if (!this.#holding) this.#inner.resume();
	}

	stopReading(): void {
		this.#inner.stopReading();
	}

	whenClosed(listener: (connection: Connection) => void): void {
		this.#inner.whenClosed(() => listener(this));
	}

	[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
		return {
			next: () =>
				this.read().then((chunk) =>
					chunk === null ? { done: true, value: undefined } : { done: false, value: chunk },
				),
			return: () => Promise.resolve({ done: true, value: undefined }),
		};
	}

	async [Symbol.asyncDispose](): Promise<void> {
		this.close();
		await this.closed;
	}

	#held(): number {
		let held = 0;
		for (const s of this.#stages) held += s.held;
		return held;
	}

	#hasRoom(): boolean {
		return this.#out.ready && this.outboundBytes < this.#highWaterMark;
	}

	/** Holds the peer's side while the stages hold a high-water mark of bytes; wakes writers when there is room. */
	#update(): void {
		if (this.#closed) return;
		const holding = this.#held() >= this.#highWaterMark;
		if (holding !== this.#holding) {
			this.#holding = holding;
			if (holding) this.#inner.pause();
			else if (!this.#paused) this.#inner.resume();
		}
		if (this.#roomWaiters.length > 0 && this.#hasRoom()) {
			for (const waiter of this.#roomWaiters.splice(0)) waiter.resolve();
		}
	}

	/** The FIN left the stages: `end()` settles with the real connection's. */
	#ended(): void {
		const waiter = this.#endWaiter;
		this.#endWaiter = undefined;
		this.#out.ended?.then(
			() => waiter?.resolve(),
			(error: unknown) => waiter?.reject(error),
		);
	}
}
