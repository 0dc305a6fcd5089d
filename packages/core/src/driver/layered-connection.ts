import type { Address, Connection, Receiver, TlsSession } from "../contract.ts";
import { BaseConnection, type Pausable } from "./base-connection.ts";

/**
 * The part of a connection over another connection (fault injection, a
 * PROXY-protocol reader, TLS) that every such layer shares. Everything a
 * {@link BaseConnection} does (queues and backpressure, both read paths,
 * waiters, `end()`, misuse errors, iteration, dispose, `closed`) is the
 * base's; the inner connection plays the socket:
 *
 * - its chunks and its end reach this connection's readers through the
 *   base's `received` and `receivedEnd`; a layer that must see them first
 *   overrides {@link fromInner};
 * - pausing and `stopReading()` go on to it, so its peer is held back;
 * - `close()` closes it, with the same error;
 * - once it closes, so does this connection, with its error; a clean close
 *   after {@link endInner} means its FIN went out.
 *
 * By default bytes go straight on to the inner connection; a layer that
 * transforms or holds them overrides `transmit`, `finish` and
 * `outboundBytes`, calls `drained()` when it lets held bytes go, and calls
 * {@link endInner} once its own FIN may follow them.
 */
export abstract class LayeredConnection extends BaseConnection {
	protected readonly inner: Connection;
	#innerEnd: Promise<void> | undefined;

	constructor(inner: Connection, highWaterMark: number) {
		super(highWaterMark);
		this.inner = inner;
		inner.whenClosed(() => {
			if (this.#innerEnd !== undefined && inner.error === undefined) this.finished();
			this.terminated(inner.error);
		});
	}

	/** Starts taking the inner connection's chunks; the layer calls it once it is set up. */
	protected listen(): void {
		this.inner.receive(new InnerReceiver(this));
	}

	/** A chunk from the inner connection. */
	fromInner(chunk: Uint8Array): void {
		this.received(chunk);
	}

	/** The inner connection's reads are over. */
	innerEnded(): void {
		this.receivedEnd();
	}

	protected localAddress(): Address | undefined {
		return this.inner.local;
	}

	protected remoteAddress(): Address | undefined {
		return this.inner.remote;
	}

	get outboundBytes(): number {
		return this.inner.outboundBytes;
	}

	override get tls(): TlsSession | undefined {
		return this.inner.tls;
	}

	protected transmit(bytes: Uint8Array): boolean {
		this.inner.send(bytes);
		return this.outboundBytes < this.highWaterMark;
	}

	protected finish(): void {
		this.endInner();
	}

	/** Ends the inner connection once (later calls wait for the same FIN); `end()` settles with it. */
	protected endInner(): void {
		this.#innerEnd ??= this.inner.end();
		this.#innerEnd.then(
			() => this.finished(),
			// A lost connection is reported through `closed` and `error`.
			() => {},
		);
	}

	/** True once {@link endInner} was called. */
	protected get innerEnding(): boolean {
		return this.#innerEnd !== undefined;
	}

	protected abort(error?: Error): void {
		this.inner.close(error);
	}

	protected override get source(): Pausable {
		return this.inner;
	}

	override stopReading(): void {
		super.stopReading();
		this.inner.stopReading();
	}
}

/** The inner connection's receiver: one small object per layer, no closures. */
class InnerReceiver implements Receiver {
	readonly #layer: LayeredConnection;

	constructor(layer: LayeredConnection) {
		this.#layer = layer;
	}

	data(chunk: Uint8Array): void {
		this.#layer.fromInner(chunk);
	}

	end(): void {
		this.#layer.innerEnded();
	}

	// A failure closes the inner connection, and the layer with it: nothing more to do here.
	error(): void {}
}
