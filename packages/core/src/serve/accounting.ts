import type { Connection } from "../contract.ts";
import type { TimeoutCut } from "./timeouts.ts";
import type { ConnectionSummary } from "./types.ts";

/**
 * What `serve()` counts: connections by how they ended, and bytes, both for
 * the connections still open and for those that closed.
 */
export class Accounting {
	accepted = 0;
	errors = 0;
	idle = 0;
	stalled = 0;
	#closedIn = 0;
	#closedOut = 0;
	/** Per connection, when it was accepted: kept only when someone asks for durations. */
	readonly #openedAt: Map<Connection, number> | undefined;
	/** Handler failures, by connection; rare, so a map rather than a field per connection. */
	readonly #failures = new Map<Connection, unknown>();
	/** Connections still open when a shutdown's timeout passed. */
	readonly #cutAtShutdown = new Set<Connection>();

	constructor(durations: boolean) {
		this.#openedAt = durations ? new Map() : undefined;
	}

	opened(connection: Connection): void {
		this.accepted++;
		this.#openedAt?.set(connection, performance.now());
	}

	handlerFailed(connection: Connection, error: unknown): void {
		this.#failures.set(connection, error);
	}

	cutAtShutdown(connection: Connection): void {
		this.#cutAtShutdown.add(connection);
	}

	/** Moves a closed connection into the totals and says how it ended. */
	closed(connection: Connection, timeout: TimeoutCut | undefined): ConnectionSummary {
		const bytesIn = connection.bytesRead;
		const bytesOut = sent(connection);
		this.#closedIn += bytesIn;
		this.#closedOut += bytesOut;
		const error = connection.error;
		const cut = this.#cutAtShutdown.delete(connection);
		const handlerFailed = this.#failures.has(connection);
		const failure = this.#failures.get(connection);
		this.#failures.delete(connection);
		const started = this.#openedAt?.get(connection);
		this.#openedAt?.delete(connection);
		if (timeout === "idle") this.idle++;
		if (timeout === "stalled") this.stalled++;
		// Cut by the server's own policy (a timeout, the end of a drain) is no error; a handler's failure always is.
		if ((error && !cut && !timeout) || handlerFailed) this.errors++;
		return {
			duration: started === undefined ? 0 : Math.round(performance.now() - started),
			outcome: timeout ?? (cut ? "shutdown" : handlerFailed ? "handler-error" : error ? error.reason : "closed"),
			error: failure,
			bytesIn,
			bytesOut,
		};
	}

	/** Bytes received from, and handed to the OS for, every connection: the closed ones and `open`. */
	bytes(open: Iterable<Connection>): { bytesIn: number; bytesOut: number } {
		let bytesIn = this.#closedIn;
		let bytesOut = this.#closedOut;
		for (const connection of open) {
			bytesIn += connection.bytesRead;
			bytesOut += sent(connection);
		}
		return { bytesIn, bytesOut };
	}
}

/** Bytes handed to the OS: accepted by `write()` and `send()`, less what is still (or was left) queued. */
function sent(connection: Connection): number {
	return connection.bytesWritten - connection.outboundBytes;
}
