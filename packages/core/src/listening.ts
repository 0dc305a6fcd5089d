import type { Address } from "./contract.ts";
import { formatUdpAddress, parseUdpAddress } from "./datagram/base-socket.ts";
import type { UdpAddress } from "./datagram/contract.ts";
import { formatAddress, parseAddress } from "./format.ts";

/**
 * The one machine-readable start line of an echo server process, as
 * `echo-cli --log-format json` writes it: `{"event":"listening","address":"tcp://127.0.0.1:1337"}`
 * (echo-cli adds `time`, `level`, `driver` and `runtime`). Whoever starts a
 * server reads its address from this line, never from a banner for people.
 */
export function listeningLine(address: Address | UdpAddress, extra: Readonly<Record<string, unknown>> = {}): string {
	const uri = address.transport === "udp" ? formatUdpAddress(address) : formatAddress(address);
	return JSON.stringify({ event: "listening", address: uri, ...extra });
}

/** The address and every field of a {@link listeningLine}, or undefined for any other line. */
export function parseListeningRecord(
	line: string,
): { readonly address: Address | UdpAddress; readonly fields: Readonly<Record<string, unknown>> } | undefined {
	let record: unknown;
	try {
		record = JSON.parse(line);
	} catch {
		return undefined;
	}
	const fields = (record ?? {}) as Record<string, unknown>;
	if (fields.event !== "listening" || typeof fields.address !== "string") return undefined;
	const address = parseAddress(fields.address) ?? parseUdpAddress(fields.address);
	return address && { address, fields };
}

/** The TCP or unix address in a {@link listeningLine}, or undefined for any other line (or a UDP-only server's). */
export function parseListening(line: string): Address | undefined {
	const address = parseListeningRecord(line)?.address;
	return address?.transport === "udp" ? undefined : address;
}
