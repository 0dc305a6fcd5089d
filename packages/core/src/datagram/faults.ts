import { SpecReader } from "../faults/definition.ts";
import { latency as streamLatency } from "../faults/latency.ts";
import { printDuration, printSize } from "../units.ts";
import type { UdpAddress } from "./contract.ts";

/**
 * Faults a datagram echo can inject, each decided per datagram: what a
 * datagram client's retransmit and reordering logic must survive. Times are
 * milliseconds, sizes bytes, shares fractions from 0 to 1.
 */
export type DatagramFault =
	/** Each reply is lost with probability `share`. */
	| { readonly kind: "drop"; readonly share: number }
	/** Each reply goes back twice with probability `share`. */
	| { readonly kind: "duplicate"; readonly share: number }
	/** Replies go back shuffled within groups of `window`; a group not full after `wait` ms goes as it is. */
	| { readonly kind: "reorder"; readonly window: number; readonly wait: number }
	/** Each reply goes back `delay` ms (± up to `jitter`) later, on its own timer: jitter reorders. */
	| { readonly kind: "latency"; readonly delay: number; readonly jitter?: number }
	/** Each reply is cut to its first `bytes` bytes. */
	| { readonly kind: "truncate"; readonly bytes: number };

export type DatagramFaultKind = DatagramFault["kind"];

/** A reply on its way out. */
export interface Reply {
	readonly bytes: Uint8Array;
	readonly to: UdpAddress;
}

/** Where a stage hands a reply on, and what it tells when it drops one. */
export interface StageOut {
	send(reply: Reply): void;
	/** The reply was dropped by the fault (`fault`) or because too many replies wait (`backlog`). */
	drop(reason: "fault" | "backlog", reply: Reply): void;
}

/** One fault on the way out. `held` replies wait in it; `flush()` lets them go now. */
export interface DatagramStage {
	push(reply: Reply): void;
	readonly held: number;
	flush(): void;
}

/** The most replies a delaying fault holds at once; past it, replies are dropped as `backlog`. */
export const MAX_HELD_REPLIES = 4096;

/** Default for `reorder=`'s `wait`: how long a group that is not full waits. */
export const DEFAULT_REORDER_WAIT = 100;

interface Definition<K extends DatagramFaultKind> {
	readonly name: K;
	readonly example: readonly [spec: string, meaning: string];
	parse(spec: SpecReader): Extract<DatagramFault, { kind: K }>;
	describe(fault: Extract<DatagramFault, { kind: K }>): string;
	stage(fault: Extract<DatagramFault, { kind: K }>, out: StageOut, random: () => number): DatagramStage;
}

const passing = (push: (reply: Reply) => void): DatagramStage => ({ push, held: 0, flush() {} });

const drop: Definition<"drop"> = {
	name: "drop",
	example: ["drop=10%", "each reply is lost with probability 10%"],
	parse: (spec) => ({ kind: "drop", share: share(spec) }),
	describe: (fault) => `drop=${percent(fault.share)}`,
	stage: (fault, out, random) =>
		passing((reply) => (random() < fault.share ? out.drop("fault", reply) : out.send(reply))),
};

const duplicate: Definition<"duplicate"> = {
	name: "duplicate",
	example: ["duplicate=5%", "each reply goes back twice with probability 5%"],
	parse: (spec) => ({ kind: "duplicate", share: share(spec) }),
	describe: (fault) => `duplicate=${percent(fault.share)}`,
	stage: (fault, out, random) =>
		passing((reply) => {
			out.send(reply);
			if (random() < fault.share) out.send(reply);
		}),
};

const truncate: Definition<"truncate"> = {
	name: "truncate",
	example: ["truncate=512", "each reply is cut to its first 512 bytes"],
	parse: (spec) => ({ kind: "truncate", bytes: spec.size(spec.need("a size such as 512"), "truncate size") }),
	describe: (fault) => `truncate=${printSize(fault.bytes)}`,
	stage: (fault, out) =>
		passing((reply) =>
			out.send(
				reply.bytes.byteLength > fault.bytes ? { ...reply, bytes: reply.bytes.subarray(0, fault.bytes) } : reply,
			),
		),
};

const latency: Definition<"latency"> = {
	name: "latency",
	example: ["latency=50ms,jitter=20ms", "each reply goes back 50 ms (± 20 ms) later; jitter reorders"],
	// The same spec as the stream fault of that name.
	parse: (spec) => streamLatency.parse(spec),
	describe: (fault) => streamLatency.describe(fault),
	stage(fault, out, random) {
		const timers = new Map<ReturnType<typeof setTimeout>, Reply>();
		return {
			push(reply) {
				if (timers.size >= MAX_HELD_REPLIES) return out.drop("backlog", reply);
				const jitter = fault.jitter ?? 0;
				const delay = Math.max(0, fault.delay + (random() * 2 - 1) * jitter);
				const timer = setTimeout(() => {
					timers.delete(timer);
					out.send(reply);
				}, delay);
				timers.set(timer, reply);
			},
			get held() {
				return timers.size;
			},
			flush() {
				for (const [timer, reply] of timers) {
					clearTimeout(timer);
					out.send(reply);
				}
				timers.clear();
			},
		};
	},
};

const reorder: Definition<"reorder"> = {
	name: "reorder",
	example: ["reorder=4", "replies go back shuffled in groups of 4 (a group waits at most 100ms)"],
	parse(spec) {
		const text = spec.need("a window such as 4");
		const window = Number(text);
		if (!/^\d+$/.test(text) || window < 2 || window > MAX_HELD_REPLIES) {
			spec.fail(`'${text}' is not a window; give a whole number of datagrams from 2 to ${MAX_HELD_REPLIES}`);
		}
		const wait = spec.take("wait");
		return { kind: "reorder", window, wait: wait === undefined ? DEFAULT_REORDER_WAIT : spec.duration(wait, "wait") };
	},
	describe: (fault) =>
		`reorder=${fault.window}${fault.wait !== DEFAULT_REORDER_WAIT ? `,wait=${printDuration(fault.wait)}` : ""}`,
	stage(fault, out, random) {
		let group: Reply[] = [];
		let timer: ReturnType<typeof setTimeout> | undefined;
		const flush = () => {
			clearTimeout(timer);
			timer = undefined;
			const sending = group;
			group = [];
			// Fisher-Yates, from the server's seeded sequence.
			for (let i = sending.length - 1; i > 0; i--) {
				const j = Math.floor(random() * (i + 1));
				[sending[i], sending[j]] = [sending[j] as Reply, sending[i] as Reply];
			}
			for (const reply of sending) out.send(reply);
		};
		return {
			push(reply) {
				group.push(reply);
				if (group.length >= fault.window) flush();
				else timer ??= setTimeout(flush, fault.wait);
			},
			get held() {
				return group.length;
			},
			flush,
		};
	},
};

const DEFINITIONS: { readonly [K in DatagramFaultKind]: Definition<K> } = {
	drop,
	duplicate,
	reorder,
	latency,
	truncate,
};

/** Every kind of datagram fault, in the order `--help` lists them. */
export const DATAGRAM_FAULTS: readonly Definition<DatagramFaultKind>[] = Object.values(
	DEFINITIONS,
) as Definition<DatagramFaultKind>[];

function definitionOf<K extends DatagramFaultKind>(kind: K): Definition<K> {
	return DEFINITIONS[kind] as unknown as Definition<K>;
}

/** Reads one datagram fault spec, such as `drop=10%`; throws a `FaultSpecError` that names the wrong part. */
export function parseDatagramFault(spec: string): DatagramFault {
	const reader = new SpecReader(spec, spec);
	const definition = DATAGRAM_FAULTS.find((d) => d.name === reader.name);
	if (!definition) {
		return reader.fail(
			`unknown datagram fault '${reader.name}'; choose ${DATAGRAM_FAULTS.map((d) => d.name).join(", ")}`,
		);
	}
	const fault = definition.parse(reader);
	reader.done();
	return fault;
}

/** A datagram fault as a spec; {@link parseDatagramFault} reads it back. */
export function describeDatagramFault(fault: DatagramFault): string {
	return definitionOf(fault.kind).describe(fault as never);
}

/** The stage that does `fault`, handing on to `out`. */
export function datagramStage(fault: DatagramFault, out: StageOut, random: () => number): DatagramStage {
	return definitionOf(fault.kind).stage(fault as never, out, random);
}

function share(spec: SpecReader): number {
	const text = spec.need("a percentage such as 10%");
	const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
	const value = Number(match?.[1]);
	if (!match || value > 100) spec.fail(`'${text}' is not a share; use a percentage from 0 to 100, such as 10%`);
	// In thousandths of a percent, so that a share reads back exactly.
	return Math.round(value * 1000) / 100_000;
}

function percent(share: number): string {
	return `${Math.round(share * 100_000) / 1000}%`;
}
