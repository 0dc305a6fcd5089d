import type { Address } from "./contract.ts";

/** `tcp://127.0.0.1:1337`, `tcp://[::1]:1337`, `unix:///tmp/echo.sock`. */
export function formatAddress(address: Address): string {
	if (address.transport === "unix") return `unix://${address.path}`;
	const host = address.host.includes(":") ? `[${address.host}]` : address.host;
	return `tcp://${host}:${address.port}`;
}
