import type { Connection, Listener } from "../contract.ts";
import { ConnectionError } from "../errors.ts";
import type { ShutdownResult } from "./types.ts";

/**
 * A graceful stop: closes the listener, ends every connection's reads (so
 * `echo` sends what arrived and its FIN), waits up to `timeout` ms for them
 * to close, then aborts the rest, telling `cut` about each first.
 */
export async function drain(
	listener: Listener,
	connections: ReadonlySet<Connection>,
	timeout: number,
	cut: (connection: Connection) => void,
): Promise<ShutdownResult> {
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
		cut(connection);
		connection.close(new ConnectionError("timeout", `still open ${timeout} ms after shutdown began`));
	}
	await Promise.all(open.map((c) => c.closed));
	return { drained: open.length - aborted, aborted };
}

/** Aborts every connection and closes the listener at once. */
export async function abortAll(listener: Listener, connections: ReadonlySet<Connection>): Promise<void> {
	await listener.close();
	for (const connection of connections) connection.close(new ConnectionError("aborted", "the server stopped"));
	await Promise.all([...connections].map((c) => c.closed));
}
