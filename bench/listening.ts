import { type ChildProcess, spawn } from "node:child_process";
import { parseListeningRecord } from "@echo-cli/core";

/** A server process of a bench, and where it listens. */
export interface BenchServer {
	readonly child: ChildProcess;
	readonly port: number;
	stop(): Promise<void>;
}

/**
 * Starts `command` and resolves once its first line on stdout, the JSON
 * listening event, names a `transport` address; rejects when the process
 * exits first or after 10 s.
 */
export function startListening(
	command: readonly string[],
	transport: "tcp" | "udp",
	env: NodeJS.ProcessEnv = process.env,
): Promise<BenchServer> {
	const [bin, ...args] = command;
	const child = spawn(bin as string, args, { env, stdio: ["ignore", "pipe", "inherit"] });
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	return new Promise((resolve, reject) => {
		let out = "";
		const timer = setTimeout(() => reject(new Error(`${command.join(" ")} did not start within 10 s`)), 10_000);
		child.once("exit", (code) => reject(new Error(`${command.join(" ")} exited with ${code}`)));
		child.stdout?.on("data", (d: Buffer) => {
			out += d;
			const address = parseListeningRecord(out.split("\n")[0] ?? "")?.address;
			if (!address || address.transport === "unix" || address.transport !== transport) return;
			clearTimeout(timer);
			resolve({
				child,
				port: address.port,
				async stop() {
					child.kill("SIGTERM");
					await exited;
				},
			});
		});
	});
}
