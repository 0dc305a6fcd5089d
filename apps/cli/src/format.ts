const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** `1.5 MiB`, `512 B`. */
export function formatBytes(bytes: number): string {
	let value = bytes;
	let unit = 0;
	while (value >= 1024 && unit < UNITS.length - 1) {
		value /= 1024;
		unit++;
	}
	return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatDuration(ms: number): string {
	return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function plural(count: number, word: string): string {
	return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** Where a client on this machine reaches a server bound to `host`: loopback for a wildcard address. */
export function reachableHost(host: string): string {
	return host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
}
