import type { ChildProcess } from "node:child_process";
import { readyFileAddress } from "@echo-cli/core/testing";

/**
 * The port named in an echo-cli `--ready-file`, once it is there; rejects if `child` exits first
 * (with what it wrote to stderr) or after `ms`.
 */
export async function readyPort(file: string, child: ChildProcess, what: string, ms = 60_000): Promise<number> {
	let stderr = "";
	child.stderr?.on("data", (d: Buffer) => {
		stderr += d;
	});
	const gone = () =>
		child.exitCode !== null ? `${what} exited with ${child.exitCode} before listening: ${stderr.trim()}` : undefined;
	const address = await readyFileAddress(file, { ms, gone });
	if (address.transport !== "tcp") throw new Error(`${what} listens on ${JSON.stringify(address)}, not on TCP`);
	return address.port;
}
