import type { Connection, Listener } from "../contract.ts";
import type { ConnectionErrorReason } from "../errors.ts";

export interface ServeOptions {
	/**
	 * Milliseconds in which nothing moves either way (no byte received, no
	 * byte handed to the OS) and nothing is queued for the peer, after which
	 * a connection is half-closed: its reads end (so `echo` sends its FIN),
	 * then, once the peer has had the same time (at most 2 s) to close, it is
	 * closed without a reset, so what the OS already took still reaches the
	 * peer. A connection with bytes queued for its peer is never idle,
	 * however slowly the peer reads: see {@link sendTimeout}. Off by default.
	 */
	idleTimeout?: number;
	/**
	 * Milliseconds for which bytes are queued for the peer and the OS takes
	 * none of them (the time between two writes the OS accepted, as nginx's
	 * `send_timeout`), after which the connection is aborted with a `timeout`
	 * error and reported as `stalled`. The OS takes bytes only as the
	 * kernel's send buffer (several MB on loopback) frees room, so a peer
	 * reading slower than about a third of that buffer per `sendTimeout` is
	 * taken for stalled. Off by default.
	 */
	sendTimeout?: number;
	/** Called for each accepted connection before its handler starts. If it throws, that connection is aborted and the error goes to `onError`. */
	onConnection?(connection: Connection): void;
	/** Called when a handler throws or rejects. The connection is then aborted; the server goes on. */
	onError?(error: unknown, connection: Connection): void;
	/** Called once a connection is closed in both directions. */
	onClose?(connection: Connection, info: ConnectionSummary): void;
}

/**
 * How a connection ended: `closed` when both sides finished cleanly, `idle`
 * after an idle timeout, `stalled` after a send timeout, `shutdown` when it
 * was still open at the end of a graceful shutdown and was aborted,
 * `handler-error` when the handler threw, or the reason of the connection's
 * error.
 */
export type ConnectionOutcome = "closed" | "idle" | "stalled" | "shutdown" | "handler-error" | ConnectionErrorReason;

export interface ConnectionSummary {
	/** Milliseconds from accept to close; 0 when no `onClose` was given at the start. */
	readonly duration: number;
	readonly outcome: ConnectionOutcome;
	/** The handler's error, if it threw. */
	readonly error: unknown;
	/** Bytes received from the peer. */
	readonly bytesIn: number;
	/** Bytes handed to the OS for the peer (what was still queued at the close is not counted). */
	readonly bytesOut: number;
}

export interface ServerStats {
	/** Connections accepted so far. */
	readonly accepted: number;
	/** Connections open now. */
	readonly active: number;
	/** Bytes received from, and handed to the OS for, closed and open connections. */
	readonly bytesIn: number;
	readonly bytesOut: number;
	/** Connections that ended with an error: a handler error, a reset, an abort; not those cut by a timeout or a shutdown. */
	readonly errors: number;
	/** Connections ended by the idle timeout. */
	readonly idle: number;
	/** Connections ended by the send timeout. */
	readonly stalled: number;
}

export interface ShutdownOptions {
	/** Milliseconds to wait for connections to finish before aborting them. Default 2000. */
	readonly timeout?: number;
}

export interface ShutdownResult {
	/** Connections that finished on their own within the timeout. */
	readonly drained: number;
	/** Connections aborted when the timeout passed. */
	readonly aborted: number;
}

export interface Server {
	readonly listener: Listener;
	readonly connections: ReadonlySet<Connection>;
	readonly stats: ServerStats;
	/**
	 * Graceful stop: closes the listener, makes every connection's reads
	 * return what already arrived and then `null` (so `echo` writes it back
	 * and half-closes), waits up to `timeout` ms for connections to close,
	 * then aborts the rest. Repeated calls return the same promise.
	 */
	shutdown(options?: ShutdownOptions): Promise<ShutdownResult>;
	/** Aborts every connection and closes the listener at once. */
	abort(): Promise<void>;
}
