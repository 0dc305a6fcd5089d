import fc from "fast-check";
import type { DatagramDriver } from "../../datagram/contract.ts";
import { assertBytes, randomBytes } from "../bytes.ts";
import type { KitCase } from "../cases.ts";
import { check } from "../checks.ts";
import { type DatagramClient, driverDatagramClient } from "../datagram-client.ts";
import { assertSameDatagrams, compareBytes, datagramArb, faultyExchange } from "./datagram.ts";
import { runParameters } from "./run.ts";

export interface DatagramFaultPropertyTarget {
	/** Default: a `MemoryDatagramDriver`'s own; any driver whose loopback loses nothing in a burst of 40 small datagrams. */
	readonly driver: DatagramDriver;
	readonly client?: DatagramClient;
	readonly numRuns?: number;
	readonly parameters?: fc.Parameters<unknown>;
}

/** A burst of distinct datagrams: each starts with its index, so that order and duplicates show. */
const burstArb = fc
	.array(datagramArb(512), { minLength: 1, maxLength: 40 })
	.map((specs) => specs.map((spec, i) => Uint8Array.of(i, ...randomBytes(spec.size, spec.seed))));

const seedArb = fc.integer({ min: 0, max: 0xffff_ffff });
const shareArb = fc.constantFrom(0, 0.1, 0.5, 0.9, 1);
const indexOf = (bytes: Uint8Array) => bytes[0] as number;

/**
 * fast-check properties of each datagram fault: what a client's retransmit
 * and reordering logic may rely on, and what it must survive.
 */
export function datagramFaultProperties(target: DatagramFaultPropertyTarget): KitCase[] {
	const client = target.client ?? driverDatagramClient(target.driver);
	const parameters = runParameters(target.numRuns ?? 20, target.parameters);
	const property = (
		name: string,
		arb: fc.Arbitrary<unknown[]>,
		body: (...args: never[]) => Promise<void>,
	): KitCase => ({
		name,
		timeout: 120_000,
		run: () =>
			fc.assert(
				fc.asyncProperty(arb, (args) => body(...(args as never[]))),
				parameters,
			),
	});
	return [
		property(
			"drop=P%: what comes back is some of what was sent, whole, and the rest is counted as dropped",
			fc.tuple(burstArb, shareArb, seedArb),
			async (sent: Uint8Array[], share: number, seed: number) => {
				const run = await faultyExchange(target.driver, client, sent, [{ kind: "drop", share }], seed);
				const replies = run.replies.map((r) => r.bytes);
				for (const bytes of replies) assertBytes(bytes, sent[indexOf(bytes)] as Uint8Array, `reply ${indexOf(bytes)}`);
				check(new Set(replies.map(indexOf)).size === replies.length, "a datagram came back twice");
				check(
					run.stats.dropped.fault === sent.length - replies.length,
					`${run.stats.dropped.fault} counted dropped, ${sent.length - replies.length} missing`,
				);
				if (share === 0) check(replies.length === sent.length, "drop=0% dropped some");
				if (share === 1) check(replies.length === 0, "drop=100% let some through");
			},
		),
		property(
			"duplicate=P%: each datagram comes back once or twice, whole, and the replies are counted",
			fc.tuple(burstArb, shareArb, seedArb),
			async (sent: Uint8Array[], share: number, seed: number) => {
				const run = await faultyExchange(target.driver, client, sent, [{ kind: "duplicate", share }], seed);
				const times = new Map<number, number>();
				for (const { bytes } of run.replies) {
					assertBytes(bytes, sent[indexOf(bytes)] as Uint8Array, `reply ${indexOf(bytes)}`);
					times.set(indexOf(bytes), (times.get(indexOf(bytes)) ?? 0) + 1);
				}
				for (let i = 0; i < sent.length; i++) {
					const n = times.get(i) ?? 0;
					check(n === 1 || n === 2, `datagram ${i} came back ${n} times`);
					if (share === 0) check(n === 1, "duplicate=0% duplicated");
					if (share === 1) check(n === 2, "duplicate=100% did not duplicate");
				}
				check(run.stats.echoed === run.replies.length, `${run.stats.echoed} counted, ${run.replies.length} came`);
			},
		),
		property(
			"reorder=W: every datagram comes back once, whole, within its group of W",
			fc.tuple(burstArb, fc.integer({ min: 2, max: 8 }), seedArb),
			async (sent: Uint8Array[], window: number, seed: number) => {
				const run = await faultyExchange(target.driver, client, sent, [{ kind: "reorder", window, wait: 20 }], seed);
				const replies = run.replies.map((r) => r.bytes);
				assertSameDatagrams(replies, sent, "reorder");
				replies.forEach((bytes, position) => {
					const group = Math.floor(position / window);
					check(
						Math.floor(indexOf(bytes) / window) === group,
						`datagram ${indexOf(bytes)} came back at ${position}, outside its group`,
					);
				});
			},
		),
		property(
			"latency=D,jitter=J: every datagram comes back once, whole, and none before D - J",
			fc.tuple(burstArb, fc.integer({ min: 5, max: 40 }), fc.integer({ min: 0, max: 5 }), seedArb),
			async (sent: Uint8Array[], delay: number, jitter: number, seed: number) => {
				const run = await faultyExchange(target.driver, client, sent, [{ kind: "latency", delay, jitter }], seed);
				assertSameDatagrams(
					run.replies.map((r) => r.bytes),
					sent,
					"latency",
				);
				// A timer may fire up to a millisecond early, as timers are rounded.
				const earliest = Math.min(...run.replies.map((r) => r.at - run.sentAt));
				check(
					earliest >= delay - jitter - 1,
					`a reply came after ${earliest.toFixed(1)} ms, before ${delay - jitter} ms`,
				);
			},
		),
		property(
			"truncate=N: each datagram comes back once, cut to its first N bytes",
			fc.tuple(burstArb, fc.integer({ min: 0, max: 600 }), seedArb),
			async (sent: Uint8Array[], bytes: number, seed: number) => {
				const run = await faultyExchange(target.driver, client, sent, [{ kind: "truncate", bytes }], seed);
				const expected = sent.map((d) => d.subarray(0, bytes));
				assertSameDatagrams(
					run.replies.map((r) => r.bytes),
					expected,
					"truncate",
				);
				for (const { bytes: reply } of run.replies) {
					check(reply.byteLength <= bytes, `a reply of ${reply.byteLength} bytes, past the cut at ${bytes}`);
				}
			},
		),
		property(
			"the same seed and the same datagrams give the same replies in the same order",
			fc.tuple(burstArb, seedArb),
			async (sent: Uint8Array[], seed: number) => {
				const faults = [
					{ kind: "drop", share: 0.3 },
					{ kind: "duplicate", share: 0.3 },
					{ kind: "reorder", window: 3, wait: 20 },
				] as const;
				const first = await faultyExchange(target.driver, client, sent, faults, seed);
				const second = await faultyExchange(target.driver, client, sent, faults, seed);
				const a = first.replies.map((r) => r.bytes);
				const b = second.replies.map((r) => r.bytes);
				check(a.length === b.length, `${a.length} replies, then ${b.length}`);
				for (let i = 0; i < a.length; i++) {
					check(compareBytes(a[i] as Uint8Array, b[i] as Uint8Array) === 0, `reply ${i} differs between runs`);
				}
			},
		),
	];
}
