import {
	type Address,
	type Connection,
	type ConnectOptions,
	DEFAULT_HIGH_WATER_MARK,
	ListenError,
	type Listener,
	type TlsServerOptions,
} from "@echo-cli/core";
import {
	BaseConnection,
	BaseDriver,
	BaseListener,
	type BindTarget,
	connectionErrorFrom,
	errorCode,
	socketAddress,
	UNNAMED_PEER,
} from "@echo-cli/core/driver";
import { type DenoAddr, type DenoConn, type DenoListener, type DenoNamespace, deno } from "./deno-api.ts";

/** The first read's buffer; it doubles while reads fill it, up to {@link MAX_READ}. */
const MIN_READ = 16 * 1024;
/** The largest chunk a connection reads at once. */
export const MAX_READ = 256 * 1024;
/** Queued chunks are joined into one write up to this size: one write op instead of many small ones. */
const JOIN_LIMIT = 256 * 1024;
/** How long the accept loop waits when the process is out of file descriptors. */
const ACCEPT_RETRY_MS = 100;

function runtime(): DenoNamespace {
	if (deno === undefined) throw new Error("@echo-cli/driver-deno runs on Deno only (it is built on Deno.listen)");
	return deno;
}

/**
 * The contract over `Deno.listen` and `Deno.connect`, TCP and unix sockets,
 * with TLS as a layer over either.
 *
 * Deno's connections are pull-based: `read()` fills a buffer, `write()`
 * takes what fits and says how much, `closeWrite()` is the half-close. A
 * read loop runs while the connection is not paused, handing each chunk to
 * the base's inbound queue; a write loop sends what is queued, in order,
 * until every byte is taken (a `write()` may take part of a buffer). The
 * connection's `readable` stream is never used: iterating it to EOF closes
 * the connection, so nothing could be written after the peer's FIN
 * (denoland/deno#27510).
 */
export class DenoDriver extends BaseDriver {
	readonly name = "deno";

	protected async bind(target: BindTarget): Promise<Listener> {
		const api = runtime();
		const secure = target.options.tls ? await serverSessions(target.options.tls, target.highWaterMark) : undefined;
		if (target.options.reusePort) {
			// Deno.listen's reusePort needs --unstable-net, and without it the process exits with code 70.
			throw new ListenError(
				"unavailable",
				"the deno driver has no SO_REUSEPORT (Deno.listen needs --unstable-net for it); use the node driver",
			);
		}
		if (target.transport === "unix") {
			const socket = api.listen({ transport: "unix", path: target.path });
			return new DenoServer(socket, { transport: "unix", path: target.path }, target, secure);
		}
		const socket = api.listen({ hostname: target.host, port: target.port });
		const address = socketAddress(target.host, (socket.addr as { port: number }).port, target.family);
		return new DenoServer(socket, address as Address, target, secure);
	}

	async connect(address: Address, options: ConnectOptions = {}): Promise<Connection> {
		const api = runtime();
		const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
		let conn: DenoConn;
		try {
			conn =
				address.transport === "unix"
					? await api.connect({ transport: "unix", path: address.path })
					: await api.connect({ hostname: address.host, port: address.port });
		} catch (error) {
			throw connectionErrorFrom(error);
		}
		const connection = new DenoConnection(conn, highWaterMark, address.transport === "unix" ? address : undefined);
		if (!options.tls) return connection;
		const { TlsConnection } = await import("@echo-cli/core/tls");
		return TlsConnection.connect(
			connection,
			address.transport === "tcp" ? address : undefined,
			options.tls,
			highWaterMark,
		);
	}
}

/** Wraps an accepted connection in a TLS server session. */
type ServerSessions = (connection: Connection) => Connection;

/**
 * TLS on Deno is core's `TlsConnection` (`node:tls` over the connection's
 * bytes): `Deno.listenTls` has no client-certificate policy and names no
 * protocol or cipher. Loaded only for TLS, so that plain listeners stay
 * small; the secure context is made before binding, so a bad certificate
 * or key fails the listen.
 */
async function serverSessions(options: TlsServerOptions, highWaterMark: number): Promise<ServerSessions> {
	const { TlsConnection, serverTls } = await import("@echo-cli/core/tls");
	const side = serverTls(options);
	return (connection) => new TlsConnection(connection, side, highWaterMark);
}

class DenoServer extends BaseListener {
	readonly #socket: DenoListener;
	readonly #highWaterMark: number;
	readonly #unix: Address | undefined;
	readonly #secure: ServerSessions | undefined;
	#stopped = false;

	constructor(socket: DenoListener, address: Address, target: BindTarget, secure: ServerSessions | undefined) {
		super(address, target.options);
		this.#socket = socket;
		this.#highWaterMark = target.highWaterMark;
		this.#unix = target.transport === "unix" ? address : undefined;
		this.#secure = secure;
		void this.#acceptLoop();
	}

	async #acceptLoop(): Promise<void> {
		while (!this.#stopped) {
			let conn: DenoConn;
			try {
				conn = await this.#socket.accept();
			} catch (error) {
				if (this.#stopped) return;
				// Out of file descriptors (or a peer gone before its accept): the listener stays and tries again.
				if (errorCode(error) === "EMFILE" || errorCode(error) === "ENFILE")
					await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
				continue;
			}
			const connection = new DenoConnection(conn, this.#highWaterMark, this.#unix);
			this.accepted(this.#secure ? this.#secure(connection) : connection);
		}
	}

	protected async stop(): Promise<void> {
		this.#stopped = true;
		// Deno.Listener.close() closes the listening socket only, and removes no socket file: the next bind clears it.
		this.#socket.close();
	}
}

class DenoConnection extends BaseConnection {
	readonly #conn: DenoConn;
	readonly #local: Address | undefined;
	readonly #remote: Address | undefined;
	/** Bytes queued and not yet taken by the socket, the chunk being written included. */
	#outbound = 0;
	#queue: Uint8Array[] = [];
	/** The chunk being written, and how much of it the socket took. */
	#current: Uint8Array | undefined;
	#offset = 0;
	#reading = false;
	#paused = false;
	#finSent = false;
	#closed = false;
	#buffer: Uint8Array;
	// Callbacks made once per connection: a read or a write costs Deno's promise and nothing more.
	readonly #onRead = (n: number | null) => this.#read(n);
	readonly #onWritten = (n: number) => this.#written(n);
	readonly #onFailure = (error: unknown) => this.#close(error);

	/** `unix` is the socket file's address, for a unix connection. */
	constructor(conn: DenoConn, highWaterMark: number, unix: Address | undefined) {
		super(highWaterMark);
		this.#conn = conn;
		if (unix) {
			this.#local = unix;
			this.#remote = UNNAMED_PEER;
		} else {
			this.#local = addressOf(conn.localAddr);
			this.#remote = addressOf(conn.remoteAddr);
			// Deno sets TCP_NODELAY on accepted sockets by default; said here so that no runtime default decides it.
			conn.setNoDelay?.(true);
		}
		this.#buffer = new Uint8Array(MIN_READ);
		this.#readNext();
	}

	get outboundBytes(): number {
		return this.#outbound;
	}

	protected localAddress(): Address | undefined {
		return this.#local;
	}

	protected remoteAddress(): Address | undefined {
		return this.#remote;
	}

	protected override pauseSource(): void {
		this.#paused = true;
	}

	protected override resumeSource(): void {
		this.#paused = false;
		this.#readNext();
	}

	#readNext(): void {
		if (this.#reading || this.#paused || this.#closed) return;
		this.#reading = true;
		this.#conn.read(this.#buffer).then(this.#onRead, this.#onFailure);
	}

	#read(n: number | null): void {
		this.#reading = false;
		if (this.#closed) return;
		if (n === null) {
			this.receivedEnd();
			if (this.#finSent) this.#close();
			return;
		}
		const buffer = this.#buffer;
		if (n === buffer.byteLength) {
			// A full buffer goes to the reader as it is; the next read gets a new one, larger.
			this.#buffer = new Uint8Array(Math.min(buffer.byteLength * 2, MAX_READ));
			this.received(buffer);
		} else if (n > buffer.byteLength / 4) {
			this.#buffer = new Uint8Array(buffer.byteLength);
			this.received(buffer.subarray(0, n));
		} else {
			// A small read is copied out, and the buffer read into again.
			this.received(buffer.slice(0, n));
		}
		this.#readNext();
	}

	protected transmit(bytes: Uint8Array): boolean {
		if (this.#closed) return false;
		this.#queue.push(bytes);
		this.#outbound += bytes.byteLength;
		if (this.#current === undefined) this.#writeNext();
		return this.#outbound < this.highWaterMark;
	}

	/** Writes the next queued bytes, in order; once all is out after end(), the FIN. */
	#writeNext(): void {
		if (this.#queue.length === 0) {
			if (this.isEnding) void this.#sendFin();
			return;
		}
		const chunk = this.#next();
		this.#current = chunk;
		this.#offset = 0;
		this.#conn.write(chunk).then(this.#onWritten, this.#onFailure);
	}

	#written(n: number): void {
		if (this.#closed) return;
		const chunk = this.#current as Uint8Array;
		this.#offset += n;
		if (this.#offset < chunk.byteLength) {
			this.#conn.write(chunk.subarray(this.#offset)).then(this.#onWritten, this.#onFailure);
			return;
		}
		this.#current = undefined;
		this.#outbound -= chunk.byteLength;
		this.drained();
		// drained() may have queued more, and started its write already.
		if (this.#current === undefined && !this.#closed) this.#writeNext();
	}

	/** The head of the queue, joined with the small chunks behind it. */
	#next(): Uint8Array {
		const queue = this.#queue;
		const head = queue[0] as Uint8Array;
		let count = 1;
		let total = head.byteLength;
		while (count < queue.length && total + (queue[count] as Uint8Array).byteLength <= JOIN_LIMIT) {
			total += (queue[count] as Uint8Array).byteLength;
			count++;
		}
		if (count === 1) {
			queue.shift();
			return head;
		}
		const joined = new Uint8Array(total);
		let at = 0;
		for (const chunk of queue.splice(0, count)) {
			joined.set(chunk, at);
			at += chunk.byteLength;
		}
		return joined;
	}

	protected finish(): void {
		if (this.#current === undefined && this.#queue.length === 0) void this.#sendFin();
	}

	async #sendFin(): Promise<void> {
		if (this.#finSent || this.#closed) return;
		this.#finSent = true;
		try {
			await this.#conn.closeWrite();
		} catch (error) {
			this.#close(error);
			return;
		}
		this.finished();
		if (this.peerFinished) this.#close();
	}

	protected abort(error?: Error): void {
		this.#close(error);
	}

	/** Closes the socket once; a read or write it cuts short fails, and that is not news. */
	#close(error?: unknown): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#queue = [];
		try {
			this.#conn.close();
		} catch {
			// Already closed by Deno (a reset): the error that came with it is the reason.
		}
		this.terminated(error === undefined ? undefined : connectionErrorFrom(error));
	}
}

function addressOf(address: DenoAddr): Address | undefined {
	if (address.transport !== "tcp") return undefined;
	return socketAddress(address.hostname, address.port, address.hostname.includes(":") ? "IPv6" : "IPv4");
}
