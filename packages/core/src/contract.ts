/**
 * The accept/handle contract every echo-cli driver implements.
 *
 * The shape is the classic non-blocking server: a listener hands out
 * connections one `accept()` at a time, a connection is read until the peer
 * half-closes, and writing waits until the driver can take more. Both take
 * one of two styles with the same rules: the pull path (`accept()`,
 * `read()`, `write()`, `for await`), or the push path (`acceptEach()`,
 * `receive()` with a {@link Receiver}, `send()`), which allocates nothing
 * per connection or chunk. Drivers for
 * `node:net`, `Bun.listen` and an in-memory pipe all keep the rules below;
 * `@echo-cli/core/testing` checks them.
 *
 * The key words MUST, MUST NOT and MAY are used as in RFC 2119.
 */

// Listener and Connection are AsyncDisposable: consumers' type checks need this lib, whatever theirs says.
/// <reference lib="esnext.disposable" preserve="true" />

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
 * Default for {@link ListenOptions.highWaterMark}: 256 KiB. A client that
 * never reads costs a connection at most about twice this, plus one read.
 */
// Above the 64 KiB stream default of Bun and Node >= 22 (16 KiB on Node 20):
// at 64 KiB a 100 KiB message pauses and resumes the socket on every read,
// and `bun run bench` measured 64 KiB up to 1.5x slower on such messages.
export const DEFAULT_HIGH_WATER_MARK = 256 * 1024;

export interface ListenOptions {
	/**
	 * Host to bind. Default `127.0.0.1`. `::1` is IPv6 loopback; `::` binds
	 * every IPv6 address and, where the OS allows dual stack, IPv4 too. A
	 * name (`localhost`) is resolved first, as `node:net` does, and
	 * {@link Listener.address} reports the numeric address bound.
	 */
	readonly host?: string;
	/** Port to bind. `0` (the default) asks the OS for a free port; {@link Listener.address} reports it. */
	readonly port?: number;
	/**
	 * A unix domain socket path. When set, `host` and `port` are ignored.
	 * A socket file that nobody answers on (left by a crash) MUST be
	 * replaced; a live socket or any other file MUST be refused as in use;
	 * a path longer than the platform allows MUST be refused with a
	 * `bad-address` {@link ListenError} that names the limit. Closing the
	 * listener removes the file.
	 */
	readonly path?: string;
	/**
	 * Bytes a connection queues in each direction before it applies
	 * backpressure: above it, `write()` waits, `send()` returns false and
	 * reading from the socket pauses. Default {@link DEFAULT_HIGH_WATER_MARK}.
	 * The same number means the same thing in every driver.
	 */
	readonly highWaterMark?: number;
	/**
	 * Bind a TCP address with `SO_REUSEPORT`, so that several listeners (in
	 * one process or many) share it and the kernel spreads new connections
	 * among them. A driver whose runtime cannot set it MUST reject with an
	 * `unavailable` {@link ListenError} that says so, never bind without it.
	 * Ignored for unix sockets. Default false.
	 */
	readonly reusePort?: boolean;
	/**
	 * Serve TLS: every accepted connection is a TLS server session, and
	 * everything a {@link Connection} promises holds for the plaintext inside
	 * it. See {@link TlsServerOptions} for the rules. A driver whose runtime
	 * has no TLS MUST reject with an `unavailable` {@link ListenError}.
	 * TLS over a unix socket is allowed.
	 */
	readonly tls?: TlsServerOptions;
	/** Length of the kernel's accept backlog. Drivers MAY ignore it. */
	readonly backlog?: number;
	/**
	 * The most connections open at once. A connection above the cap MUST be
	 * closed at once (the peer sees an immediate EOF), counted in
	 * {@link Listener.refusedCount} and reported to `onRefuse`; it is never
	 * handed to `accept()`. Default: no cap.
	 */
	// Both socket drivers accept and close (the kernel cannot refuse a
	// connection already queued). Node's own `maxConnections` is not used:
	// its `0` means "unlimited" on Node 20 and "drop all" on Bun.
	readonly maxConnections?: number;
	/** Called for each connection closed because of `maxConnections`, with the peer when it is known. */
	readonly onRefuse?: (remote: Address | undefined) => void;
}

/** {@link ListenOptions} for a TCP listener. */
export type TcpListenOptions = ListenOptions & { readonly path?: undefined };
/** {@link ListenOptions} for a unix domain socket listener. */
export type UnixListenOptions = ListenOptions & { readonly path: string };

export interface Driver {
	/** A short name: `node`, `bun`, `memory`. */
	readonly name: string;
	/**
	 * Binds and starts listening. MUST reject with a {@link ListenError} whose
	 * `reason` says why the address could not be used.
	 * Connections MUST be half-open capable: a peer's FIN ends only the read side.
	 * The listener's `address` is a {@link TcpAddress} or a {@link UnixAddress}
	 * as the options ask, so `listener.address.port` typechecks for TCP.
	 */
	listen(options: UnixListenOptions): Promise<Listener<UnixAddress>>;
	listen(options?: TcpListenOptions): Promise<Listener<TcpAddress>>;
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
	/**
	 * Open a TLS client session. `connect()` MUST resolve only once the
	 * handshake completed and the server's certificate was verified (unless
	 * `insecure`), and otherwise reject with a `tls` {@link ConnectionError}
	 * that names the cause: a plaintext server, an unknown CA, a name that
	 * does not match.
	 */
	readonly tls?: TlsClientOptions;
}

/**
 * TLS for a listener. A connection is handed out as soon as it is
 * accepted, before its handshake, so that `maxConnections`, idle timeouts
 * and drain cover clients that never finish one; reads wait for the
 * handshake. A handshake that fails (a plaintext client, a client
 * certificate missing or not signed by `ca` under `clientAuth`) MUST end
 * only that connection, which fails with a `tls` {@link ConnectionError}
 * whose message names the cause; the listener goes on.
 *
 * Over TLS the stream rules are the same: byte-exact, backpressure counted
 * in plaintext bytes, and half-close: the peer's close_notify and FIN end
 * only our read side, and `end()` flushes, then sends close_notify and FIN.
 */
export interface TlsServerOptions {
	/** PEM certificate, optionally followed by its chain. */
	readonly cert: string;
	/** PEM private key of `cert`, not encrypted. */
	readonly key: string;
	/** PEM certificates that client certificates are verified against. */
	readonly ca?: string;
	/**
	 * Require a client certificate signed by `ca` (mutual TLS). A client
	 * without one, or with another, fails its handshake. Needs `ca`.
	 */
	readonly clientAuth?: boolean;
	/** ALPN protocols to offer, most preferred first; the client's choice is in {@link TlsSession.alpn}. */
	readonly alpn?: readonly string[];
}

/** TLS for `Driver.connect`. */
export interface TlsClientOptions {
	/** PEM certificates to trust instead of the runtime's default roots. */
	readonly ca?: string;
	/** The name to send (SNI) and check the certificate against. Default: the address's host. */
	readonly serverName?: string;
	/** Skip verifying the server's certificate: for self-signed test servers only, and say so. */
	readonly insecure?: boolean;
	/** A client certificate and its key, for servers that require one. */
	readonly cert?: string;
	readonly key?: string;
	readonly alpn?: readonly string[];
}

/** What a completed TLS handshake settled. */
export interface TlsSession {
	/** `TLSv1.3`, `TLSv1.2`. */
	readonly protocol: string;
	/** The cipher suite's standard name: `TLS_AES_128_GCM_SHA256`. */
	readonly cipher: string;
	/** The ALPN protocol agreed on, when one was. */
	readonly alpn: string | undefined;
	/** The verified peer certificate's subject common name (a client's, under `clientAuth`), when there is one. */
	readonly peer: string | undefined;
}

export interface Listener<A extends Address = Address> extends AsyncIterable<Connection>, AsyncDisposable {
	/** The bound address, numeric, with the real port when port 0 was asked for. */
	readonly address: A;
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
	 * The push path for accepting: hands every connection to `onConnection`
	 * synchronously as it is accepted, with no promise per connection.
	 * Connections queued before the call come first, in order. A server
	 * that accepts bursts of connections allocates less this way, and the
	 * connection is handled in the same turn it arrived in.
	 * - It makes `onConnection` the one acceptor for the listener's life:
	 *   calling it while an `accept()` is pending or after an earlier
	 *   `acceptEach` MUST throw a {@link MisuseError} (`concurrent-accept`),
	 *   and a later `accept()` MUST reject with the same.
	 * - If `onConnection` throws, that connection MUST be closed with what
	 *   was thrown (the peer sees a reset); later connections are still
	 *   handed over.
	 * - After `close()` nothing more is handed over.
	 */
	acceptEach(onConnection: (connection: Connection) => void): void;
	/**
	 * Stops accepting: new connection attempts are refused and every pending
	 * and later `accept()` resolves to `null`. Connections already accepted
	 * MUST stay open; the caller drains or aborts them. Idempotent.
	 */
	close(): Promise<void>;
}

/**
 * The push path: what a handler does with each chunk as it arrives, with
 * nothing allocated per chunk. The methods get the connection, so one
 * receiver object can serve every connection: `serve()` takes a receiver as
 * its handler and then allocates nothing per connection either.
 */
export interface Receiver {
	/**
	 * A chunk from the peer, in order. It MAY be kept or sent back as is:
	 * no later chunk shares its memory. Writing from here with
	 * {@link Connection.send} is what makes an echo or a transform.
	 */
	data(chunk: Uint8Array, connection: Connection): void;
	/**
	 * No more data: the peer half-closed and every chunk before its FIN was
	 * delivered, or the connection was closed cleanly by `close()`. An echo
	 * answers with `connection.end()`.
	 */
	end(connection: Connection): void;
	/**
	 * The connection failed before `end` (a reset, `close(error)`), or a
	 * method of this receiver threw; `error` is the {@link ConnectionError}
	 * or what was thrown. Nothing is delivered after it.
	 */
	error?(error: unknown, connection: Connection): void;
}

export interface Connection extends AsyncIterable<Uint8Array>, AsyncDisposable {
	/**
	 * Our end's address and the peer's, as the OS reported them when the
	 * connection opened; they stay valid after it closes. `undefined` only
	 * when the OS could no longer tell (a peer gone before the connection
	 * was accepted). A unix socket's peer is usually unnamed: `path` is "".
	 */
	readonly local: Address | undefined;
	readonly remote: Address | undefined;
	/**
	 * The pull path. Resolves to the next chunk the peer sent, in order, or
	 * to `null` once the peer has half-closed (FIN) and every chunk before it
	 * was read.
	 * - Chunks are `Uint8Array` and MUST NOT be shared with later chunks; their
	 *   boundaries carry no meaning.
	 * - Only one reader MAY be active: a second concurrent `read()`, or a
	 *   `read()` while {@link receive} is active, MUST reject with a
	 *   {@link MisuseError} (`concurrent-read`).
	 * - After a reset or `close(error)` it MUST reject with a
	 *   {@link ConnectionError}; after a clean `close()` it resolves to `null`.
	 * - Reading drives read backpressure: while `highWaterMark` bytes or more
	 *   wait unread, the driver MUST stop reading from the socket.
	 */
	read(): Promise<Uint8Array | null>;
	/**
	 * The push path: hands every chunk to `receiver.data` as it arrives, then
	 * calls `receiver.end` once, with the same order, exactness and
	 * half-close rules as {@link read}; or `receiver.error` once, if the
	 * connection fails first. Chunks already queued by earlier reads come
	 * first. Nothing is called after `end` or `error`.
	 * - A receiver method that throws stops delivery: `error` gets what was
	 *   thrown, then the connection is closed with it (the peer sees a reset).
	 * - Backpressure: `data` MUST NOT be called while the outbound queue is at
	 *   or above the high-water mark (after a `send()` that returned false, or
	 *   a `write()` that waits) nor while {@link pause} is in effect; the
	 *   driver then stops reading from the socket, as a pull loop blocked in
	 *   `write()` would. Delivery resumes once the queue drains below the
	 *   mark and the connection is not paused.
	 * - It makes the receiver the one active reader: calling it while a
	 *   `read()` is pending or another receiver is active MUST throw a
	 *   {@link MisuseError} (`concurrent-read`). After `end`, `read()`
	 *   returns `null`.
	 */
	receive(receiver: Receiver): void;
	/**
	 * Queues `bytes` for sending and settles when the driver can take more:
	 * at once while the outbound queue is under `highWaterMark`, otherwise
	 * once it drains below it. Every byte written before the connection ends
	 * MUST reach the peer in order, whatever the runtime accepts per call.
	 * - The driver MAY keep a reference to `bytes` until it is sent; callers
	 *   MUST NOT change them after the call.
	 * - An empty `bytes` sends nothing and settles by the same rule, so
	 *   `write(new Uint8Array(0))` waits for room after a `send()` returned false.
	 * - After `end()`, MUST reject with a {@link MisuseError} (`write-after-end`).
	 * - After the connection closed, MUST reject with a {@link ConnectionError}.
	 */
	write(bytes: Uint8Array): Promise<void>;
	/**
	 * {@link write} without a promise, for the push path: queues `bytes` and
	 * returns whether the outbound queue is still under the high-water mark.
	 * `false` asks the caller to send no more until the queue drains; the push
	 * path waits by itself. Same ordering rules as `write()`.
	 * - After `end()`, MUST throw a {@link MisuseError} (`write-after-end`).
	 * - After the connection closed, the bytes are dropped and it returns
	 *   `false`; the failure shows in {@link error} and {@link closed}.
	 */
	send(bytes: Uint8Array): boolean;
	/**
	 * Flushes everything queued, then half-closes (sends FIN). Reading MAY
	 * continue. Resolves once the FIN is handed to the OS after every queued
	 * byte; repeated calls return the same promise. Rejects with a
	 * {@link ConnectionError} if the connection is lost before that.
	 */
	end(): Promise<void>;
	/**
	 * Aborts at once: queued bytes are dropped, the peer sees a reset when
	 * `error` is given (a close otherwise), pending reads and writes settle as
	 * documented above. Idempotent.
	 */
	close(error?: Error): void;
	/**
	 * Holds the push path: no `data` is delivered, and the driver stops
	 * reading from the socket, until {@link resume}. For a handler that keeps
	 * bytes of its own (delays them, or sends them elsewhere) and must count
	 * them against the high-water mark. Idempotent.
	 */
	pause(): void;
	/** Ends a {@link pause}; delivery goes on where it stopped. Idempotent. */
	resume(): void;
	/**
	 * Stops taking new data from the peer: reads and the push path get what
	 * is already queued, then the end. Anything the peer sends afterwards is
	 * discarded, so its FIN is still seen. Used by graceful shutdown.
	 */
	stopReading(): void;
	/** Resolves exactly once, when both directions are closed. Never rejects. */
	readonly closed: Promise<void>;
	/**
	 * Calls `listener` with this connection once both directions are closed,
	 * or at once if they are: {@link closed} without a promise, for servers
	 * that hold many connections.
	 */
	whenClosed(listener: (connection: Connection) => void): void;
	/**
	 * The TLS session, once its handshake completed; `undefined` on a
	 * plaintext connection and before the handshake. Layers pass on their
	 * inner connection's.
	 */
	readonly tls?: TlsSession | undefined;
	/** Why the connection failed, once it has: a reset, a timeout, an abort. */
	readonly error: ConnectionError | undefined;
	/** Bytes received but not yet read or delivered. */
	readonly inboundBytes: number;
	/** Bytes accepted by `write()` or `send()` but not yet handed to the OS. */
	readonly outboundBytes: number;
	/** Total bytes received from the peer. */
	readonly bytesRead: number;
	/** Total bytes accepted by `write()` and `send()`; those handed to the OS are `bytesWritten - outboundBytes`. */
	readonly bytesWritten: number;
}

/**
 * Serves one connection, on either path. A returned promise settles when the
 * handler is done with it; `serve()` then ends the connection if the handler
 * did not. A handler that returns nothing has taken the connection over (it
 * handed it to a {@link Receiver} with `receive()`, say) and ends it itself,
 * so that nothing is allocated to wait for it. (`serve()` also takes a
 * `Receiver` instead.)
 */
export type Handler = (connection: Connection) => Promise<void> | void;

/** True for a {@link Receiver}; `echo` is a function too, and is taken as one. */
export function isReceiver(handler: Handler | Receiver): handler is Receiver {
	return (
		typeof (handler as Partial<Receiver>).data === "function" &&
		typeof (handler as Partial<Receiver>).end === "function"
	);
}
