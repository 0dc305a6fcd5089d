import { type Connection, type Handler, isReceiver, type Listener, type Receiver } from "./contract.ts";
import { ConnectionError } from "./errors.ts";
import { Accounting } from "./serve/accounting.ts";
import { abortAll, drain } from "./serve/drain.ts";
import { Timeouts } from "./serve/timeouts.ts";
import type { ServeOptions, Server, ShutdownResult } from "./serve/types.ts";

export type {
	ConnectionOutcome,
	ConnectionSummary,
	ServeOptions,
	Server,
	ServerStats,
	ShutdownOptions,
	ShutdownResult,
} from "./serve/types.ts";

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
	const accounting = new Accounting(options.onClose !== undefined);
	const timeouts = Timeouts.start(options);
	let shutdown: Promise<ShutdownResult> | undefined;

	// One function each for every connection: a server may hold tens of thousands.
	const closed = (connection: Connection) => {
		connections.delete(connection);
		const summary = accounting.closed(connection, timeouts?.forget(connection));
		options.onClose?.(connection, summary);
	};
	const failed = (connection: Connection, error: unknown) => {
		// A connection that failed under its handler is reported through `closed`; only the handler's own faults are errors here.
		if (!(error instanceof ConnectionError && connection.error)) {
			accounting.handlerFailed(connection, error);
			options.onError?.(error, connection);
		}
		connection.close(error instanceof Error ? error : new Error(String(error)));
	};
	const receiver = isReceiver(handler) ? reportingReceiver(handler, failed) : undefined;

	listener.acceptEach((connection) => {
		connections.add(connection);
		accounting.opened(connection);
		timeouts?.watch(connection);
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
		let result: Promise<void> | void;
		try {
			result = (handler as Handler)(connection);
		} catch (error) {
			failed(connection, error);
			return;
		}
		result?.then(
			// Idempotent for handlers that ended; a lost connection shows in `closed` and `error`.
			() => void connection.end(),
			(error: unknown) => failed(connection, error),
		);
	});

	return {
		listener,
		connections,
		get stats() {
			const { accepted, errors, idle, stalled } = accounting;
			return { accepted, active: connections.size, ...accounting.bytes(connections), errors, idle, stalled };
		},
		shutdown({ timeout = 2000 } = {}) {
			timeouts?.stop();
			shutdown ??= drain(listener, connections, timeout, (c) => accounting.cutAtShutdown(c));
			return shutdown;
		},
		abort() {
			timeouts?.stop();
			return abortAll(listener, connections);
		},
	};
}

/**
 * One receiver for the whole server that reports a receiver's faults as a
 * function's are. It inherits `data` and `end` from the handler, so each
 * chunk costs no extra call.
 */
function reportingReceiver(handler: Receiver, failed: (connection: Connection, error: unknown) => void): Receiver {
	return Object.create(handler, {
		error: {
			value(error: unknown, connection: Connection) {
				handler.error?.(error, connection);
				failed(connection, error);
			},
		},
	});
}
