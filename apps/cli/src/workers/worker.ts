import type { Address } from "@echo-cli/core";
import type { SummaryLine } from "../log.ts";
import type { MetricsSnapshot } from "../metrics.ts";
import type { StopRequests } from "../signals.ts";
import { isSupervisorMessage, WORKER_ENV, type WorkerMessage, type WorkerSettings } from "./messages.ts";

/** A worker's side of its supervisor's IPC channel. */
export interface WorkerLink {
	readonly settings: WorkerSettings;
	/** Stops on the supervisor's word (a stop, or its exit) as on a signal; answers metrics requests from `metrics`. */
	attach(stop: StopRequests, metrics: (() => Promise<MetricsSnapshot>) | undefined): void;
	listening(address: Address): void;
	/** Hands over why this worker cannot start; resolves once it is sent. */
	failed(message: string): Promise<void>;
	/** Hands over the exit summary; resolves once it is sent. */
	finish(summary: SummaryLine): Promise<void>;
}

/** The link when this process is a supervisor's worker, else undefined. */
export function workerLink(): WorkerLink | undefined {
	const text = process.env[WORKER_ENV];
	if (text === undefined || typeof process.send !== "function") return undefined;
	const settings = JSON.parse(text) as WorkerSettings;
	const send = (message: WorkerMessage) =>
		new Promise<void>((resolve) => {
			if (!process.connected) return resolve();
			process.send?.(message, undefined, {}, () => resolve());
		});
	return {
		settings,
		attach(stop, metrics) {
			process.on("message", (message: unknown) => {
				if (!isSupervisorMessage(message)) return;
				if (message.type === "stop") {
					if (message.signal) stop.signal(message.signal);
					else stop.stop(message.reason);
					return;
				}
				if (metrics) void metrics().then((snapshot) => send({ type: "metrics", id: message.id, snapshot }));
			});
			// A supervisor that is gone cannot stop us: drain and exit rather than serve on unwatched.
			process.once("disconnect", () => stop.stop("the supervisor exited"));
		},
		listening(address) {
			void send({ type: "listening", address });
		},
		failed(message) {
			return send({ type: "failed", message });
		},
		finish(summary) {
			return send({ type: "summary", summary });
		},
	};
}
