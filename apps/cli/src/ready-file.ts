import { renameSync, rmSync, writeFileSync } from "node:fs";
import { type Address, listeningLine } from "@echo-cli/core";
import type { UdpAddress } from "@echo-cli/core/datagram";

/**
 * Writes the JSON listening event to `path` for scripts that start the server
 * on port 0. The line goes to a temporary file first and is renamed into
 * place, so a reader that sees the file sees the whole line. The file is
 * removed when the process exits, so a stale file never names a dead server.
 */
/** `extra`: more fields of the event, such as `metrics` and `udp`. */
export function writeReadyFile(
	path: string,
	address: Address | UdpAddress,
	extra: Readonly<Record<string, string>> = {},
): void {
	const temporary = `${path}.${process.pid}.tmp`;
	try {
		writeFileSync(temporary, `${listeningLine(address, extra)}\n`);
		renameSync(temporary, path);
	} catch (error) {
		rmSync(temporary, { force: true });
		throw new Error(`cannot write --ready-file ${path}: ${writeProblem(error)}`);
	}
	process.once("exit", () => rmSync(path, { force: true }));
}

/** Why a file could not be written, without the temporary path the runtime's message names. */
export function writeProblem(error: unknown): string {
	const code = (error as NodeJS.ErrnoException).code;
	if (code === "ENOENT" || code === "ENOTDIR") return "its directory does not exist";
	if (code === "EACCES" || code === "EPERM" || code === "EROFS") return "permission denied";
	if (code === "EISDIR") return "it is a directory";
	return error instanceof Error ? error.message : String(error);
}
