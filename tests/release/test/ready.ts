import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseListening } from "@echo-cli/core";

/** The port named in an echo-cli `--ready-file`, once it is there; rejects if `child` exits first or after `ms`. */
export function readyPort(file: string, child: ChildProcess, what: string, ms = 60_000): Promise<number> {
	const started = Date.now();
	return new Promise((resolve, reject) => {
		const look = () => {
			let text = "";
			try {
				text = readFileSync(file, "utf8");
			} catch {
				// Not there yet.
			}
			const address = parseListening(text.trim());
			if (address?.transport === "tcp") return resolve(address.port);
			if (child.exitCode !== null) return reject(new Error(`${what} exited with ${child.exitCode} before listening`));
			if (Date.now() - started > ms) return reject(new Error(`no ready file from ${what} after ${ms} ms`));
			setTimeout(look, 50);
		};
		look();
	});
}
