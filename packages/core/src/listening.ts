import type { Address } from "./contract.ts";
import { formatAddress, parseAddress } from "./format.ts";

/**
 * The one machine-readable start line of an echo server process, as
 * `echo-cli --log-format json` writes it: `{"event":"listening","address":"tcp://127.0.0.1:1337"}`
 * (echo-cli adds `time`, `level`, `driver` and `runtime`). Whoever starts a
 * server reads its address from this line, never from a banner for people.
 */
export function listeningLine(address: Address, extra: Readonly<Record<string, unknown>> = {}): string {
	return JSON.stringify({ event: "listening", address: formatAddress(address), ...extra });
}

/** The address in a {@link listeningLine}, or undefined for any other line. */
export function parseListening(line: string): Address | undefined {
	let record: unknown;
	try {
		record = JSON.parse(line);
	} catch {
		return undefined;
	}
	const { event, address } = (record ?? {}) as { event?: unknown; address?: unknown };
	return event === "listening" && typeof address === "string" ? parseAddress(address) : undefined;
}
