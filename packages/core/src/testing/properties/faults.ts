/**
 * fast-check properties of the fault stages, for any driver: what each
 * fault promises the client, and that faults do not break backpressure or
 * reproducibility.
 */
import fc from "fast-check";
import type { Address, Connection, Driver, Handler, Receiver } from "../../contract.ts";
import { echo } from "../../echo.ts";
import { ConnectionError } from "../../errors.ts";
import { type Fault, withFaults } from "../../faults/index.ts";
import { assertBytes, concat, randomBytes } from "../bytes.ts";
import type { KitCase } from "../cases.ts";
import { check, outcome, pause, within } from "../checks.ts";
import { withEchoServer } from "../echo-server.ts";
import { type Client, referenceClient } from "../reference-client.ts";
import { runParameters } from "./run.ts";

const KiB = 1024;

export interface FaultPropertyTarget {
	readonly driver: Driver;
	readonly client?: Client;
	/** The most bytes the server reads at once; bounds the queue checks. */
	readonly maxReadChunk: number;
	/** Runs per property when `FC_NUM_RUNS` is not set. Default 15: faults take time. */
	readonly numRuns?: number;
	readonly parameters?: fc.Parameters<unknown>;
	/**
	 * How the server applies faults. Default: `withFaults(echo, faults, { seed })`.
	 * Tests of the properties themselves pass a broken one here.
	 */
	readonly faulty?: (faults: readonly Fault[], seed: number) => Handler | Receiver;
}

/** A fault property as a case of the kit. */
export type FaultPropertyCase = KitCase;

/** Faults that change when bytes go back, never which bytes. */
const timingFault: fc.Arbitrary<Fault> = fc.oneof(
	fc.record({
		kind: fc.constant("latency" as const),
		delay: fc.integer({ min: 0, max: 5 }),
		jitter: fc.integer({ min: 0, max: 3 }),
	}),
	fc.record({ kind: fc.constant("bandwidth" as const), rate: fc.integer({ min: 512 * KiB, max: 8192 * KiB }) }),
	fc
		.record({
			min: fc.integer({ min: 1, max: 64 }),
			extra: fc.integer({ min: 0, max: 512 }),
			delay: fc.constantFrom(0, 0, 1),
		})
		.map(({ min, extra, delay }) => ({ kind: "slicer" as const, min, max: min + extra, delay })),
	fc.record({ kind: fc.constant("slow-close" as const), delay: fc.integer({ min: 0, max: 20 }) }),
);

/** Bytes made from a size and a seed, so that a counterexample prints as two numbers. */
class Payload {
	readonly size: number;
	readonly seed: number;
	constructor(size: number, seed: number) {
		this.size = size;
		this.seed = seed;
	}
	get bytes(): Uint8Array {
		return randomBytes(this.size, this.seed);
	}
	toString(): string {
		return `${this.size} bytes from seed ${this.seed}`;
	}
}

const payload = fc
	.record({ size: fc.integer({ min: 1, max: 48 * KiB }), seed: fc.integer() })
	.map(({ size, seed }) => new Payload(size, seed));

export function faultProperties(target: FaultPropertyTarget): FaultPropertyCase[] {
	const client = target.client ?? referenceClient;
	const runs = target.numRuns ?? 15;
	const faulty = target.faulty ?? ((faults, seed) => withFaults(echo, faults, { seed }));

	/** Serves `faults` on a fresh server, runs `body`, stops the server. */
	const withServer = async (
		faults: readonly Fault[],
		seed: number,
		/** `accepted`: the server's real connections, in accept order. */
		body: (address: Address, accepted: Connection[]) => Promise<void>,
		highWaterMark?: number,
	) => {
		const handler = target.faulty ? faulty(faults, seed) : withFaults(echo, faults, { seed, highWaterMark });
		await withEchoServer(target.driver, { handler, highWaterMark }, ({ address, accepted }) => body(address, accepted));
	};

	/** Sends `bytes` in pieces, half-closes, and resolves to everything that came back and how it ended. */
	const exchange = async (address: Address, bytes: Uint8Array): Promise<{ echoed: Uint8Array; ended: unknown }> => {
		// A connection reset at once may fail before the client has seen it open.
		const opened = await outcome(client.connect(address));
		if (opened instanceof Error) return { echoed: new Uint8Array(0), ended: opened };
		const c = opened as Awaited<ReturnType<Client["connect"]>>;
		const chunks: Uint8Array[] = [];
		const reading = (async () => {
			for (;;) {
				const chunk = await c.read();
				if (chunk === null) return null;
				chunks.push(chunk);
			}
		})().catch((error: unknown) => error);
		// The server may stop reading or reset: the client's own writes may then fail, which is not the point here.
		await (async () => {
			for (let at = 0; at < bytes.byteLength; at += 4 * KiB) await c.write(bytes.subarray(at, at + 4 * KiB));
			await c.end();
		})().catch(() => {});
		const ended = await within(reading, 30_000, "the faulty echo did not end");
		c.close();
		return { echoed: concat(chunks), ended };
	};

	return [
		{
			name: "latency, bandwidth, slicer and slow-close keep the echo byte-exact, in any combination",
			timeout: 180_000,
			run: () =>
				fc.assert(
					fc.asyncProperty(
						fc.array(timingFault, { minLength: 1, maxLength: 3 }),
						payload,
						fc.nat(),
						async (faults, data, seed) => {
							const bytes = data.bytes;
							await withServer(faults, seed, async (address) => {
								const { echoed, ended } = await exchange(address, bytes);
								check(ended === null, `expected the server's FIN, got ${String(ended)}`);
								assertBytes(echoed, bytes, `echo through ${JSON.stringify(faults)}`);
							});
						},
					),
					runParameters(runs, target.parameters),
				),
		},
		{
			name: "limit: exactly the first N bytes come back, then a clean FIN",
			timeout: 120_000,
			run: () =>
				fc.assert(
					fc.asyncProperty(payload, fc.nat(), async (data, cut) => {
						const bytes = data.bytes;
						const limit = cut % (bytes.byteLength + 100);
						await withServer([{ kind: "limit", bytes: limit }], 1, async (address) => {
							const { echoed, ended } = await exchange(address, bytes);
							check(ended === null, `expected a clean FIN after the limit, got ${String(ended)}`);
							assertBytes(echoed, bytes.subarray(0, limit), `echo under limit=${limit}`);
						});
					}),
					runParameters(runs, target.parameters),
				),
		},
		{
			name: "reset: at most the first N bytes come back, then a reset the client sees as one",
			timeout: 120_000,
			run: () =>
				fc.assert(
					fc.asyncProperty(payload, fc.nat(), async (data, cut) => {
						const bytes = data.bytes;
						const limit = cut % bytes.byteLength;
						await withServer([{ kind: "reset", bytes: limit }], 1, async (address, accepted) => {
							const { echoed, ended } = await exchange(address, bytes);
							// libuv (node:net on Node) reports a reset that arrives right behind data as a plain
							// EOF (it takes POLLHUP after a partial read for EOF), so a client there may see
							// none: then the server's side must show that it reset rather than closed.
							const server = accepted[0];
							if (server) await within(server.closed, 5000, "the server's side did not close");
							const reset =
								(ended instanceof ConnectionError && ended.reason === "reset") ||
								(ended === null && server?.error?.reason === "aborted");
							check(
								reset,
								`expected a reset after ${limit} bytes, got ${String(ended)} (server: ${server?.error?.reason})`,
							);
							check(
								echoed.byteLength <= limit,
								`got ${echoed.byteLength} bytes back, more than the ${limit} before the reset`,
							);
							assertBytes(echoed, bytes.subarray(0, echoed.byteLength), "the bytes before the reset");
						});
					}),
					runParameters(runs, target.parameters),
				),
		},
		{
			name: "stall: nothing comes back, then the connection closes when the stall ends",
			timeout: 120_000,
			run: () =>
				fc.assert(
					fc.asyncProperty(payload, fc.integer({ min: 20, max: 120 }), async (data, after) => {
						const bytes = data.bytes;
						await withServer([{ kind: "stall", after }], 1, async (address) => {
							const { echoed } = await exchange(address, bytes);
							check(echoed.byteLength === 0, `a stalled connection sent ${echoed.byteLength} bytes`);
						});
					}),
					runParameters(Math.max(1, Math.ceil(runs / 2)), target.parameters),
				),
		},
		{
			name: "a client that never reads, under latency or bandwidth, leaves the server's queues bounded",
			timeout: 120_000,
			run: () =>
				fc.assert(
					fc.asyncProperty(
						fc.oneof(
							fc.record({ kind: fc.constant("latency" as const), delay: fc.integer({ min: 1, max: 20 }) }),
							fc.record({
								kind: fc.constant("bandwidth" as const),
								rate: fc.integer({ min: 64 * KiB, max: 4096 * KiB }),
							}),
						),
						async (fault) => {
							const highWaterMark = 64 * KiB;
							// Unread input, bytes held by the stage and the outbound queue: each about a mark.
							const bound = 3 * highWaterMark + 2 * target.maxReadChunk;
							await withServer(
								[fault],
								1,
								async (address, accepted) => {
									const c = await client.connect(address);
									let peak = 0;
									const sampler = setInterval(() => {
										// Counted on the real connection, not by the stages: received, less what went to the OS.
										const s = accepted[0];
										if (s) peak = Math.max(peak, s.bytesRead - (s.bytesWritten - s.outboundBytes));
									}, 2);
									try {
										// Far more than any queue on the way holds, sent without reading.
										const sending = outcome(
											(async () => {
												for (let at = 0; at < 64 * 1024 * KiB; at += 64 * KiB) await c.write(randomBytes(64 * KiB, at));
											})(),
										);
										await Promise.race([sending, pause(1500)]);
										check(
											peak >= highWaterMark,
											`the server never held its mark (${highWaterMark} bytes): peak ${peak}`,
										);
										check(peak <= bound, `the server held ${peak} bytes under ${fault.kind}, more than ${bound}`);
									} finally {
										clearInterval(sampler);
										c.close();
									}
								},
								highWaterMark,
							);
						},
					),
					runParameters(Math.max(1, Math.ceil(runs / 3)), target.parameters),
				),
		},
		{
			name: "the same seed gives the same faults to the same order of connections",
			timeout: 60_000,
			run: () =>
				fc.assert(
					fc.asyncProperty(fc.nat(), async (seed) => {
						const faults: Fault[] = [
							{ kind: "refuse", how: "fin", share: 0.3 },
							{ kind: "refuse", how: "rst", share: 0.3 },
						];
						// What the client sees, connection by connection: refused with a FIN, a reset, or an echo.
						const observe = async () => {
							const seen: string[] = [];
							await withServer(faults, seed, async (address) => {
								for (let i = 0; i < 12; i++) {
									const { echoed, ended } = await exchange(address, Uint8Array.of(i));
									seen.push(ended instanceof ConnectionError ? "reset" : echoed.byteLength === 1 ? "echo" : "fin");
								}
							});
							return seen;
						};
						const first = await observe();
						const second = await observe();
						check(JSON.stringify(first) === JSON.stringify(second), `seed ${seed} gave ${first} then ${second}`);
					}),
					runParameters(Math.max(1, Math.ceil(runs / 3)), target.parameters),
				),
		},
	];
}
