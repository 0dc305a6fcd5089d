/**
 * The accept/handle contract every echo-cli driver implements.
 *
 * The shape is the classic non-blocking server: a listener hands out
 * connections one `accept()` at a time, a connection is read one chunk at a
 * time until the peer half-closes, and every write waits until the driver can
 * take more. Drivers for `node:net`, `Bun.listen` and an in-memory pipe all
 * keep the rules below; `@echo-cli/core/testing` checks them.
 *
 * The key words MUST, MUST NOT and MAY are used as in RFC 2119.
 */

import type { ConnectionError, ListenError, MisuseError } from "./errors.ts";

/** Where a listener listens or a connection is bound. */
export type Address = TcpAddress | UnixAddress;

export interface TcpAddress {
	readonly transport: "tcp";
	/** A numeric address as the OS reports it: `127.0.0.1`, `::1`, `::`. */
	readonly host: string;
	readonly port: number;
	readonly family: "IPv4" | "IPv6";
}

export interface UnixAddress {
	readonly transport: "unix";
	readonly path: string;
}

/**
 * Default for {@link ListenOptions.highWaterMark}: 256 KiB. Above the 64 KiB
 * stream default of Bun and Node >= 22 (16 KiB on Node 20), because at 64 KiB
 * a 100 KiB message already pauses and resumes the socket on every read;
 * `bun run bench` measured 256 KiB and 1 MiB alike, and 64 KiB up to 1.5x
 * slower on 100 KiB messages. A client that never reads still costs at most
 * about twice this, plus one read.
 */
export const DEFAULT_HIGH_WATER_MARK = 256 * 1024;

export interface ListenOptions {
	/**
	 * Host to bind. Default `127.0.0.1`. `::1` is IPv6 loopback; `::` binds
	 * every IPv6 address and, where the OS allows dual stack, IPv4 too (node:
	 * `server.listen({ host })`; bun: `Bun.listen({ hostname })`). Proved per
	 * driver and runtime by the "--host ::1" and "--host ::" cases of
	 * `apps/cli/test/options.test.ts`.
	 */
	readonly host?: string;
	/** Port to bind. `0` (the default) asks the OS for a free port; {@link Listener.address} reports it. */
	readonly port?: number;
	/**
	 * A unix domain socket path. When set, `host` and `port` are ignored.
	 * Before listening, both drivers remove a socket file that nobody answers
	 * on (`clearStaleUnixSocket`), and refuse a live one or a non-socket file;
	 * closing the listener removes the file (node: `server.close()` does;
	 * bun: the driver unlinks it after `stop()`). Proved by the "--unix" cases
	 * of `apps/cli/test/options.test.ts` per driver and runtime.
	 */
	readonly path?: string;
	/**
	 * Bytes a connection queues in each direction before it applies
	 * backpressure: above it, `write()` waits and reading from the socket
	 * pauses. Default {@link DEFAULT_HIGH_WATER_MARK}. The same number means
	 * the same thing in every driver.
	 */
	readonly highWaterMark?: number;
	/** Length of the kernel's accept backlog. Drivers MAY ignore it. */
	readonly backlog?: number;
	/**
	 * The most connections open at once. A connection above the cap MUST be
	 * closed at once (the peer sees an immediate EOF), counted in
	 * {@link Listener.refusedCount} and reported to `onRefuse`; it is never
	 * handed to `accept()`. Default: no cap.
	 *
	 * Both socket drivers accept the connection and close it (the kernel
	 * gives no way to refuse one already queued); Node's own
	 * `maxConnections`, whose `0` means "unlimited" on Node 20 and "drop all"
	 * on Bun, is not used. Proved by the "max connections" cases of
	 * `apps/cli/test/options.test.ts`, per driver and runtime, and by
	 * `packages/core/test/options.test.ts` for the memory driver.
	 */
	readonly maxConnections?: number;
	/** Called for each connection closed because of `maxConnections`. */
	readonly onRefuse?: (remote: Address) => void;
}

export interface Driver {
	/** A short name: `node`, `bun`, `memory`. */
	readonly name: string;
	/**
	 * Binds and starts listening. MUST reject with a {@link ListenError} whose
	 * `reason` says why the address could not be used.
	 * Connections MUST be half-open capable: a peer's FIN ends only the read side.
	 */
	listen(options?: ListenOptions): Promise<Listener>;
	/**
	 * Opens a client connection to `address` with the same {@link Connection}
	 * semantics as an accepted one. MUST reject with a {@link ConnectionError}
	 * (`refused`, `unreachable`, ...) when no connection can be made.
	 */
	connect(address: Address, options?: ConnectOptions): Promise<Connection>;
}

export interface ConnectOptions {
	readonly highWaterMark?: number;
}

export interface Listener extends AsyncIterable<Connection>, AsyncDisposable {
	/** The bound address, with the real port when port 0 was asked for. */
	readonly address: Address;
	/** Connections accepted by this listener that have not closed yet. */
	readonly connectionCount: number;
	/** Connections closed at once because `maxConnections` was reached. */
	readonly refusedCount: number;
	/**
	 * Resolves to the next connection, or to `null` once the listener is
	 * closed. Connections that arrive before anyone calls `accept()` MUST be
	 * queued, not dropped. Several pending calls MAY be made; they are served
	 * in order.
	 */
	accept(): Promise<Connection | null>;
	/**
	 * Stops accepting: new connection attempts are refused and every pending
	 * and later `accept()` resolves to `null`. Connections already accepted
	 * MUST stay open; the caller drains or aborts them. Idempotent.
	 */
	close(): Promise<void>;
}

export interface Connection extends AsyncIterable<Uint8Array>, AsyncDisposable {
	/**
	 * Our end's address and the peer's. Drivers MAY look them up on first
	 * use, to keep idle connections small: read them while the connection is
	 * open when they are needed after it closes (a closed socket has no peer
	 * address to ask for; drivers then report `{ transport: "unix", path: "" }`).
	 */
	readonly local: Address;
	readonly remote: Address;
	/**
	 * Resolves to the next chunk the peer sent, in order, or to `null` once the
	 * peer has half-closed (FIN) and every chunk before it was read.
	 * - Chunks are `Uint8Array` and MUST NOT be shared with later chunks; their
	 *   boundaries carry no meaning.
	 * - Only one read MAY be pending: a second concurrent call MUST reject with
	 *   a {@link MisuseError} (`concurrent-read`).
	 * - After a reset or `close(error)` it MUST reject with a
	 *   {@link ConnectionError}; after a clean `close()` it resolves to `null`.
	 * - Reading drives read backpressure: while more than `highWaterMark`
	 *   bytes wait unread, the driver MUST stop reading from the socket.
	 */
	read(): Promise<Uint8Array | null>;
	/**
	 * Queues `bytes` for sending and settles when the driver can take more:
	 * at once while the outbound queue is under `highWaterMark`, otherwise
	 * once it drains below it. Every byte written before the connection ends
	 * MUST reach the peer in order, whatever the runtime accepts per call.
	 * - The driver MAY keep a reference to `bytes` until it is sent; callers
	 *   MUST NOT change them after the call.
	 * - After `end()`, MUST reject with a {@link MisuseError} (`write-after-end`).
	 * - After the connection closed, MUST reject with a {@link ConnectionError}.
	 */
	write(bytes: Uint8Array): Promise<void>;
	/**
	 * Flushes everything queued, then half-closes (sends FIN). Reading MAY
	 * continue. Resolves once the FIN is sent; repeated calls return the same
	 * promise. Rejects with a {@link ConnectionError} if the connection is
	 * lost before the queue is flushed.
	 */
	end(): Promise<void>;
	/**
	 * Aborts at once: queued bytes are dropped, the peer sees a reset when
	 * `error` is given (a close otherwise), pending reads and writes settle as
	 * documented above. Idempotent.
	 */
	close(error?: Error): void;
	/**
	 * Stops taking new data from the peer: `read()` returns what is already
	 * queued, then `null`. Anything the peer sends afterwards is discarded, so
	 * its FIN is still seen. Used by graceful shutdown.
	 */
	stopReading(): void;
	/** Resolves exactly once, when both directions are closed. Never rejects. */
	readonly closed: Promise<void>;
	/** Why the connection failed, once it has: a reset, a timeout, an abort. */
	readonly error: ConnectionError | undefined;
	/** Bytes received but not yet returned by `read()`. */
	readonly inboundBytes: number;
	/** Bytes accepted by `write()` but not yet handed to the OS. */
	readonly outboundBytes: number;
	/** Total bytes received from and sent to the peer. */
	readonly bytesRead: number;
	readonly bytesWritten: number;
}

/** Serves one connection. The promise settles when the handler is done with it. */
export type Handler = (connection: Connection) => Promise<void>;
