import { Buffer } from "node:buffer";
import net from "node:net";

export type Target = { readonly host: string; readonly port: number } | { readonly path: string };

export interface LoadOptions {
	readonly target: Target;
	readonly connections: number;
	/** Bytes per message. */
	readonly size: number;
	readonly mode: "pingpong" | "stream";
	/** Milliseconds measured, after the warm-up. */
	readonly duration: number;
	readonly warmup: number;
	/** Called about twice a second with the measured totals so far. */
	readonly onProgress?: (snapshot: { elapsed: number; messages: number; bytes: number }) => void;
}

export interface LoadResult {
	/** Milliseconds actually measured. */
	readonly elapsed: number;
	/** Messages fully echoed in the measured window. */
	readonly messages: number;
	/** Bytes echoed in the measured window. */
	readonly bytes: number;
	/** Round-trip times of the measured messages, in milliseconds, sorted. */
	readonly latencies: Float64Array;
	readonly errors: number;
	/** Chunks that did not match what was sent. */
	readonly mismatches: number;
	readonly connected: number;
	/** Messages echoed over the whole run, warm-up included: CPU per message divides by this. */
	readonly allMessages: number;
}

/** A prime period, so that no chunking lines up with it. */
const PERIOD = 4_194_301;
export const MAX_SIZE = PERIOD;
let source: Buffer | undefined;

/** The pattern twice over, so that any slice up to PERIOD bytes is contiguous. */
function patternSource(): Buffer {
	if (source) return source;
	const once = Buffer.allocUnsafe(PERIOD);
	let state = 0x2545f491;
	for (let i = 0; i < PERIOD; i++) {
		state ^= state << 13;
		state ^= state >>> 17;
		state ^= state << 5;
		once[i] = state & 0xff;
	}
	source = Buffer.concat([once, once]);
	return source;
}

/** The bytes at stream offset `offset` of connection `id`'s pattern. */
function expected(id: number, offset: number, length: number): Buffer {
	const start = (offset + id * 7919) % PERIOD;
	return patternSource().subarray(start, start + length);
}

/**
 * Drives an echo server: each connection sends messages and checks every
 * byte that comes back against what it sent. Pingpong waits for each whole
 * message before the next; stream writes and reads at once.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
	patternSource();
	const started = performance.now();
	const measureFrom = started + options.warmup;
	const measureUntil = measureFrom + options.duration;
	let messages = 0;
	let bytes = 0;
	let errors = 0;
	let mismatches = 0;
	let connected = 0;
	let allMessages = 0;
	let latencies = new Float64Array(1 << 16);
	let count = 0;
	const record = (sentAt: number, now: number) => {
		allMessages++;
		if (sentAt < measureFrom || now > measureUntil) return;
		messages++;
		bytes += options.size;
		if (count === latencies.length) {
			const grown = new Float64Array(latencies.length * 2);
			grown.set(latencies);
			latencies = grown;
		}
		latencies[count++] = now - sentAt;
	};

	const progress = options.onProgress
		? setInterval(() => {
				const now = performance.now();
				if (now >= measureFrom) {
					options.onProgress?.({ elapsed: Math.min(now, measureUntil) - measureFrom, messages, bytes });
				}
			}, 500)
		: undefined;

	const one = (id: number) =>
		new Promise<void>((resolve) => {
			const socket =
				"path" in options.target
					? net.connect({ path: options.target.path, allowHalfOpen: true })
					: net.connect({ host: options.target.host, port: options.target.port, allowHalfOpen: true, noDelay: true });
			let sent = 0;
			let received = 0;
			/** End offsets of messages in flight and when they were sent. */
			const inFlight: number[] = [];
			const sentTimes: number[] = [];
			let head = 0;
			let finished = false;
			const finish = () => {
				if (finished) return;
				finished = true;
				clearTimeout(deadline);
				socket.destroy();
				resolve();
			};
			// Whatever happens, a connection ends a few seconds after the measured window.
			const deadline = setTimeout(finish, measureUntil - performance.now() + 5000);
			const sendOne = () => {
				inFlight.push(sent + options.size);
				sentTimes.push(performance.now());
				const ok = socket.write(expected(id, sent, options.size));
				sent += options.size;
				return ok;
			};
			const pump = () => {
				while (performance.now() < measureUntil) {
					if (!sendOne()) return;
				}
				socket.end();
			};
			socket.once("connect", () => {
				connected++;
				if (options.mode === "pingpong") sendOne();
				else {
					socket.on("drain", pump);
					pump();
				}
			});
			socket.on("data", (chunk: Buffer) => {
				if (!chunk.equals(expected(id, received, chunk.byteLength))) mismatches++;
				received += chunk.byteLength;
				const now = performance.now();
				while (head < inFlight.length && (inFlight[head] as number) <= received) {
					record(sentTimes[head] as number, now);
					head++;
				}
				if (head > 1024) {
					inFlight.splice(0, head);
					sentTimes.splice(0, head);
					head = 0;
				}
				if (options.mode === "pingpong" && received === sent) {
					if (now < measureUntil) sendOne();
					else socket.end();
				}
			});
			socket.on("end", finish);
			socket.on("close", finish);
			socket.on("error", () => {
				errors++;
				finish();
			});
		});

	await Promise.all(Array.from({ length: options.connections }, (_, id) => one(id)));
	clearInterval(progress);
	const measured = latencies.subarray(0, count).sort();
	return {
		elapsed: Math.min(performance.now(), measureUntil) - measureFrom,
		messages,
		bytes,
		latencies: measured,
		errors,
		mismatches,
		connected,
		allMessages,
	};
}

/** The value below which `q` of the sorted samples fall. */
export function quantile(sorted: Float64Array, q: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
