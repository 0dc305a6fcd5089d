import { fork } from "node:child_process";
import cluster from "node:cluster";
import {
	isWorkerMessage,
	type SupervisorMessage,
	WORKER_ENV,
	type WorkerMessage,
	type WorkerSettings,
} from "./messages.ts";

/** What spreads new connections among the workers. */
export type Sharing = "SO_REUSEPORT" | "node:cluster";

/** One worker process, however it was started. */
export interface WorkerProcess {
	readonly pid: number | undefined;
	send(message: SupervisorMessage): void;
	onMessage(listener: (message: WorkerMessage) => void): void;
	/** Once, with the exit code, or the signal that ended it. */
	onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
	kill(signal: NodeJS.Signals): void;
}

/**
 * Starts the CLI script again as worker `settings.index`, with the same
 * arguments. Under SO_REUSEPORT each worker binds the port itself; under
 * node:cluster (Node before 22.12) the workers' listens go to this process,
 * which shares one socket among them.
 */
export function spawnWorker(
	sharing: Sharing,
	script: string,
	argv: readonly string[],
	settings: WorkerSettings,
): WorkerProcess {
	const env = { ...process.env, [WORKER_ENV]: JSON.stringify(settings) };
	if (sharing === "node:cluster") {
		cluster.setupPrimary({ exec: script, args: [...argv] });
		const worker = cluster.fork(env);
		return {
			pid: worker.process.pid,
			send: (message) => safely(() => worker.send(message)),
			onMessage: (listener) => worker.on("message", (m: unknown) => isWorkerMessage(m) && listener(m)),
			onExit: (listener) => worker.once("exit", listener),
			kill: (signal) => safely(() => worker.process.kill(signal)),
		};
	}
	const child = fork(script, [...argv], { env, stdio: "inherit" });
	return {
		pid: child.pid,
		send: (message) => safely(() => child.connected && child.send(message)),
		onMessage: (listener) => child.on("message", (m: unknown) => isWorkerMessage(m) && listener(m)),
		onExit: (listener) => child.once("exit", listener),
		kill: (signal) => safely(() => child.kill(signal)),
	};
}

/** A worker that exits while we talk to it is reported by its exit, not by a throw here. */
function safely(action: () => unknown): void {
	try {
		action();
	} catch {
		// Its exit listener reports it.
	}
}
