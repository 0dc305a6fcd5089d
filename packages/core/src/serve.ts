import { BaseConnection, whenClosed } from "./base-connection.ts";
import type { Connection, Handler, Listener } from "./contract.ts";
import { echo } from "./echo.ts";
import { ConnectionError } from "./errors.ts";

export interface ServeOptions {
	/**
	 * Milliseconds without traffic either way after which a connection is
	 * half-closed: its reads end (so `echo` sends what it has and its FIN),
	 * then, if the peer has not closed within the same time (at most 2 s),
	 * it is aborted with a `timeout` error. Off by default.
	 *
	 * Built on one coarse JS sweep timer over each connection's byte counts, the
	 * same for every driver: Bun's `socket.timeout()` is a one-shot deadline
	 * with about 4 s granularity that fires under traffic, and Node's
	 * `setTimeout` exists only on node:net. Proved by the "idle timeout"
	 * cases of `apps/cli/test/options.test.ts` per driver and runtime.
	 */
	idleTimeout?: number;
	/** Called for each accepted connection before its handler starts. */
	onConnection?(connection: Connection): void;
	/** Called when a handler throws or rejects. The connection is then aborted; the server goes on. */
	onError?(error: unknown, connection: Connection): void;
	/** Called once a connection is closed in both directions. */
	onClose?(connection: Connection, info: ConnectionSummary): void;
}

export interface ConnectionSummary {
	/** Milliseconds from accept to close. */
	readonly duration: number;
	/** How it ended: `closed` when both sides finished cleanly, `idle` after an idle timeout, or the error reason. */
	readonly outcome: string;
	/** The handler's error, if it threw. */
	readonly error: unknown;
}

export interface ServerStats {
	/** Connections accepted so far. */
	readonly accepted: number;
	/** Connections open now. */
	readonly active: number;
	/** Bytes received from and sent to closed and open connections. */
	readonly bytesIn: number;
	readonly bytesOut: number;
	/** Connections that ended with an error: a handler error, a reset, an abort. */
	readonly errors: number;
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

/**
 * The accept loop: one task per connection, each running `handler`. A
 * handler that throws ends its own connection only and is reported through
 * `onError`.
 */
export function serve(listener: Listener, handler: Handler, options: ServeOptions = {}): Server {
	const connections = new Set<Connection>();
	let accepted = 0;
	let errors = 0;
	let closedIn = 0;
	let closedOut = 0;
	let shutdown: Promise<ShutdownResult> | undefined;
	/** Connections half-closed for idleness, with the time at which they are aborted. */
	const idled = new Map<Connection, number>();
	/**
	 * Per connection, its byte count at the last sweep and when that count
	 * last changed: the sweep notices traffic without a clock read per chunk.
	 */
	const activity = new Map<Connection, { bytes: number; since: number }>();
	const sweep = (timeout: number) => {
		const now = performance.now();
		for (const [connection, seen] of activity) {
			const deadline = idled.get(connection);
			if (deadline !== undefined) {
				if (now >= deadline) connection.close(new ConnectionError("timeout", `idle for more than ${timeout} ms`));
				continue;
			}
			const bytes = connection.bytesRead + connection.bytesWritten;
			if (bytes !== seen.bytes) {
				seen.bytes = bytes;
				seen.since = now;
			} else if (now - seen.since >= timeout) {
				idled.set(connection, now + Math.min(timeout, 2000));
				connection.stopReading();
			}
		}
	};
	const idleTimeout = options.idleTimeout;
	const sweeper =
		idleTimeout && idleTimeout > 0
			? setInterval(() => sweep(idleTimeout), Math.min(Math.max(idleTimeout / 4, 5), 1000))
			: undefined;
	// The sweep alone must not keep a process alive.
	(sweeper as { unref?: () => void } | undefined)?.unref?.();
	/** Per connection, when it was accepted: only kept when someone asks for durations. */
	const openedAt = new Map<Connection, number>();

	/** Handler failures, by connection; rare, so a map rather than a field per connection. */
	const failures = new Map<Connection, unknown>();

	// One function each for every connection: a server may hold tens of thousands.
	const closed = (connection: Connection) => {
		connections.delete(connection);
		closedIn += connection.bytesRead;
		closedOut += connection.bytesWritten;
		const error = connection.error;
		const idle = idled.delete(connection);
		const handlerFailed = failures.has(connection);
		const failure = failures.get(connection);
		failures.delete(connection);
		activity.delete(connection);
		const started = openedAt.get(connection);
		openedAt.delete(connection);
		if ((error && !idle) || handlerFailed) errors++;
		options.onClose?.(connection, {
			duration: started === undefined ? 0 : Math.round(performance.now() - started),
			outcome: idle ? "idle" : error ? error.reason : handlerFailed ? "handler-error" : "closed",
			error: failure,
		});
	};
	const failed = (connection: Connection, error: unknown) => {
		failures.set(connection, error);
		// A failed connection is reported through `closed`; only the handler's own faults are its errors.
		if (!(error instanceof ConnectionError) || !connection.error) options.onError?.(error, connection);
		connection.close(error instanceof Error ? error : new Error(String(error)));
	};
	const echoed = (connection: Connection, error?: Error) => {
		if (error && !(error instanceof ConnectionError)) failed(connection, error);
	};

	const run = (connection: Connection) => {
		accepted++;
		connections.add(connection);
		if (options.onClose) openedAt.set(connection, performance.now());
		if (sweeper) activity.set(connection, { bytes: 0, since: performance.now() });
		options.onConnection?.(connection);
		whenClosed(connection, closed);
		// The built-in echo on a driver's own connection needs no promise at all.
		if (handler === echo && connection instanceof BaseConnection) {
			connection.echoThen(echoed);
			return;
		}
		let result: Promise<void>;
		try {
			result = handler(connection);
		} catch (error) {
			result = Promise.reject(error);
		}
		result.then(
			// Idempotent for handlers that ended; a lost connection shows in `closed` and `error`.
			() => void connection.end(),
			(error: unknown) => failed(connection, error),
		);
	};

	const loop = (async () => {
		for (;;) {
			const connection = await listener.accept();
			if (connection === null) return;
			run(connection);
		}
	})();

	const sum = (pick: (c: Connection) => number) => {
		let total = 0;
		for (const c of connections) total += pick(c);
		return total;
	};

	return {
		listener,
		connections,
		get stats(): ServerStats {
			return {
				accepted,
				active: connections.size,
				bytesIn: closedIn + sum((c) => c.bytesRead),
				bytesOut: closedOut + sum((c) => c.bytesWritten),
				errors,
			};
		},
		shutdown({ timeout = 2000 } = {}) {
			shutdown ??= (async () => {
				clearInterval(sweeper);
				await listener.close();
				await loop;
				const open = [...connections];
				for (const connection of open) connection.stopReading();
				let timer: ReturnType<typeof setTimeout> | undefined;
				const deadline = new Promise<void>((resolve) => {
					timer = setTimeout(resolve, timeout);
				});
				await Promise.race([Promise.all(open.map((c) => c.closed)), deadline]);
				clearTimeout(timer);
				let aborted = 0;
				for (const connection of open) {
					if (!connections.has(connection)) continue;
					aborted++;
					connection.close(new ConnectionError("timeout", `still open ${timeout} ms after shutdown began`));
				}
				await Promise.all(open.map((c) => c.closed));
				return { drained: open.length - aborted, aborted };
			})();
			return shutdown;
		},
		async abort() {
			clearInterval(sweeper);
			await listener.close();
			for (const connection of connections) connection.close(new ConnectionError("aborted", "the server stopped"));
			await Promise.all([...connections].map((c) => c.closed));
		},
	};
}
