import type { Connection } from "../contract.ts";

/** Where a stage sends the bytes it lets go: the next stage, or the connection. */
export interface Out {
	push(bytes: Uint8Array): void;
	/** No more bytes: half-close once everything pushed has gone on. */
	finish(): void;
	/** False while the connection's queue is full; stages that hold bytes wait for `onReady`. */
	readonly ready: boolean;
	onReady(callback: () => void): void;
}

/** One fault on the way out, for one connection. */
export interface Stage extends Out {
	/** Bytes held back and not yet pushed on: they count against the high-water mark. */
	readonly held: number;
	/** Called once the connection is handed over. */
	start?(): void;
	/** Called once the connection is closed: timers end here. */
	stop?(): void;
}

export interface StageContext {
	/** The real connection: for a FIN, a reset, or to stop reading. */
	readonly connection: Connection;
	readonly next: Out;
	/** This connection's own random sequence. */
	readonly random: () => number;
	/** To call when `held` went down. */
	released(): void;
}

/** Passes everything on: the base of stages that act only on some events. */
export abstract class PassThrough implements Stage {
	protected readonly context: StageContext;

	constructor(context: StageContext) {
		this.context = context;
	}

	get held(): number {
		return 0;
	}

	get ready(): boolean {
		return true;
	}

	onReady(callback: () => void): void {
		callback();
	}

	push(bytes: Uint8Array): void {
		this.context.next.push(bytes);
	}

	finish(): void {
		this.context.next.finish();
	}
}

/**
 * Bytes held until a due time each, let go in order and only while the next
 * step is ready: the shared mechanism of latency, bandwidth and slicer
 * delays.
 */
export class Timeline extends PassThrough {
	#queue: { readonly at: number; readonly bytes: Uint8Array }[] = [];
	#head = 0;
	#held = 0;
	#finishing = false;
	#finished = false;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#waiting = false;
	/** The due time of the last byte queued: later bytes are never due before it. */
	last = 0;

	override get held(): number {
		return this.#held;
	}

	/** Queues `bytes` to go on at `at` (a `performance.now()` time); `now` saves reading the clock again. */
	at(bytes: Uint8Array, at: number, now?: number): void {
		this.last = Math.max(this.last, at);
		// Nothing waiting and the bytes already due (a zero delay): on at once, with nothing allocated.
		if (this.#head === this.#queue.length && this.context.next.ready && this.last <= (now ?? performance.now())) {
			this.context.next.push(bytes);
			return;
		}
		this.#queue.push({ at: this.last, bytes });
		this.#held += bytes.byteLength;
		if (this.#head === this.#queue.length - 1) this.#pump();
	}

	override finish(): void {
		this.#finishing = true;
		this.#pump();
	}

	stop(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
		this.#queue = [];
		this.#head = 0;
	}

	#pump = (): void => {
		this.#timer = undefined;
		const next = this.context.next;
		const now = performance.now();
		let released = false;
		while (this.#head < this.#queue.length) {
			const item = this.#queue[this.#head] as { at: number; bytes: Uint8Array };
			if (item.at > now) {
				clearTimeout(this.#timer);
				this.#timer = setTimeout(this.#pump, item.at - now);
				break;
			}
			if (!next.ready) {
				if (!this.#waiting) {
					this.#waiting = true;
					next.onReady(() => {
						this.#waiting = false;
						this.#pump();
					});
				}
				break;
			}
			this.#head++;
			this.#held -= item.bytes.byteLength;
			released = true;
			next.push(item.bytes);
		}
		if (this.#head === this.#queue.length) {
			// Emptied in place: a new array per chunk would be garbage per chunk.
			this.#queue.length = 0;
			this.#head = 0;
			if (this.#finishing && !this.#finished) {
				this.#finished = true;
				next.finish();
			}
		}
		if (released) this.context.released();
	};
}
