import { Buffer } from "node:buffer";
import net, { isIP } from "node:net";
import tls from "node:tls";
import { encodeProxyHeader, type TcpAddress } from "@echo-cli/core";

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
	/**
	 * Messages per second over all connections, or undefined for as fast as
	 * the server answers. Each connection sends on its own schedule, the
	 * connections spread evenly over the period; none sends ahead of its
	 * schedule, and one that falls behind sends as fast as the server lets
	 * it until it is back on schedule, without saving up a burst.
	 */
	readonly rate?: number | undefined;
	/** Send a PROXY-protocol header of this version first on every connection, naming the connection's own addresses. */
	readonly proxyProtocol?: 1 | 2 | undefined;
	/** Speak TLS (after any PROXY header), trusting `ca` or, with `insecure`, any certificate. */
	readonly tls?: { readonly ca: string | undefined; readonly insecure: boolean } | undefined;
	/** Called about twice a second with the measured totals so far. */
	readonly onProgress?: (snapshot: { elapsed: number; messages: number; bytes: number }) => void;
}

/** How connections failed, by cause; any of them makes the run fail. */
export interface Failures {
	/** The server closed (FIN) before the client was done. */
	closedEarly: number;
	/** Most bytes an early-closed connection got back. */
	closedEarlyAfter: number;
	/** The server reset the connection. */
	reset: number;
	/** Another socket error, by code. */
	other: Record<string, number>;
	/** The server answered our FIN with its own before echoing everything. */
	shortReply: number;
	/** Bytes the worst short reply lacked. */
	shortBy: number;
	/** Bytes were in flight and nothing came back for STALL_MS. */
	stalled: number;
	/** Everything came back but the server did not answer our FIN within STALL_MS. */
	noFin: number;
	/** Connections that could not be opened, by error code (ECONNREFUSED, EMFILE, ETIMEDOUT, ...). */
	connect: Record<string, number>;
}

export interface LoadResult {
	/** Milliseconds actually measured: from the end of the warm-up to the end of the window or of the last connection. */
	readonly elapsed: number;
	/** Messages fully echoed in the measured window. */
	readonly messages: number;
	/** Bytes echoed in the measured window. */
	readonly bytes: number;
	/** Round-trip times of the measured messages, in milliseconds, sorted. */
	readonly latencies: Float64Array;
	/** Connections that failed, whatever the cause. */
	readonly errors: number;
	readonly failures: Failures;
	/** Chunks that did not match what was sent. */
	readonly mismatches: number;
	readonly connected: number;
	/** Messages echoed over the whole run, warm-up included. */
	readonly allMessages: number;
}

/** How long a connection may wait for the server (to connect, to reply, to close) before it counts as stalled. */
export const STALL_MS = 5000;

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
 * Drives an echo server: every connection is opened first, then each sends
 * messages and checks every byte that comes back against what it sent.
 * Pingpong waits for each whole message before the next; stream writes and
 * reads at once. At the end each connection half-closes and expects the
 * rest of its echo, then the server's FIN.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
	patternSource();
	const failures: Failures = {
		closedEarly: 0,
		closedEarlyAfter: 0,
		reset: 0,
		other: {},
		shortReply: 0,
		shortBy: 0,
		stalled: 0,
		noFin: 0,
		connect: {},
	};
	const count = (map: Record<string, number>, key: string) => {
		map[key] = (map[key] ?? 0) + 1;
	};
	// Connect everything before the clock starts: a run must not measure its own connecting.
	const sockets = await Promise.all(
		Array.from({ length: options.connections }, () =>
			open(options.target, options.proxyProtocol, options.tls).catch((code: string) => {
				count(failures.connect, code);
				return undefined;
			}),
		),
	);
	const started = performance.now();
	const measureFrom = started + options.warmup;
	const measureUntil = measureFrom + options.duration;
	let messages = 0;
	let bytes = 0;
	let failed = Object.values(failures.connect).reduce((a, b) => a + b, 0);
	let mismatches = 0;
	let allMessages = 0;
	let lastActivity = started;
	let latencies = new Float64Array(1 << 16);
	let samples = 0;
	const record = (sentAt: number, now: number) => {
		allMessages++;
		if (sentAt < measureFrom || now > measureUntil) return;
		messages++;
		bytes += options.size;
		if (samples === latencies.length) {
			const grown = new Float64Array(latencies.length * 2);
			grown.set(latencies);
			latencies = grown;
		}
		latencies[samples++] = now - sentAt;
	};

	const progress = options.onProgress
		? setInterval(() => {
				const now = performance.now();
				if (now >= measureFrom) {
					options.onProgress?.({ elapsed: Math.min(now, measureUntil) - measureFrom, messages, bytes });
				}
			}, 500)
		: undefined;

	const run = (socket: net.Socket, id: number) =>
		new Promise<void>((resolve) => {
			let sent = 0;
			let received = 0;
			let ended = false;
			/** End offsets of messages in flight and when they were sent. */
			const inFlight: number[] = [];
			const sentTimes: number[] = [];
			let head = 0;
			let finished = false;
			let timer: ReturnType<typeof setTimeout> | undefined;
			/** With a rate: this connection's period and when its next message is due. */
			const interval = options.rate ? (1000 * options.connections) / options.rate : 0;
			let due = started + (id * interval) / options.connections;
			let paced: ReturnType<typeof setTimeout> | undefined;
			const finish = (failure?: () => void) => {
				if (finished) return;
				finished = true;
				if (failure) {
					failed++;
					failure();
				}
				clearTimeout(timer);
				clearTimeout(paced);
				lastActivity = Math.max(lastActivity, performance.now());
				socket.destroy();
				resolve();
			};
			// A connection that hears nothing for STALL_MS while it waits is stalled.
			const watch = (ms: number) => {
				clearTimeout(timer);
				timer = setTimeout(
					() =>
						finish(() => {
							if (received < sent) failures.stalled++;
							else failures.noFin++;
						}),
					ms,
				);
			};
			const end = () => {
				ended = true;
				socket.end();
				watch(STALL_MS);
			};
			const sendOne = () => {
				// A connection behind its schedule catches up, but by no more than one message at a time.
				due = Math.max(due + interval, performance.now() - interval);
				inFlight.push(sent + options.size);
				sentTimes.push(performance.now());
				const ok = socket.write(expected(id, sent, options.size));
				sent += options.size;
				return ok;
			};
			// A batch at a time: a server that drains at once must not let one connection starve the rest.
			const pump = () => {
				// Also called on drain: a pending paced call would then run twice.
				clearTimeout(paced);
				paced = undefined;
				if (ended) return;
				for (let i = 0; i < 16; i++) {
					const now = performance.now();
					if (now >= measureUntil) {
						end();
						return;
					}
					if (now < due) {
						paced ??= setTimeout(pump, due - now);
						return;
					}
					if (!sendOne()) return;
				}
				setImmediate(pump);
			};
			/** Pingpong's next message: now, or when the schedule says. */
			const next = () => {
				paced = undefined;
				if (ended) return;
				const now = performance.now();
				if (now >= measureUntil) end();
				else if (now < due) paced = setTimeout(next, due - now);
				else sendOne();
			};
			socket.on("data", (chunk: Buffer) => {
				if (!chunk.equals(expected(id, received, chunk.byteLength))) mismatches++;
				received += chunk.byteLength;
				const now = performance.now();
				// Once we are done sending, the rest of the echo may take long; only silence counts.
				if (ended) watch(STALL_MS);
				while (head < inFlight.length && (inFlight[head] as number) <= received) {
					record(sentTimes[head] as number, now);
					head++;
				}
				if (head > 1024) {
					inFlight.splice(0, head);
					sentTimes.splice(0, head);
					head = 0;
				}
				if (options.mode === "pingpong" && received === sent && !ended) next();
			});
			const closed = () =>
				finish(
					!ended
						? () => {
								failures.closedEarly++;
								failures.closedEarlyAfter = Math.max(failures.closedEarlyAfter, received);
							}
						: received < sent
							? () => {
									failures.shortReply++;
									failures.shortBy = Math.max(failures.shortBy, sent - received);
								}
							: undefined,
				);
			socket.on("end", closed);
			socket.on("close", closed);
			socket.on("error", (error: NodeJS.ErrnoException) =>
				finish(() => {
					if (error.code === "ECONNRESET" || error.code === "EPIPE") failures.reset++;
					else count(failures.other, error.code ?? error.message);
				}),
			);
			if (socket.destroyed) {
				finish(() => failures.closedEarly++);
				return;
			}
			watch(measureUntil - performance.now() + STALL_MS);
			if (options.mode === "pingpong") next();
			else {
				socket.on("drain", pump);
				pump();
			}
		});

	await Promise.all(sockets.map((socket, id) => (socket ? run(socket, id) : undefined)));
	clearInterval(progress);
	const measured = latencies.subarray(0, samples).sort();
	return {
		elapsed: Math.max(0, Math.min(lastActivity, measureUntil) - measureFrom),
		messages,
		bytes,
		latencies: measured,
		errors: failed,
		failures,
		mismatches,
		connected: sockets.filter(Boolean).length,
		allMessages,
	};
}

/** Opens one connection; rejects with the error code (ETIMEDOUT after STALL_MS, TLS:<code> for a failed handshake). */
function open(target: Target, proxyProtocol: 1 | 2 | undefined, secure: LoadOptions["tls"]): Promise<net.Socket> {
	return new Promise((resolve, reject) => {
		const socket =
			"path" in target
				? net.connect({ path: target.path, allowHalfOpen: true })
				: net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
		let current: net.Socket = socket;
		const timer = setTimeout(() => {
			current.destroy();
			reject("ETIMEDOUT");
		}, STALL_MS);
		const failed = (prefix: string) => (error: NodeJS.ErrnoException) => {
			clearTimeout(timer);
			current.destroy();
			reject(`${prefix}${error.code ?? "error"}`);
		};
		const ready = (s: net.Socket) => {
			clearTimeout(timer);
			s.removeAllListeners("error");
			// Until the run starts, a failure only destroys the socket; the run sees that.
			s.on("error", () => {});
			resolve(s);
		};
		socket.once("error", failed(""));
		socket.once("connect", () => {
			if (proxyProtocol) socket.write(proxyHeader(socket, proxyProtocol));
			if (!secure) {
				ready(socket);
				return;
			}
			socket.removeAllListeners("error");
			const host = "path" in target ? undefined : target.host;
			const wrapped = tls.connect({
				socket,
				ca: secure.ca,
				rejectUnauthorized: !secure.insecure,
				...(host !== undefined ? { host } : {}),
				...(host !== undefined && isIP(host) === 0 ? { servername: host } : {}),
			});
			current = wrapped;
			wrapped.once("error", failed("TLS:"));
			wrapped.once("secureConnect", () => ready(wrapped));
		});
	});
}

/** A PROXY header naming `socket`'s own two ends, as a proxy in front of the server would. */
function proxyHeader(socket: net.Socket, version: 1 | 2): Uint8Array {
	const family = socket.remoteFamily === "IPv6" ? "IPv6" : "IPv4";
	const end = (host: string | undefined, port: number | undefined): TcpAddress => ({
		transport: "tcp",
		host: host ?? (family === "IPv6" ? "::" : "0.0.0.0"),
		port: port ?? 0,
		family,
	});
	return encodeProxyHeader(
		version,
		end(socket.localAddress, socket.localPort),
		end(socket.remoteAddress, socket.remotePort),
	);
}

/** The value below which `q` of the sorted samples fall. */
export function quantile(sorted: Float64Array, q: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
