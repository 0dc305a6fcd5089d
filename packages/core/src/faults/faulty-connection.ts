import type { Connection } from "../contract.ts";
import { LayeredConnection } from "../driver/layered-connection.ts";
import type { Out, Stage } from "./pipeline.ts";
import { stageOf } from "./registry.ts";
import type { Fault } from "./spec.ts";

const EMPTY = new Uint8Array(0);

/** The end of the pipeline: the real connection, whose full queue holds the stages back. */
class ConnectionOut implements Out {
	ready = true;
	readonly #connection: Connection;
	readonly #layer: FaultyConnection;
	#callbacks: (() => void)[] = [];

	constructor(connection: Connection, layer: FaultyConnection) {
		this.#connection = connection;
		this.#layer = layer;
	}

	push(bytes: Uint8Array): void {
		if (this.#connection.send(bytes) || !this.ready) return;
		this.ready = false;
		// An empty write settles once the queue has room again.
		this.#connection.write(EMPTY).then(
			() => {
				this.ready = true;
				for (const callback of this.#callbacks.splice(0)) callback();
				this.#layer.released();
			},
			() => {},
		);
	}

	finish(): void {
		this.#layer.stagesFinished();
	}

	onReady(callback: () => void): void {
		if (this.ready) callback();
		else this.#callbacks.push(callback);
	}
}

/**
 * A connection whose outbound bytes go through fault stages before the real
 * one. Reads, addresses and ends are the real connection's, through the
 * shared {@link LayeredConnection}; bytes held by a stage count against the
 * high-water mark, so a peer that does not read still bounds memory.
 */
export class FaultyConnection extends LayeredConnection {
	readonly #stages: Stage[] = [];
	readonly #head: Out;
	readonly #out: ConnectionOut;

	constructor(inner: Connection, faults: readonly Fault[], random: () => number, highWaterMark: number) {
		super(inner, highWaterMark);
		this.#out = new ConnectionOut(inner, this);
		let next: Out = this.#out;
		for (const fault of [...faults].reverse()) {
			const made = stageOf(fault, { connection: inner, next, random, released: () => this.released() });
			this.#stages.unshift(made);
			next = made;
		}
		this.#head = next;
		this.whenClosed(() => {
			for (const stage of this.#stages) stage.stop?.();
		});
		for (const stage of this.#stages) if (!this.isTerminated) stage.start?.();
		if (!this.isTerminated) this.listen();
	}

	override get outboundBytes(): number {
		let held = 0;
		for (const stage of this.#stages) held += stage.held;
		return this.inner.outboundBytes + held;
	}

	protected override transmit(bytes: Uint8Array): boolean {
		this.#head.push(bytes);
		return this.#out.ready && this.outboundBytes < this.highWaterMark;
	}

	protected override finish(): void {
		this.#head.finish();
		// A stage may have let the FIN go already (a limit reached): end() settles with it.
		if (this.innerEnding) this.endInner();
	}

	/** A stage let held bytes go, or the real connection has room again. */
	released(): void {
		if (this.#out.ready) this.drained();
	}

	/** The stages let the FIN go. */
	stagesFinished(): void {
		this.endInner();
	}
}
