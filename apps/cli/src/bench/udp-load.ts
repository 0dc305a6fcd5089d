import { Buffer } from "node:buffer";
import dgram from "node:dgram";
import { isIP } from "node:net";

export interface UdpLoadOptions {
	readonly host: string;
	readonly port: number;
	/** Client sockets, each with one datagram in flight. */
	readonly clients: number;
	/** Bytes per datagram, 8 or more: the first 8 name the client and the datagram. */
	readonly size: number;
	/** Milliseconds measured, after the warm-up. */
	readonly duration: number;
	readonly warmup: number;
	/** Milliseconds a client waits for each reply before it counts the datagram as lost and sends the next. */
	readonly timeout: number;
	readonly onProgress?: (snapshot: { elapsed: number; messages: number; bytes: number }) => void;
}

export interface UdpLoadResult {
	/** Milliseconds actually measured. */
	readonly elapsed: number;
	/** Datagrams whose reply came back whole in the measured window. */
	readonly messages: number;
	readonly bytes: number;
	/** Round-trip times of the measured datagrams, in milliseconds, sorted. */
	readonly latencies: Float64Array;
	/** Datagrams sent in the measured window with no reply within the timeout. */
	readonly lost: number;
	/** Replies that came after their datagram's timeout (counted as lost then). */
	readonly late: number;
	/** Replies whose bytes differ from the datagram sent (a truncated reply included). */
	readonly mismatches: number;
	/** Sends the OS refused, by error code. */
	readonly sendErrors: Record<string, number>;
	/** Replies over the whole run, warm-up included. */
	readonly allMessages: number;
}

/** The smallest --size over UDP: the client's index and the datagram's number lead each datagram. */
export const MIN_UDP_SIZE = 8;

/**
 * UDP pingpong: each client sends one datagram, waits for it to come back
 * whole or for `timeout`, and sends the next; a lost datagram costs one
 * timeout, never a hang. Every reply is compared byte for byte.
 */
export async function runUdpLoad(options: UdpLoadOptions): Promise<UdpLoadResult> {
	const type = isIP(options.host) === 6 ? "udp6" : "udp4";
	const start = performance.now();
	const measureFrom = start + options.warmup;
	const end = measureFrom + options.duration;
	const latencies: number[] = [];
	let messages = 0;
	let bytes = 0;
	let lost = 0;
	let late = 0;
	let mismatches = 0;
	let allMessages = 0;
	const sendErrors: Record<string, number> = {};
	const progress = options.onProgress
		? setInterval(() => {
				const now = performance.now();
				if (now >= measureFrom) options.onProgress?.({ elapsed: now - measureFrom, messages, bytes });
			}, 500)
		: undefined;

	const client = async (index: number) => {
		const socket = dgram.createSocket(type);
		socket.on("error", () => {});
		await new Promise<void>((resolve) => socket.bind(0, resolve));
		const datagram = Buffer.alloc(options.size);
		for (let i = MIN_UDP_SIZE; i < datagram.length; i++) datagram[i] = (i * 31 + index) & 0xff;
		datagram.writeUInt32BE(index, 0);
		let sequence = 0;
		await new Promise<void>((done) => {
			let timer: ReturnType<typeof setTimeout> | undefined;
			let sentAt = 0;
			const next = () => {
				const now = performance.now();
				if (now >= end) {
					done();
					return;
				}
				sequence = (sequence + 1) >>> 0;
				datagram.writeUInt32BE(sequence, 4);
				sentAt = now;
				socket.send(datagram, options.port, options.host, (error) => {
					if (!error) return;
					const code = (error as NodeJS.ErrnoException).code ?? "error";
					sendErrors[code] = (sendErrors[code] ?? 0) + 1;
				});
				timer = setTimeout(() => {
					if (sentAt >= measureFrom) lost++;
					next();
				}, options.timeout);
			};
			socket.on("message", (reply: Buffer) => {
				// An earlier datagram's reply, after its timeout.
				if (reply.length < MIN_UDP_SIZE || reply.readUInt32BE(4) !== sequence) {
					late++;
					return;
				}
				clearTimeout(timer);
				const now = performance.now();
				allMessages++;
				if (!reply.equals(datagram)) mismatches++;
				else if (sentAt >= measureFrom && now <= end) {
					messages++;
					bytes += reply.length;
					latencies.push(now - sentAt);
				}
				next();
			});
			next();
		});
		socket.close();
	};
	await Promise.all(Array.from({ length: options.clients }, (_, index) => client(index)));
	clearInterval(progress);
	return {
		elapsed: Math.min(performance.now(), end) - measureFrom,
		messages,
		bytes,
		latencies: Float64Array.from(latencies).sort(),
		lost,
		late,
		mismatches,
		sendErrors,
		allMessages,
	};
}
