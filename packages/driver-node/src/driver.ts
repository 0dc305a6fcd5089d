import net from "node:net";
import {
	type Address,
	type Connection,
	type ConnectOptions,
	DEFAULT_HIGH_WATER_MARK,
	ListenError,
	type Listener,
	type ListenOptions,
	type UnixAddress,
} from "@echo-cli/core";
import {
	BaseConnection,
	BaseDriver,
	BaseListener,
	type BindTarget,
	connectionErrorFrom,
	type Pausable,
	socketAddress,
	UNNAMED_PEER,
} from "@echo-cli/core/driver";

/**
 * Whether `net.Server.listen` takes `reusePort`: Bun's `node:net`, Node 22.12+ and 23.1+. Older
 * Node ignores the option without a word and the second bind fails with EADDRINUSE.
 */
export const reusePortAvailable: boolean = ((): boolean => {
	if (process.versions.bun !== undefined) return true;
	const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
	return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
})();

export interface NodeDriverOptions {
	/** Disable Nagle's algorithm on every socket. Default true, as in Bun. */
	readonly noDelay?: boolean;
}

/**
 * The contract over `node:net`, for Node >= 20 and Bun's `node:net`.
 *
 * - Sockets are half-open capable (`allowHalfOpen`), so a peer's FIN ends
 *   only our read side; `end()` sends FIN after Node flushed its queue.
 * - The high-water mark is set on the server and every socket, so Node 20
 *   (16 KiB default) and Bun (64 KiB) behave alike.
 * - Every socket and the server have an `'error'` listener: a peer reset
 *   becomes a `ConnectionError`, never an uncaught exception.
 * - Reading is paused while the handler has a high-water mark of unread
 *   bytes, and resumed as it reads.
 */
export class NodeDriver extends BaseDriver {
	readonly name = "node";
	readonly #noDelay: boolean;

	constructor(options: NodeDriverOptions = {}) {
		super();
		this.#noDelay = options.noDelay ?? true;
	}

	protected async bind(target: BindTarget): Promise<Listener> {
		const { highWaterMark, options } = target;
		const reusePort = options.reusePort === true && target.transport === "tcp";
		if (reusePort && !reusePortAvailable) {
			throw new ListenError(
				"unavailable",
				`cannot listen on port ${target.port} with SO_REUSEPORT: node:net has it from Node 22.12 and 23.1, this is Node ${process.versions.node}`,
			);
		}
		const server = net.createServer({ allowHalfOpen: true, noDelay: this.#noDelay, highWaterMark });
		await new Promise<void>((resolve, reject) => {
			server.once("error", reject);
			server.listen(
				target.transport === "unix"
					? { path: target.path, backlog: options.backlog }
					: { host: target.host, port: target.port, backlog: options.backlog, ...(reusePort ? { reusePort } : {}) },
				() => {
					server.off("error", reject);
					resolve();
				},
			);
		}).catch((error: unknown) => {
			server.close();
			throw error;
		});
		return new NodeListener(server, options, highWaterMark);
	}

	connect(address: Address, options: ConnectOptions = {}): Promise<Connection> {
		const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
		return new Promise((resolve, reject) => {
			const common = { allowHalfOpen: true, noDelay: this.#noDelay, highWaterMark };
			const socket =
				address.transport === "unix"
					? net.connect({ ...common, path: address.path })
					: net.connect({ ...common, host: address.host, port: address.port });
			const failed = (error: Error) => reject(connectionErrorFrom(error));
			socket.once("error", failed);
			socket.once("connect", () => {
				socket.off("error", failed);
				resolve(new NodeConnection(socket, highWaterMark, address.transport === "unix" ? address : undefined));
			});
		});
	}
}

class NodeListener extends BaseListener {
	readonly #server: net.Server;

	constructor(server: net.Server, options: ListenOptions, highWaterMark: number) {
		super(serverAddress(server), options);
		this.#server = server;
		const unix = this.address.transport === "unix" ? this.address : undefined;
		server.on("connection", (socket) => this.accepted(new NodeConnection(socket, highWaterMark, unix)));
		// After listening, Node reports accept failures here; libuv keeps the server running.
		server.on("error", () => {});
	}

	protected async stop(): Promise<void> {
		// close() stops accepting at once; its callback waits for every connection, which is not ours to wait for.
		this.#server.close();
	}
}

class NodeConnection extends BaseConnection {
	readonly #socket: net.Socket;
	readonly #local: Address | undefined;
	readonly #remote: Address | undefined;
	#failure: Error | undefined;

	/** `unix` is the socket file's address for a unix socket connection. */
	constructor(socket: net.Socket, highWaterMark: number, unix: UnixAddress | undefined) {
		super(highWaterMark);
		this.#socket = socket;
		// Captured now: a closed socket can no longer tell.
		this.#local = unix ?? socketAddress(socket.localAddress, socket.localPort, socket.localFamily);
		this.#remote = unix ? UNNAMED_PEER : socketAddress(socket.remoteAddress, socket.remotePort, socket.remoteFamily);
		socket.on("data", (chunk: Buffer) => this.received(chunk));
		socket.on("end", () => this.receivedEnd());
		socket.on("drain", () => this.drained());
		socket.on("error", (error) => {
			this.#failure ??= error;
		});
		socket.on("close", () => this.terminated(this.#failure));
	}

	get outboundBytes(): number {
		return this.#socket.writableLength;
	}

	protected localAddress(): Address | undefined {
		return this.#local;
	}

	protected remoteAddress(): Address | undefined {
		return this.#remote;
	}

	protected transmit(bytes: Uint8Array): boolean {
		// A socket destroyed but not yet closed: the 'close' event rejects the waiting writer.
		if (!this.#socket.writable) return false;
		return this.#socket.write(bytes);
	}

	protected finish(): void {
		// The callback also runs when the socket fails first (with the error): only a clean flush has finished.
		this.#socket.end((error?: Error | null) => {
			if (error) this.#failure ??= error;
			else this.finished();
		});
	}

	protected abort(error?: Error): void {
		if (error) this.#socket.resetAndDestroy();
		else this.#socket.destroy();
	}

	protected override get source(): Pausable {
		return this.#socket;
	}
}

function serverAddress(server: net.Server): Address {
	const address = server.address();
	if (typeof address === "string") return { transport: "unix", path: address };
	if (address === null) throw new Error("the server is not listening");
	return { transport: "tcp", host: address.address, port: address.port, family: family(address.family) };
}

function family(value: string | number | undefined): "IPv4" | "IPv6" {
	return value === "IPv6" || value === 6 ? "IPv6" : "IPv4";
}
