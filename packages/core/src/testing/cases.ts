import type { ConnectOptions, Driver, Handler, ListenOptions, Receiver } from "../contract.ts";
import type { EchoServer } from "./echo-server.ts";
import type { Client } from "./reference-client.ts";

/** What a driver's test file hands to `conformance()`. */
export interface ConformanceTarget {
	/** The driver under test; it serves `echo`. */
	readonly driver: Driver;
	/**
	 * What opens client connections to it. Default: `referenceClient`,
	 * which shares no code with any driver. The driver's own client side is
	 * checked by cases of its own.
	 */
	readonly client?: Client;
	/** Where to listen. Default `{ host: "127.0.0.1", port: 0 }`. */
	readonly listen?: ListenOptions;
	/** How the driver's own client connects (its TLS options, when `listen` has them). */
	readonly connect?: ConnectOptions;
	/** The server's high-water mark. Default: the drivers' default. */
	readonly highWaterMark?: number;
	/**
	 * The most bytes the driver reads from its socket at once (Node: 64 KiB,
	 * Bun: up to 512 KiB). Bounds the queue checks: queued bytes stay at or
	 * under the high-water mark plus one such chunk.
	 */
	readonly maxReadChunk: number;
	/**
	 * Known gaps of a runtime: a case name mapped to the reason it cannot
	 * pass there. Such a case is reported as skipped with that reason.
	 */
	readonly gaps?: Readonly<Record<string, string>>;
}

/** One case of any suite of the kit (conformance, properties, fault properties, soak), runnable by any test runner. */
export interface KitCase {
	readonly name: string;
	/** Set when the target declares this case a known gap; the text is the reason. */
	readonly gap?: string | undefined;
	/** A generous limit in milliseconds for the runner's own timeout. */
	readonly timeout: number;
	run(): Promise<void>;
}

/** A conformance case: a {@link KitCase} whose `gap` is always given (undefined when none). */
export type ConformanceCase = KitCase & { readonly gap: string | undefined };

/** What a conformance case gets: a fresh echo server. */
export type Harness = EchoServer;

/** Runs `body` against a fresh echo server that serves with `handler`; closes everything after. */
export type WithEcho = (handler: Handler | Receiver, body: (h: Harness) => Promise<void>) => Promise<void>;
