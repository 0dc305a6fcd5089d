import type { Address } from "@echo-cli/core";
import type { SummaryLine } from "../log.ts";
import type { MetricsSnapshot } from "../metrics.ts";
import type { StopSignal } from "../signals.ts";

/** The environment variable that makes the CLI a worker; its value is a {@link WorkerSettings} as JSON. */
export const WORKER_ENV = "ECHO_CLI_WORKER";

/** What a supervisor tells a worker at start, on top of the command line they share. */
export interface WorkerSettings {
	/** 0 for the first worker. */
	readonly index: number;
	/** The port to bind: the one asked for for the first worker, the one it got for the rest. */
	readonly port: number;
	/** Bind with SO_REUSEPORT; false under node:cluster, which shares the primary's socket. */
	readonly reusePort: boolean;
	/** This worker's share of --max-connections. */
	readonly maxConnections: number | undefined;
	readonly faultSeed: number | undefined;
}

/** From the supervisor to a worker. */
export type SupervisorMessage =
	| { readonly type: "stop"; readonly signal: StopSignal | undefined; readonly reason: string }
	| { readonly type: "metrics"; readonly id: number };

/** From a worker to the supervisor. */
export type WorkerMessage =
	| { readonly type: "listening"; readonly address: Address }
	/** The worker cannot serve (its listen failed); it exits 1 next. The supervisor reports it. */
	| { readonly type: "failed"; readonly message: string }
	| { readonly type: "summary"; readonly summary: SummaryLine }
	| { readonly type: "metrics"; readonly id: number; readonly snapshot: MetricsSnapshot };

export function isWorkerMessage(value: unknown): value is WorkerMessage {
	const type = (value as { type?: unknown } | null)?.type;
	return type === "listening" || type === "failed" || type === "summary" || type === "metrics";
}

export function isSupervisorMessage(value: unknown): value is SupervisorMessage {
	const type = (value as { type?: unknown } | null)?.type;
	return type === "stop" || type === "metrics";
}
