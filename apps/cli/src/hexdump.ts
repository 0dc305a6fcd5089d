import { type Connection, formatAddress, type Handler } from "@echo-cli/core";
import type { Logger } from "./log.ts";

/**
 * Lines in the style of `hexdump -C`: offset, 16 bytes in hex, the printable
 * ASCII. Only for display: the echoed bytes themselves are never converted.
 */
export function hexLines(bytes: Uint8Array, offset: number): string[] {
	const lines: string[] = [];
	for (let at = 0; at < bytes.byteLength; at += 16) {
		const row = bytes.subarray(at, at + 16);
		const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0"));
		const left = hex.slice(0, 8).join(" ");
		const right = hex.slice(8).join(" ");
		const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
		lines.push(`${(offset + at).toString(16).padStart(8, "0")}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
	}
	return lines;
}

/**
 * The echo handler, dumping up to `limit` bytes per direction of each
 * connection (what arrived, what was sent back), then saying once that the
 * rest is not shown. It runs on the push path, as `echo` does.
 */
export function dumpingEcho(log: Logger, limit: number): Handler {
	return (connection) => {
		const received = tap(connection, "in", log, limit);
		const sent = tap(connection, "out", log, limit);
		return connection.receive({
			data(chunk) {
				received(chunk);
				connection.send(chunk);
				sent(chunk);
			},
			end: () => connection.end(),
		});
	};
}

function tap(connection: Connection, direction: "in" | "out", log: Logger, limit: number) {
	let seen = 0;
	return (bytes: Uint8Array) => {
		const before = seen;
		seen += bytes.byteLength;
		if (before >= limit) return;
		log.dump(connection.remote, direction, bytes.subarray(0, limit - before), before);
		if (seen > limit) {
			log.note(
				`${formatAddress(connection.remote)} ${direction === "in" ? "<" : ">"} dump limit of ${limit} bytes reached; the rest is not shown`,
			);
		}
	};
}
