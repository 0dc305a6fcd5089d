import { readdirSync, readFileSync } from "node:fs";

/** Descriptors kept free for the runtime itself (its event loop, DNS, stdio, libuv's reserve). */
const RESERVE = 16;

/**
 * How many connections fit in the process's file descriptor limit, from
 * /proc on Linux; undefined where that cannot be read or there is no limit.
 * Closing connections above this count at once keeps accept() from failing
 * with EMFILE, which Bun answers with a silent busy loop and Node with
 * connections it closes without a word.
 */
export function descriptorCapacity(): { readonly limit: number; readonly capacity: number } | undefined {
	try {
		const limits = readFileSync("/proc/self/limits", "utf8");
		const match = /^Max open files\s+(\d+)/m.exec(limits);
		if (!match) return undefined;
		const limit = Number(match[1]);
		const open = readdirSync("/proc/self/fd").length;
		return { limit, capacity: Math.max(1, limit - open - RESERVE) };
	} catch {
		return undefined;
	}
}
