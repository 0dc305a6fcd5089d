import type { Connection, Handler, Listener, Receiver } from "./contract.ts";
import { ConnectionError, type ConnectionErrorReason } from "./errors.ts";

export interface ServeOptions {
	/**
	 * Milliseconds in which nothing moves either way (no byte received, no
	 * byte handed to the OS) after which a connection is half-closed: its
	 * reads end (so `echo` sends what it has and its FIN), then, if the peer
	 * has not closed within the same time (at most 2 s), it is aborted with
	 * a `timeout` error. A connection whose echo is held back only because
	 * the peer reads slowly is not idle. Off by default.
	 */
	// One coarse JS sweep over byte counts, the same for every driver: Bun's
	// `socket.timeout()` is a one-shot deadline with about 4 s granularity
	// that fires under traffic, and `setTimeout` on sockets exists only in node:net.
	idleTimeout?: number;
	/** Called for each accepted connection before its handler starts. If it throws, that connection is aborted and the error goes to `onError`. */
	onConnection?(connection: Connection): void;
	/** Called when a handler throws or rejects. The connection is then aborted; the server goes on. */
	onError?(error: unknown, connection: Connection): void;
	/** Called once a connection is closed in both directions. */
	onClose?(connection: Connection, info: ConnectionSummary): void;
}

/**
 * How a connection ended: `closed` when both sides finished cleanly, `idle`
 * after an idle timeout, `shutdown` when it was still open at the end of a
 * graceful shutdown and was aborted, `handler-error` when the handler threw,
 * or the reason of the connection's error.
 */
export type ConnectionOutcome = "closed" | "idle" | "shutdown" | "handler-error" | ConnectionErrorReason;

export interface ConnectionSummary {
	/** Milliseconds from accept to close. */
	readonly duration: number;
	readonly outcome: ConnectionOutcome;
	/** The handler's error, if it threw. */
	readonly error: unknown;
}

export interface ServerStats {
	/** Connections accepted so far. */
	readonly accepted: number;
	/** Connections open now. */
	readonly active: number;
	/** Bytes received from, and handed to the OS for, closed and open connections. */
	readonly bytesIn: number;
	readonly bytesOut: number;
	/** Connections that ended with an error: a handler error, a reset, an abort; not idle ones, nor those cut by a shutdown. */
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
 * Serves every connection the listener accepts: `serve()` becomes the
 * listener's one acceptor (`acceptEach()`), and each connection goes to
 * `handler` in the turn it arrived in. A {@link Receiver} (such as `echo`)
 * is handed every connection with `receive()`, on the push path, with
 * nothing allocated per connection; a function runs once per connection.
 * A handler that throws ends its own connection only and is reported
 * through `onError`.
 */
export function serve(listener: Listener, handler: Handler | Receiver, options: ServeOptions = {}): Server {
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
			// Bytes the OS takes from our queue count: a slow reader is still a reader.
			const bytes = connection.bytesRead + connection.bytesWritten - connection.outboundBytes;
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

	/** Connections still open when a shutdown's timeout passed. */
	const cutAtShutdown = new Set<Connection>();
	/** Handler failures, by connection; rare, so a map rather than a field per connection. */
	const failures = new Map<Connection, unknown>();

	// One function each for every connection: a server may hold tens of thousands.
	const closed = (connection: Connection) => {
		connections.delete(connection);
		closedIn += connection.bytesRead;
		closedOut += sent(connection);
		const error = connection.error;
		const idle = idled.delete(connection);
		const cut = cutAtShutdown.delete(connection);
		const handlerFailed = failures.has(connection);
		const failure = failures.get(connection);
		failures.delete(connection);
		activity.delete(connection);
		const started = openedAt.get(connection);
		openedAt.delete(connection);
		if ((error && !idle && !cut) || handlerFailed) errors++;
		options.onClose?.(connection, {
			duration: started === undefined ? 0 : Math.round(performance.now() - started),
			outcome: idle ? "idle" : cut ? "shutdown" : handlerFailed ? "handler-error" : error ? error.reason : "closed",
			error: failure,
		});
	};
	const failed = (connection: Connection, error: unknown) => {
		// A connection that failed under its handler is reported through `closed`; only the handler's own faults are errors here.
		if (!(error instanceof ConnectionError && connection.error)) {
			failures.set(connection, error);
			options.onError?.(error, connection);
		}
		connection.close(error instanceof Error ? error : new Error(String(error)));
	};

	// One receiver for the whole server that reports a receiver's faults as a function's are. It
	// inherits `data` and `end` from the handler, so each chunk costs no extra call.
	const receiver: Receiver | undefined = isReceiver(handler)
		? Object.create(handler, {
				error: {
					value(error: unknown, connection: Connection) {
						handler.error?.(error, connection);
						failed(connection, error);
					},
				},
			})
		: undefined;

	const run = (connection: Connection) => {
		accepted++;
		connections.add(connection);
		if (options.onClose) openedAt.set(connection, performance.now());
		if (sweeper) activity.set(connection, { bytes: 0, since: performance.now() });
		connection.whenClosed(closed);
		try {
			options.onConnection?.(connection);
		} catch (error) {
			failed(connection, error);
			return;
		}
		if (receiver) {
			connection.receive(receiver);
			return;
		}
		let result: Promise<void>;
		try {
			result = (handler as Handler)(connection);
		} catch (error) {
			result = Promise.reject(error);
		}
		result.then(
			// Idempotent for handlers that ended; a lost connection shows in `closed` and `error`.
			() => void connection.end(),
			(error: unknown) => failed(connection, error),
		);
	};

	listener.acceptEach(run);

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
				bytesOut: closedOut + sum(sent),
				errors,
			};
		},
		shutdown({ timeout = 2000 } = {}) {
			shutdown ??= (async () => {
				clearInterval(sweeper);
				await listener.close();
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
					cutAtShutdown.add(connection);
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

/** Bytes handed to the OS: accepted by `write()` and `send()`, less what is still (or was left) queued. */
function sent(connection: Connection): number {
	return connection.bytesWritten - connection.outboundBytes;
}

function isReceiver(handler: Handler | Receiver): handler is Receiver {
	return (
		typeof (handler as Partial<Receiver>).data === "function" &&
		typeof (handler as Partial<Receiver>).end === "function"
	);
}
