import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import type {
	Connection,
	Handler,
	Receiver,
	TcpAddress,
	TlsClientOptions,
	TlsServerOptions,
	TlsSession,
} from "../contract.ts";
import { DEFAULT_HIGH_WATER_MARK, isReceiver } from "../contract.ts";
import { LayeredConnection } from "../driver/layered-connection.ts";
import { ConnectionError } from "../errors.ts";
import { tlsHandshakeError } from "./handshake-error.ts";
import { clientTlsOptions, type ServerTls, serverSocketOptions, serverTls } from "./options.ts";
import { clientCertificateError, tlsSessionOf } from "./session.ts";

/** Which end of the session a {@link TlsConnection} is: a server's prepared options, or a client's. */
export type TlsSide = ServerTls | { readonly client: tls.ConnectionOptions };

/**
 * A TLS session over another connection: `node:tls` over a stream that
 * carries the inner connection's bytes, on any runtime with `node:tls`.
 * The server side serves TLS that starts after bytes a layer below took
 * off (a PROXY header, as HAProxy's `send-proxy` sends it before the
 * ClientHello), and TLS for a driver whose sockets have none of their own
 * (Deno's); drivers with TLS sockets serve `ListenOptions.tls` on those,
 * which costs less. Readers get the plaintext; the rules of a driver's TLS
 * connection hold (a failed handshake closes it with a `tls` error that
 * says why; `end()` sends close_notify, then the inner connection's FIN).
 */
export class TlsConnection extends LayeredConnection {
	readonly #socket: tls.TLSSocket;
	/** The stream the TLS socket reads the inner connection's ciphertext from. */
	readonly #carrier: InnerStream;
	#session: TlsSession | undefined;
	#failure: Error | undefined;
	readonly #server: boolean;
	/** The peer's first byte: a TLS handshake record starts with 22. */
	#first: number | undefined;

	/** A server session over `inner`; `options` as given to a listener, or prepared once for many with `serverTls`. */
	constructor(inner: Connection, options: TlsServerOptions | TlsSide, highWaterMark = DEFAULT_HIGH_WATER_MARK) {
		super(inner, highWaterMark);
		const side = "context" in options || "client" in options ? options : serverTls(options);
		// end() settles once the inner FIN is out, after the close_notify.
		const carrier = new InnerStream(inner, () => this.endInner());
		const stream = carrier as unknown as Socket;
		const server = "client" in side ? undefined : side;
		this.#server = server !== undefined;
		const socket = server
			? new tls.TLSSocket(stream, serverSocketOptions(server))
			: tls.connect({ ...(side as { client: tls.ConnectionOptions }).client, socket: stream });
		this.#socket = socket;
		socket.on(server ? "secure" : "secureConnect", () => {
			const refused = server?.clientAuth ? clientCertificateError(socket) : undefined;
			if (refused) socket.destroy(tlsHandshakeError(refused));
			else this.#session = tlsSessionOf(socket);
		});
		socket.on("data", (chunk: Uint8Array) => this.received(chunk));
		socket.on("end", () => this.receivedEnd());
		socket.on("drain", () => this.drained());
		socket.on("error", (error) => {
			// A peer that closes without starting a handshake (a health check behind a proxy) has closed, not failed.
			if (server && this.#session === undefined && this.inner.bytesRead === 0) return;
			this.#failure ??= this.#session === undefined ? tlsHandshakeError(error) : error;
		});
		socket.on("close", () => {
			if (this.#failure) this.inner.close(this.#failure);
			this.terminated(this.#failure);
		});
		this.#carrier = carrier;
		if (!this.isTerminated) this.listen();
	}

	/**
	 * A client session over `inner` (connected to `address`), once its
	 * handshake completed and the server's certificate was verified (unless
	 * `insecure`); otherwise the inner connection is closed and this rejects
	 * with a `tls` error that names the cause.
	 */
	static connect(
		inner: Connection,
		address: TcpAddress | undefined,
		options: TlsClientOptions,
		highWaterMark = DEFAULT_HIGH_WATER_MARK,
	): Promise<TlsConnection> {
		const layer = new TlsConnection(inner, { client: clientTlsOptions(address, options) }, highWaterMark);
		return new Promise((resolve, reject) => {
			let secured = false;
			layer.#socket.once("secureConnect", () => {
				secured = layer.#session !== undefined;
				if (secured) resolve(layer);
			});
			layer.whenClosed((closed) => {
				if (secured) return;
				inner.close();
				reject(closed.error ?? new ConnectionError("tls", "the server closed the connection during the TLS handshake"));
			});
		});
	}

	/** However it closes, a server session that got bytes and never came up failed its handshake. */
	protected override terminated(error?: unknown): void {
		// Also called from the base's constructor, for an inner connection closed already: before #server is set.
		const failed =
			error === undefined && #server in this && this.#server && this.#session === undefined && this.inner.bytesRead > 0;
		super.terminated(failed ? unfinished(this.#first) : error);
	}

	override get tls(): TlsSession | undefined {
		return this.#session;
	}

	/** Plaintext the TLS socket holds, as a driver's TLS connection counts it; the ciphertext queue below waits on the inner connection's mark. */
	override get outboundBytes(): number {
		return this.#socket.writableLength;
	}

	/** Ciphertext: to the TLS socket, whose plaintext comes back through `data`. */
	override fromInner(chunk: Uint8Array): void {
		this.#first ??= chunk[0];
		this.#carrier.feed(chunk);
	}

	override innerEnded(): void {
		this.#carrier.push(null);
	}

	protected override transmit(bytes: Uint8Array): boolean {
		if (!this.#socket.writable) return false;
		return this.#socket.write(bytes);
	}

	protected override finish(): void {
		// Deno's TLSSocket neither ends nor destroys its stream while the peer has not ended: its close_notify written, the inner FIN follows.
		this.#socket.end(() => this.endInner());
	}

	protected override abort(error?: Error): void {
		this.inner.close(error);
		this.#socket.destroy();
	}

	// The ciphertext is held back, not the TLS socket: Deno's TLSSocket, paused, loses the end of its stream.
	protected override pauseSource(): void {
		this.#carrier.hold(true);
	}

	protected override resumeSource(): void {
		this.#carrier.hold(false);
	}
}

/** The record type that opens a TLS handshake. */
const HANDSHAKE_RECORD = 22;

/**
 * Why a handshake that got bytes ended with no session and no error: when
 * the peer's FIN follows a few bytes of plaintext, the inner connection can
 * close (both FINs out) before the TLS socket reports its error, as on Deno.
 */
function unfinished(first: number | undefined): ConnectionError {
	return new ConnectionError(
		"tls",
		first === HANDSHAKE_RECORD
			? "TLS handshake failed: the peer closed the connection during the handshake"
			: "TLS handshake failed: the peer does not speak TLS (plaintext?) (no TLS record)",
	);
}

/** The inner connection as the stream node:tls reads ciphertext from and writes it to. */
class InnerStream extends Duplex {
	readonly #inner: Connection;
	readonly #onEnd: () => void;
	/** The layer's readers are full. */
	#held = false;
	/** The TLS socket has not asked for more since `push()` said it had enough. */
	#full = false;

	/**
	 * Fed by the layer's `fromInner` and `innerEnded`; writes go straight to
	 * `inner`; `onEnd` ends `inner` once the TLS socket is done writing.
	 */
	constructor(inner: Connection, onEnd: () => void) {
		super({ allowHalfOpen: true });
		this.#inner = inner;
		this.#onEnd = onEnd;
		inner.whenClosed((closed) => {
			if (!this.destroyed) this.destroy(closed.error);
		});
	}

	/** Ciphertext from the inner connection, which pauses while the TLS socket has enough. */
	feed(chunk: Uint8Array): void {
		if (!this.push(chunk)) {
			this.#full = true;
			this.#flow();
		}
	}

	hold(held: boolean): void {
		this.#held = held;
		this.#flow();
	}

	override _read(): void {
		this.#full = false;
		this.#flow();
	}

	/** The inner connection reads while neither the TLS socket nor the layer's readers are full. */
	#flow(): void {
		if (this.#held || this.#full) this.#inner.pause();
		else this.#inner.resume();
	}

	override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
		this.#inner.write(chunk).then(() => callback(), callback);
	}

	override _final(callback: (error?: Error | null) => void): void {
		this.#onEnd();
		this.#inner.end().then(() => callback(), callback);
	}

	override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
		if (error) this.#inner.close(error);
		// Deno's TLSSocket ends by destroying its stream, never ending it: the inner FIN follows what is queued.
		else this.#onEnd();
		callback(error);
	}
}

/** What {@link withTls} tells besides serving. */
export interface TlsLayerOptions {
	/**
	 * Called with each connection and the TLS connection made over it, before
	 * its handshake: the one the handler gets, which knows the session.
	 */
	readonly onLayer?: (connection: Connection, secure: TlsConnection) => void;
}

/**
 * `handler` behind a TLS server session on every connection (see
 * {@link TlsConnection}). Behind `withProxyProtocol`, it serves TLS that
 * follows a PROXY header: `withProxyProtocol(withTls(echo, options))`.
 */
export function withTls(
	handler: Handler | Receiver,
	options: TlsServerOptions,
	{ onLayer }: TlsLayerOptions = {},
): Handler {
	const side = serverTls(options);
	return (connection: Connection): Promise<void> | void => {
		const secure = new TlsConnection(connection, side);
		onLayer?.(connection, secure);
		if (isReceiver(handler)) {
			secure.receive(handler);
			return;
		}
		return handler(secure);
	};
}
