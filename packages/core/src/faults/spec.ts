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
