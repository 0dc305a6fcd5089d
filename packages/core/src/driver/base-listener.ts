import type { Address, Connection, Listener, ListenOptions } from "../contract.ts";
import { MisuseError } from "../errors.ts";

/**
 * The part of {@link Listener} that is the same in every driver: the queue
 * of accepted connections, pending `accept()` calls or the one
 * `acceptEach()` callback, the open-connection count and idempotent
 * `close()`. A driver calls `accepted()` for each new connection and
 * implements `stop()` to stop its socket from accepting.
 */
export abstract class BaseListener<A extends Address = Address> implements Listener<A> {
	#backlog: Connection[] = [];
	#waiters: ((connection: Connection | null) => void)[] = [];
	#acceptor: ((connection: Connection) => void) | undefined;
	#open = 0;
	#refused = 0;
	#closing: Promise<void> | undefined;
	/** One function for every connection, rather than a closure each. */
	readonly #released = () => {
		this.#open--;
	};
	readonly #limits: Pick<ListenOptions, "maxConnections" | "onRefuse">;
	readonly address: A;

	constructor(address: A, limits: Pick<ListenOptions, "maxConnections" | "onRefuse"> = {}) {
		this.address = address;
		this.#limits = limits;
	}

	/** Stops accepting at the socket level. Called once. */
	protected abstract stop(): Promise<void>;

	get connectionCount(): number {
		return this.#open;
	}

	get refusedCount(): number {
		return this.#refused;
	}

	protected accepted(connection: Connection): void {
		if (this.#open >= (this.#limits.maxConnections ?? Number.POSITIVE_INFINITY)) {
			this.#refused++;
			connection.close();
			this.#limits.onRefuse?.(connection.remote);
			return;
		}
		this.#open++;
		connection.whenClosed(this.#released);
		if (this.#closing) {
			connection.close();
			return;
		}
		if (this.#acceptor) {
			this.#hand(this.#acceptor, connection);
			return;
		}
		const waiter = this.#waiters.shift();
		if (waiter) waiter(connection);
		else this.#backlog.push(connection);
	}

	accept(): Promise<Connection | null> {
		if (this.#acceptor) return Promise.reject(concurrentAccept());
		const next = this.#backlog.shift();
		if (next) return Promise.resolve(next);
		if (this.#closing) return Promise.resolve(null);
		return new Promise((resolve) => {
			this.#waiters.push(resolve);
		});
	}

	acceptEach(onConnection: (connection: Connection) => void): void {
		if (this.#acceptor || this.#waiters.length > 0) throw concurrentAccept();
		this.#acceptor = onConnection;
		for (const connection of this.#backlog.splice(0)) this.#hand(onConnection, connection);
	}

	#hand(onConnection: (connection: Connection) => void, connection: Connection): void {
		try {
			onConnection(connection);
		} catch (error) {
			connection.close(error instanceof Error ? error : new Error(String(error)));
		}
	}

	close(): Promise<void> {
		if (this.#closing) return this.#closing;
		this.#closing = this.stop();
		for (const waiter of this.#waiters.splice(0)) waiter(null);
		// Queued connections were never handed to anyone, so nobody would serve them.
		for (const connection of this.#backlog.splice(0)) connection.close();
		return this.#closing;
	}

	async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
		for (;;) {
			const connection = await this.accept();
			if (connection === null) return;
			yield connection;
		}
	}

	[Symbol.asyncDispose](): Promise<void> {
		return this.close();
	}
}

function concurrentAccept(): MisuseError {
	return new MisuseError(
		"concurrent-accept",
		"accept() or acceptEach() called while acceptEach() is active or accept() is pending; one acceptor at a time",
	);
}
