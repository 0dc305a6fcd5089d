import fc from "fast-check";
import type { DatagramDriver } from "../../datagram/contract.ts";
import type { DatagramFault } from "../../datagram/faults.ts";
import { type DatagramServerStats, serveDatagrams } from "../../datagram/serve.ts";
import { assertBytes, randomBytes } from "../bytes.ts";
import type { KitCase } from "../cases.ts";
import { check } from "../checks.ts";
import { type DatagramClient, type DatagramPeer, referenceDatagramClient } from "../datagram-client.ts";
import { runParameters } from "./run.ts";

/** What a test file hands to {@link datagramProperties}. */
export interface DatagramPropertyTarget {
	readonly driver: DatagramDriver;
	/** Default: {@link referenceDatagramClient}, which shares no code with any driver. */
	readonly client?: DatagramClient;
	/** Runs per property when `FC_NUM_RUNS` is not set. */
	readonly numRuns?: number;
	readonly parameters?: fc.Parameters<unknown>;
}

/** One datagram a sender sends: bytes made from a seed. */
export interface DatagramSpec {
	readonly size: number;
	readonly seed: number;
}

/** Datagrams of 0 to `maxSize` bytes, small ones often. */
export const datagramArb = (maxSize: number): fc.Arbitrary<DatagramSpec> =>
	fc.record({
		size: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: maxSize })),
		seed: fc.integer(),
	});

/** Orders byte strings, so that two multisets of datagrams compare by sorting. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
	const length = Math.min(a.byteLength, b.byteLength);
	for (let i = 0; i < length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
	return a.byteLength - b.byteLength;
}

/** Checks that `actual` holds exactly the datagrams of `expected`, in any order. */
export function assertSameDatagrams(
	actual: readonly Uint8Array[],
	expected: readonly Uint8Array[],
	what: string,
): void {
	check(
		actual.length === expected.length,
		`${what}: ${actual.length} datagrams came back, ${expected.length} were sent`,
	);
	const a = [...actual].sort(compareBytes);
	const e = [...expected].sort(compareBytes);
	for (let i = 0; i < e.length; i++)
		assertBytes(a[i] as Uint8Array, e[i] as Uint8Array, `${what}, datagram ${i} in sorted order`);
}

/** Every reply that comes until `ms` pass with none. */
export async function drain(peer: DatagramPeer, ms: number): Promise<Uint8Array[]> {
	const replies: Uint8Array[] = [];
	for (let bytes = await peer.next(ms); bytes; bytes = await peer.next(ms)) replies.push(bytes);
	return replies;
}

/** At most this many datagrams of one sender are in flight: far below what a loopback receive buffer holds. */
const WINDOW = 8;

/**
 * Sends `datagrams` from `peer` to `port`, at most {@link WINDOW} in flight,
 * and collects what comes back. Each datagram is sent once: a reply that
 * never comes fails the property rather than being retried.
 */
async function exchange(peer: DatagramPeer, host: string, port: number, datagrams: readonly Uint8Array[]) {
	const replies: Uint8Array[] = [];
	let sent = 0;
	while (replies.length < datagrams.length) {
		while (sent < datagrams.length && sent - replies.length < WINDOW)
			peer.send(datagrams[sent++] as Uint8Array, host, port);
		const bytes = await peer.next(2_000);
		check(bytes !== null, `${replies.length} of ${datagrams.length} replies came back, then none for 2 s`);
		replies.push(bytes);
	}
	return replies;
}

/**
 * fast-check properties of a datagram echo over any datagram driver: any
 * datagrams from any senders come back whole, each to its own sender.
 */
export function datagramProperties(target: DatagramPropertyTarget): KitCase[] {
	const client = target.client ?? referenceDatagramClient;
	const parameters = runParameters(target.numRuns ?? 25, target.parameters);
	return [
		{
			name: "any datagrams from up to 4 senders come back as the same datagrams, whole, each to its sender",
			timeout: 120_000,
			run: () =>
				fc.assert(
					fc.asyncProperty(
						fc.array(fc.array(datagramArb(8192), { maxLength: 24 }), { minLength: 1, maxLength: 4 }),
						async (senders) => {
							const server = serveDatagrams(await target.driver.bind({ host: "127.0.0.1" }), { guard: false });
							const peers = await Promise.all(senders.map(() => client.open("127.0.0.1")));
							try {
								await Promise.all(
									senders.map(async (specs, i) => {
										// The sender's index leads each datagram but an empty one, so that a misdelivery shows.
										const datagrams = specs.map((spec) =>
											spec.size === 0 ? new Uint8Array(0) : Uint8Array.of(i, ...randomBytes(spec.size - 1, spec.seed)),
										);
										const replies = await exchange(
											peers[i] as DatagramPeer,
											"127.0.0.1",
											server.socket.address.port,
											datagrams,
										);
										assertSameDatagrams(replies, datagrams, `sender ${i}`);
									}),
								);
								const extra = await Promise.all(peers.map((peer) => peer.next(20)));
								check(
									extra.every((bytes) => bytes === null),
									"a sender got a datagram it did not send",
								);
							} finally {
								for (const peer of peers) peer.close();
								await server.close();
							}
						},
					),
					parameters,
				),
		},
	];
}

/** What one burst of datagrams through a faulty echo gave: the replies in arrival order, and the server's stats. */
export interface FaultyExchange {
	readonly sent: readonly Uint8Array[];
	readonly replies: readonly { readonly bytes: Uint8Array; readonly at: number }[];
	readonly sentAt: number;
	readonly stats: DatagramServerStats;
}

/**
 * Sends `datagrams` in one burst from one sender through `serveDatagrams`
 * with `faults`, and collects replies until `quiet` ms pass with none.
 */
export async function faultyExchange(
	driver: DatagramDriver,
	client: DatagramClient,
	datagrams: readonly Uint8Array[],
	faults: readonly DatagramFault[],
	seed: number,
	quiet = 80,
): Promise<FaultyExchange> {
	const server = serveDatagrams(await driver.bind({ host: "127.0.0.1" }), { guard: false, faults, seed });
	const peer = await client.open("127.0.0.1");
	try {
		const sentAt = performance.now();
		for (const bytes of datagrams) peer.send(bytes, "127.0.0.1", server.socket.address.port);
		const replies: { bytes: Uint8Array; at: number }[] = [];
		for (let bytes = await peer.next(quiet); bytes; bytes = await peer.next(quiet)) {
			replies.push({ bytes, at: performance.now() });
		}
		return { sent: datagrams, replies, sentAt, stats: await server.close() };
	} finally {
		peer.close();
	}
}
