/** The signals that stop the server. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** Milliseconds within which a repeat of the stopping signal is taken as the same request. */
const DUPLICATE_WINDOW = 300;

export interface StopRequests {
	/** Resolves once, with the first reason to stop: a signal's name, or what {@link stop} was given. */
	readonly reason: Promise<string>;
	/** Asks to stop for `reason`, as a signal does; later requests go to `again` if they are signals. */
	stop(reason: string): void;
	/** Takes `signal` as if this process had received it: a supervisor passing on its own. */
	signal(signal: StopSignal): void;
}

/**
 * Listens for SIGINT and SIGTERM for the rest of the process's life. The
 * first one (or a call to `stop`) resolves `reason`; every later one goes to
 * `again`, except a repeat of the first signal within 300 ms: one Ctrl-C
 * reaches every process of the terminal's foreground group, so a wrapper
 * that forwards it (the Node process that re-ran us under Bun) delivers it
 * a second time, a fraction of a millisecond after the first.
 */
// One listener per signal, added once and never removed: while a signal has
// no listener, Node and Bun restore its default action, and a second
// signal arriving then (after a `once` listener fired, before the next was
// added) kills the process with no drain, no summary and status 130.
export function listenForStop(again: (signal: StopSignal) => void): StopRequests {
	let first: { reason: string; signal: StopSignal | undefined; at: number } | undefined;
	let resolve: (reason: string) => void = () => {};
	const reason = new Promise<string>((r) => {
		resolve = r;
	});
	const stop = (why: string, signal?: StopSignal) => {
		if (first === undefined) {
			first = { reason: why, signal, at: performance.now() };
			resolve(why);
			return;
		}
		if (signal === undefined) return;
		if (signal === first.signal && performance.now() - first.at < DUPLICATE_WINDOW) return;
		again(signal);
	};
	for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => stop(signal, signal));
	return { reason, stop: (why) => stop(why), signal: (signal) => stop(signal, signal) };
}
