import { type Connection, formatAddress, type Receiver } from "@echo-cli/core";
import type { Logger } from "./log.ts";

/**
 * The echo handler, dumping up to `limit` bytes per direction of each
 * connection (what arrived, what was sent back), then saying once that the
 * rest is not shown. Like `echo`, a receiver on the push path.
 */
export function dumpingEcho(log: Logger, limit: number): Receiver {
	/** Bytes seen so far per connection: [in, out]. */
	const seen = new WeakMap<Connection, [number, number]>();
	const dump = (connection: Connection, direction: 0 | 1, bytes: Uint8Array) => {
		const counts = seen.get(connection) ?? [0, 0];
		seen.set(connection, counts);
		const before = counts[direction];
		counts[direction] += bytes.byteLength;
		if (before >= limit) return;
		const name = direction === 0 ? "in" : "out";
		log.dump(connection.remote, name, bytes.subarray(0, limit - before), before);
		if (counts[direction] > limit) {
			const arrow = direction === 0 ? "<" : ">";
			log.note(
				`${formatAddress(connection.remote)} ${arrow} dump limit of ${limit} bytes reached; the rest is not shown`,
			);
		}
	};
	return {
		data(chunk, connection) {
			dump(connection, 0, chunk);
			connection.send(chunk);
			dump(connection, 1, chunk);
		},
		end(connection) {
			connection.end();
		},
	};
}
