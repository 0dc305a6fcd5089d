/**
 * Faults an echo server can inject, each on a share of connections. Times
 * are milliseconds, sizes bytes, rates bytes per second.
 */
export type Fault =
	/** Each chunk goes back `delay` ms (± up to `jitter`) after it arrived; order is kept. */
	| { readonly kind: "latency"; readonly delay: number; readonly jitter?: number; readonly share?: number }
	/** At most `rate` bytes per second go back. */
	| { readonly kind: "bandwidth"; readonly rate: number; readonly share?: number }
	/** Replies are cut into pieces of `min` to `max` bytes, `delay` ms apart. */
	| {
			readonly kind: "slicer";
			readonly min: number;
			readonly max: number;
			readonly delay?: number;
			readonly share?: number;
	  }
	/** After `bytes` bytes echoed, a clean FIN; the rest of the input is read and dropped. */
	| { readonly kind: "limit"; readonly bytes: number; readonly share?: number }
	/** A reset (RST) once `bytes` bytes were echoed, or `after` ms after the connection opened. */
	| { readonly kind: "reset"; readonly bytes?: number; readonly after?: number; readonly share?: number }
	/** Our FIN goes out `delay` ms after it could. */
	| { readonly kind: "slow-close"; readonly delay: number; readonly share?: number }
	/** Input is read and nothing is sent; the connection is closed after `after` ms (0: never). */
	| { readonly kind: "stall"; readonly after: number; readonly share?: number }
	/** The connection is closed as soon as it is accepted, with a FIN or a reset. */
	| { readonly kind: "refuse"; readonly how: "fin" | "rst"; readonly share?: number };

export type FaultKind = Fault["kind"];

/** A fault as the CLI writes it: `latency=100ms,jitter=20ms@10%`. */
export function describeFault(fault: Fault): string {
	const share = fault.share !== undefined && fault.share < 1 ? `@${round(fault.share * 100)}%` : "";
	return `${body(fault)}${share}`;
}

function body(fault: Fault): string {
	switch (fault.kind) {
		case "latency":
			return `latency=${fault.delay}ms${fault.jitter ? `,jitter=${fault.jitter}ms` : ""}`;
		case "bandwidth":
			return `bandwidth=${fault.rate}B/s`;
		case "slicer":
			return `slicer=${fault.min}-${fault.max}${fault.delay ? `,delay=${fault.delay}ms` : ""}`;
		case "limit":
			return `limit=${fault.bytes}B`;
		case "reset":
			return fault.bytes !== undefined ? `reset-after=${fault.bytes}B` : `reset-after=${fault.after}ms`;
		case "slow-close":
			return `slow-close=${fault.delay}ms`;
		case "stall":
			return `stall=${fault.after}ms`;
		case "refuse":
			return `refuse=${fault.how}`;
	}
}

function round(value: number): number {
	return Math.round(value * 1000) / 1000;
}
