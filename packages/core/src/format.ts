import type { Address, TcpAddress, UnixAddress } from "./contract.ts";

/** `tcp://127.0.0.1:1337`, `tcp://[::1]:1337`, `unix:///tmp/echo.sock`; `(unknown peer)` when there is none. */
export function formatAddress(address: Address | undefined): string {
	if (address === undefined) return "(unknown peer)";
	if (address.transport === "unix") return address.path ? `unix://${address.path}` : "unix:(unnamed peer)";
	return `tcp://${hostPort(address.host, address.port)}`;
}

/** The address {@link formatAddress} wrote, or undefined for anything else. */
export function parseAddress(text: string): Address | undefined {
	if (text.startsWith("unix://")) return { transport: "unix", path: text.slice("unix://".length) };
	const match = /^tcp:\/\/(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
	const port = Number(match?.[3]);
	if (!match || port > 65535) return undefined;
	const host = (match[1] ?? match[2]) as string;
	return tcpAddress(host, port, match[1] !== undefined ? "IPv6" : "IPv4");
}

/** `127.0.0.1:1337`, `[::1]:1337`. */
export function hostPort(host: string, port: number): string {
	return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

const hosts = new Map<string, string>();

/**
 * `host`, or an equal string seen before: ten thousand connections from one
 * peer then hold one string.
 */
export function sharedHost(host: string): string {
	let shared = hosts.get(host);
	if (shared === undefined) {
		// A server facing many peers must not grow this cache without bound.
		if (hosts.size >= 1024) hosts.clear();
		hosts.set(host, host);
		shared = host;
	}
	return shared;
}

/** A TCP address whose host string is shared with every other address of the same host. */
export function tcpAddress(host: string, port: number, family: "IPv4" | "IPv6"): TcpAddress {
	return { transport: "tcp", host: sharedHost(host), port, family };
}

/** The peer of a unix socket connection, which has no name of its own. */
export const UNNAMED_PEER: UnixAddress = { transport: "unix", path: "" };

/**
 * A TCP address from what a runtime's socket reports, or undefined when it
 * can no longer tell (a peer gone before the connection was accepted).
 */
export function socketAddress(
	host: string | undefined,
	port: number | undefined,
	family: string | number | undefined,
): TcpAddress | undefined {
	if (!host || port === undefined) return undefined;
	return tcpAddress(host, port, family === "IPv6" || family === 6 ? "IPv6" : "IPv4");
}
