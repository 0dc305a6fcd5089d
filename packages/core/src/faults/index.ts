import { type Connection, DEFAULT_HIGH_WATER_MARK, type Handler, isReceiver, type Receiver } from "../contract.ts";
import { seeded } from "../random.ts";
import { chooser } from "./choose.ts";
import { FaultyConnection } from "./faulty-connection.ts";
import type { Fault } from "./spec.ts";

export { type FaultDefinition, FaultSpecError } from "./definition.ts";
export { describeFault, FAULTS, parseFault } from "./registry.ts";
export type { Fault, FaultKind } from "./spec.ts";

export interface FaultOptions {
	/** Seeds the choice of faults per connection and their randomness. Default 1. */
	readonly seed?: number;
	/** The high-water mark that bytes held by the stages count against. Default {@link DEFAULT_HIGH_WATER_MARK}. */
	readonly highWaterMark?: number;
	/**
	 * Called for each connection with the faults it got (possibly none),
	 * before its handler runs. `served` is the connection the handler gets:
	 * its `outboundBytes` include what the stages hold.
	 */
	readonly onChoice?: (connection: Connection, faults: readonly Fault[], served: Connection) => void;
}

/**
 * `handler` (such as `echo`) with faults on the way out: each connection
 * gets each fault with the fault's share, decided in accept order from
 * `seed`, so the same seed and the same order of connections give the same
 * faults. Faults apply in the order given: `[latency, slicer]` delays each
 * chunk, then slices it. With no faults it returns `handler` itself.
 *
 * ```ts
 * serve(listener, withFaults(echo, [{ kind: "latency", delay: 100, jitter: 20 }], { seed: 7 }));
 * ```
 */
export function withFaults(
	handler: Handler | Receiver,
	faults: readonly Fault[],
	options: FaultOptions = {},
): Handler | Receiver {
	if (faults.length === 0) return handler;
	const next = chooser(faults, options.seed ?? 1);
	const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
	return (connection: Connection): Promise<void> | void => {
		const choice = next();
		const served =
			choice.faults.length === 0
				? connection
				: new FaultyConnection(connection, choice.faults, seeded(choice.seed), highWaterMark);
		options.onChoice?.(connection, choice.faults, served);
		// A receiver stays on the push path (echo is a function too): nothing to wait for, nothing allocated.
		if (isReceiver(handler)) served.receive(handler);
		else return handler(served);
	};
}
