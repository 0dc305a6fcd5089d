/**
 * fast-check properties of an echo server, for any driver. Needs the
 * `fast-check` package (an optional peer dependency of @echo-cli/core).
 */
import fc from "fast-check";
import { type Address, DEFAULT_HIGH_WATER_MARK, type Driver, type ListenOptions } from "../../contract.ts";
import { assertBytes, concat, randomBytes } from "../bytes.ts";
import type { KitCase } from "../cases.ts";
import { check, pause, readAll, within } from "../checks.ts";
import { withEchoServer } from "../echo-server.ts";
import { type Client, type ClientConnection, referenceClient } from "../reference-client.ts";
import { runParameters } from "./run.ts";

const KiB = 1024;
/**
 * A slow consumer pauses at most this often per case. Each pause follows a
 * step of its read plan, so a plan of 14-byte steps over 200 KiB that the
 * echo hands back in 7-byte chunks would otherwise sleep for minutes.
 */
const MAX_PAUSES = 32;

/** What a test file hands to {@link properties}. */
export interface PropertyTarget {
	/** The driver that serves `echo`. */
	readonly driver: Driver;
	/** What opens client connections. Default: the {@link referenceClient}, which shares no code with any driver. */
	readonly client?: Client;
	/** Where and how the server listens (its TLS options, say), besides a free loopback port. */
	readonly listen?: ListenOptions;
	/** The most bytes the server reads at once; bounds the queue checks. */
	readonly maxReadChunk: number;
	/** The server's high-water mark. Default: the drivers' default. */
	readonly highWaterMark?: number;
	/** Runs per property when `FC_NUM_RUNS` is not set. */
	readonly numRuns?: number;
	/** fast-check parameters that override the defaults and the environment, e.g. a fixed seed. */
	readonly parameters?: fc.Parameters<unknown>;
}

/** A property as a case of the kit. */
export type PropertyCase = KitCase;

/** One write of the client: bytes made from a seed, split into writes of at most `split`, then a pause. */
export interface Piece {
	readonly size: number;
	readonly seed: number;
	readonly split: number;
	readonly pauseMs: number;
}

/** A client stream: the pieces it writes, in order. */
export interface Stream {
	readonly pieces: readonly Piece[];
}

const pieceArb = (maxSize: number): fc.Arbitrary<Piece> =>
	fc.record({
		size: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: maxSize })),
		seed: fc.integer(),
		split: fc.integer({ min: 1, max: maxSize + 1 }),
		pauseMs: fc.constantFrom(0, 0, 0, 1, 3),
	});

/** Any sequence of binary chunks of 0 to 256 KiB, each split and paused arbitrarily. */
export const streamArb = (maxPieces = 6, maxSize = 256 * KiB): fc.Arbitrary<Stream> =>
	fc.record({ pieces: fc.array(pieceArb(maxSize), { maxLength: maxPieces }) });

export function streamBytes(stream: Stream): Uint8Array {
	return concat(stream.pieces.map((p) => randomBytes(p.size, p.seed)));
}

/** Writes a stream's pieces as generated: split, awaited, paused. */
async function send(c: ClientConnection, stream: Stream): Promise<void> {
	for (const piece of stream.pieces) {
		const bytes = randomBytes(piece.size, piece.seed);
		for (let at = 0; at < bytes.byteLength; at += piece.split) await c.write(bytes.subarray(at, at + piece.split));
		if (piece.pauseMs > 0) await pause(piece.pauseMs);
	}
}

/** Sends one stream on a fresh connection, FIN, and returns the echo. */
export async function echoStream(client: Client, address: Address, stream: Stream): Promise<Uint8Array> {
	const c = await client.connect(address);
	try {
		const reading = readAll(c);
		await send(c, stream);
		await c.end();
		return await within(reading, 30_000, "the echo did not end");
	} finally {
		c.close();
	}
}

/**
 * The echo properties of a driver, each a fast-check property over real
 * connections: exactness, isolation, half-close and slow consumers.
 */
export function properties(target: PropertyTarget): PropertyCase[] {
	const client = target.client ?? referenceClient;
	const runs = target.numRuns ?? 100;
	const bound = (target.highWaterMark ?? DEFAULT_HIGH_WATER_MARK) + target.maxReadChunk;
	return [
		{
			name: "exactness: any chunks, splits and pauses come back as their concatenation",
			timeout: 120_000,
			run: () =>
				withEchoServer(
					target.driver,
					{ highWaterMark: target.highWaterMark, listen: target.listen },
					async ({ address }) => {
						await fc.assert(
							fc.asyncProperty(streamArb(), async (stream) => {
								assertBytes(await echoStream(client, address, stream), streamBytes(stream), "echo");
							}),
							runParameters(runs, target.parameters),
						);
					},
				),
		},
		{
			name: "isolation: 1 to 64 concurrent connections each get exactly their own bytes",
			timeout: 120_000,
			run: () =>
				withEchoServer(
					target.driver,
					{ highWaterMark: target.highWaterMark, listen: target.listen },
					async ({ address }) => {
						await fc.assert(
							fc.asyncProperty(
								fc.array(streamArb(3, 32 * KiB), { minLength: 1, maxLength: 64, size: "max" }),
								async (streams) => {
									const echoes = await Promise.all(streams.map((s) => echoStream(client, address, s)));
									echoes.forEach((got, i) => {
										assertBytes(got, streamBytes(streams[i] as Stream), `connection ${i} of ${streams.length}`);
									});
								},
							),
							runParameters(Math.max(1, Math.ceil(runs / 2)), target.parameters),
						);
					},
				),
		},
		{
			name: "half-close: a FIN after any prefix gets exactly that prefix back, then the server's FIN",
			timeout: 120_000,
			run: () =>
				withEchoServer(
					target.driver,
					{ highWaterMark: target.highWaterMark, listen: target.listen },
					async ({ address }) => {
						await fc.assert(
							fc.asyncProperty(streamArb(), fc.nat(), fc.boolean(), async (stream, cut, awaitWrites) => {
								const bytes = streamBytes(stream);
								const prefix = bytes.subarray(0, bytes.byteLength === 0 ? 0 : cut % (bytes.byteLength + 1));
								const c = await client.connect(address);
								try {
									const reading = readAll(c);
									// Writes left in flight when end() is called must still go out before the FIN.
									const writes = [c.write(prefix), c.end()];
									if (awaitWrites) await Promise.all(writes);
									assertBytes(await within(reading, 30_000, "no FIN from the server"), prefix, "echo of the prefix");
									await Promise.all(writes);
									check((await c.read()) === null, "reading after the FIN must keep returning null");
								} finally {
									c.close();
								}
							}),
							runParameters(runs, target.parameters),
						);
					},
				),
		},
		{
			name: "slow consumers: generated read sizes and delays still get an exact echo, with bounded server queues",
			timeout: 120_000,
			run: () =>
				withEchoServer(
					target.driver,
					{ highWaterMark: target.highWaterMark, listen: target.listen },
					async ({ address, accepted }) => {
						const readPlan = fc.array(
							fc.record({ bytes: fc.integer({ min: 1, max: 512 * KiB }), delayMs: fc.constantFrom(0, 1, 5, 20) }),
							{ minLength: 1, maxLength: 8 },
						);
						await fc.assert(
							fc.asyncProperty(streamArb(6, 512 * KiB), readPlan, async (stream, plan) => {
								const expected = streamBytes(stream);
								const c = await within(client.connect(address), 30_000, "no connection");
								const server = () => accepted[accepted.length - 1];
								let peak = 0;
								const sample = () => {
									const s = server();
									if (s) peak = Math.max(peak, s.inboundBytes, s.outboundBytes);
								};
								const sampler = setInterval(sample, 2);
								try {
									const sending = send(c, stream).then(() => c.end());
									const chunks: Uint8Array[] = [];
									let step = 0;
									let due = 0;
									for (;;) {
										const chunk = await within(c.read(), 30_000, "the echo stalled");
										sample();
										if (chunk === null) break;
										chunks.push(chunk);
										due += chunk.byteLength;
										const { bytes, delayMs } = plan[step % plan.length] as { bytes: number; delayMs: number };
										if (due >= bytes && step < MAX_PAUSES) {
											due = 0;
											step++;
											await pause(delayMs);
										}
									}
									await within(sending, 30_000, "the client's writes did not finish after the server's FIN");
									assertBytes(concat(chunks), expected, "echo to a slow reader");
									check(peak <= bound, `the server queued ${peak} bytes, more than ${bound}`);
								} finally {
									clearInterval(sampler);
									c.close();
								}
							}),
							runParameters(Math.max(1, Math.ceil(runs / 2)), target.parameters),
						);
					},
				),
		},
	];
}

/** An echo server, often in another process, and the driver that reaches it. */
export interface RemoteEcho {
	readonly name: string;
	readonly address: Address;
	readonly client: Client;
}

/**
 * The same generated case against every server gives byte-identical results,
 * equal to what was sent.
 */
export async function sameAcrossServers(
	servers: readonly RemoteEcho[],
	numRuns = 20,
	parameters?: fc.Parameters<unknown>,
): Promise<void> {
	await fc.assert(
		fc.asyncProperty(fc.array(streamArb(4, 128 * KiB), { minLength: 1, maxLength: 8 }), async (streams) => {
			const results = await Promise.all(
				servers.map(async (s) => ({
					name: s.name,
					echoes: await Promise.all(streams.map((stream) => echoStream(s.client, s.address, stream))),
				})),
			);
			const [first, ...rest] = results;
			if (!first) return;
			for (const other of rest) {
				other.echoes.forEach((echoed, i) => {
					assertBytes(echoed, first.echoes[i] as Uint8Array, `${other.name} against ${first.name}, connection ${i}`);
				});
			}
			first.echoes.forEach((echoed, i) => {
				assertBytes(echoed, streamBytes(streams[i] as Stream), `${first.name}, connection ${i}`);
			});
		}),
		runParameters(numRuns, parameters),
	);
}
export {
	assertSameDatagrams,
	compareBytes,
	type DatagramPropertyTarget,
	type DatagramSpec,
	datagramArb,
	datagramProperties,
	drain,
	type FaultyExchange,
	faultyExchange,
} from "./datagram.ts";
export { type DatagramFaultPropertyTarget, datagramFaultProperties } from "./datagram-faults.ts";
export { type FaultPropertyCase, type FaultPropertyTarget, faultProperties } from "./faults.ts";
export { runParameters } from "./run.ts";
