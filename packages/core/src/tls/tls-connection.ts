import { Duplex } from "node:stream";
import tls from "node:tls";
import type { Connection, Handler, Receiver, TlsServerOptions, TlsSession } from "../contract.ts";
import { DEFAULT_HIGH_WATER_MARK, isReceiver } from "../contract.ts";
import type { Pausable } from "../driver/base-connection.ts";
import { LayeredConnection } from "../driver/layered-connection.ts";
import { tlsHandshakeError } from "./handshake-error.ts";
import { clientCertificateError, tlsSessionOf } from "./session.ts";

/**
 * A TLS server session over another connection: for TLS that starts after
 * bytes a layer below took off (a PROXY header, as HAProxy's `send-proxy`
 * sends it before the ClientHello). Drivers serve TLS on their sockets
 * with `ListenOptions.tls`, which costs less; this is `node:tls` over a
 * stream that carries the inner connection's bytes, on any runtime with
 * `node:tls`. Readers get the plaintext; the rules of a driver's TLS
 * connection hold (a failed handshake closes it with a `tls` error that
 * says why; `end()` sends close_notify, then the inner connection's FIN).
 */
export class TlsConnection extends LayeredConnection {
	readonly #socket: tls.TLSSocket;
	/** The stream the TLS socket reads the inner connection's ciphertext from. */
	readonly #carrier: InnerStream;
	#session: TlsSession | undefined;
	#failure: Error | undefined;

	constructor(inner: Connection, options: TlsServerOptions, highWaterMark = DEFAULT_HIGH_WATER_MARK) {
		super(inner, highWaterMark);
		const carrier = new InnerStream(inner);
		const clientAuth = options.clientAuth === true;
		const socket = new tls.TLSSocket(
			carrier as unknown as import("node:net").Socket,
			{
				isServer: true,
				secureContext: tls.createSecureContext({ cert: options.cert, key: options.key, ca: options.ca }),
				requestCert: clientAuth,
				rejectUnauthorized: clientAuth,
				...(options.alpn ? { ALPNProtocols: [...options.alpn] } : {}),
			} as tls.TLSSocketOptions,
		);
		this.#socket = socket;
		socket.on("secure", () => {
			const refused = clientAuth ? clientCertificateError(socket) : undefined;
			if (refused) socket.destroy(tlsHandshakeError(refused));
			else this.#session = tlsSessionOf(socket);
		});
		socket.on("data", (chunk: Uint8Array) => this.received(chunk));
		socket.on("end", () => this.receivedEnd());
		socket.on("drain", () => this.drained());
		socket.on("error", (error) => {
			// A peer that closes without starting a handshake (a health check behind a proxy) has closed, not failed.
			if (this.#session === undefined && this.inner.bytesRead === 0) return;
			this.#failure ??= this.#session === undefined ? tlsHandshakeError(error) : error;
		});
		socket.on("close", () => {
			if (this.#failure) this.inner.close(this.#failure);
			this.terminated(this.#failure);
		});
		this.#carrier = carrier;
		if (!this.isTerminated) this.listen();
	}

	override get tls(): TlsSession | undefined {
		return this.#session;
	}

	override get outboundBytes(): number {
		return this.#socket.writableLength + this.inner.outboundBytes;
	}

	/** Ciphertext: to the TLS socket, whose plaintext comes back through `data`. */
	override fromInner(chunk: Uint8Array): void {
		if (!this.#carrier.push(chunk)) this.inner.pause();
	}

	override innerEnded(): void {
		this.#carrier.push(null);
	}

	protected override transmit(bytes: Uint8Array): boolean {
		if (!this.#socket.writable) return false;
		return this.#socket.write(bytes);
	}

	protected override finish(): void {
		this.#socket.end(() => this.finished());
	}

	protected override abort(error?: Error): void {
		this.inner.close(error);
		this.#socket.destroy();
	}

	protected override get source(): Pausable {
		return this.#socket;
	}
}

/** The inner connection as the stream node:tls reads ciphertext from and writes it to. */
class InnerStream extends Duplex {
	readonly #inner: Connection;

	/** Fed by the layer's `fromInner` and `innerEnded`; writes go straight to `inner`. */
	constructor(inner: Connection) {
		super({ allowHalfOpen: true });
		this.#inner = inner;
		inner.whenClosed((closed) => {
			if (!this.destroyed) this.destroy(closed.error);
		});
	}

	override _read(): void {
		this.#inner.resume();
	}

	override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
		this.#inner.write(chunk).then(() => callback(), callback);
	}

	override _final(callback: (error?: Error | null) => void): void {
		this.#inner.end().then(() => callback(), callback);
	}

	override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
		if (error) this.#inner.close(error);
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
	return (connection: Connection): Promise<void> | void => {
		const secure = new TlsConnection(connection, options);
		onLayer?.(connection, secure);
		if (isReceiver(handler)) {
			secure.receive(handler);
			return;
		}
		return handler(secure);
	};
}
