import type { Address, TcpAddress } from "./contract.ts";

/** `tcp://127.0.0.1:1337`, `tcp://[::1]:1337`, `unix:///tmp/echo.sock`; `(unknown peer)` when there is none. */
export function formatAddress(address: Address | undefined): string {
	if (address === undefined) return "(unknown peer)";
	if (address.transport === "unix") return address.path ? `unix://${address.path}` : "unix:(unnamed peer)";
	return `tcp://${hostPort(address.host, address.port)}`;
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
