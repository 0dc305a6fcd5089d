import { lstat, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import type { Driver } from "../contract.ts";
import { ConnectionError, ListenError, listenErrorFrom } from "../errors.ts";

/**
 * The longest unix socket path the platform takes, in bytes: `sun_path`
 * less its terminating NUL (108 on Linux, 104 on macOS and the BSDs).
 * Longer paths are truncated by some runtimes and refused by others.
 */
export function maxUnixPathBytes(platform: string = process.platform): number {
	return platform === "linux" ? 107 : 103;
}

/**
 * Makes `path` free for a unix socket listener. A path longer than
 * {@link maxUnixPathBytes} is refused first. A socket file that nobody
 * answers on is what a crashed server leaves behind, so it is removed; a
 * socket someone answers on, or any other kind of file, is left alone and
 * reported as in use. Both drivers call it before listening.
 */
export async function clearStaleUnixSocket(path: string, driver: Driver): Promise<void> {
	const length = Buffer.byteLength(path);
	const limit = maxUnixPathBytes();
	if (length > limit) {
		throw new ListenError(
			"bad-address",
			`cannot listen on ${path}: the path is ${length} bytes and unix socket paths take at most ${limit} here; choose a shorter path`,
		);
	}
	const directory = dirname(path);
	const where = await stat(directory).catch(() => undefined);
	if (!where?.isDirectory()) {
		throw new ListenError(
			"bad-address",
			`cannot listen on ${path}: the directory ${directory} does not exist; create it or choose another path`,
		);
	}
	let info: Awaited<ReturnType<typeof lstat>>;
	try {
		info = await lstat(path);
	} catch (error) {
		if ((error as { code?: string }).code === "ENOENT") return;
		throw listenErrorFrom(error, path);
	}
	if (!info.isSocket()) {
		throw new ListenError("address-in-use", `${path} exists and is not a socket; remove it or choose another path`);
	}
	const answered = await driver.connect({ transport: "unix", path }).then(
		(connection) => {
			connection.close();
			return true;
		},
		(error: unknown) => {
			if (error instanceof ConnectionError && error.reason === "refused") return false;
			throw listenErrorFrom(error, path);
		},
	);
	if (answered) {
		throw new ListenError("address-in-use", `a server already answers on ${path}; stop it or choose another path`);
	}
	await unlink(path);
}
