import { DatagramError } from "../errors.ts";
import { seeded } from "../random.ts";
import type { Datagram, DatagramSocket, UdpAddress } from "./contract.ts";
import { type DatagramFault, type DatagramStage, datagramStage, type Reply, type StageOut } from "./faults.ts";
import { DatagramGuard, type GuardOptions } from "./guard.ts";

/** Why a datagram got no reply, or a reply was lost on the way out. */
export type DatagramDropReason =
	/** From a reserved source port (see `RESERVED_SOURCE_PORTS`). */
	| "reserved-port"
	/** Past the per-source rate limit. */
	| "rate-limit"
	/** A `drop=` fault. */
	| "fault"
	/** A delaying fault already held its most replies. */
	| "backlog"
	/** The socket's receive queue was full. */
	| "receive-queue"
	/** The OS would not take the reply now. */
	| "send-busy"
	/** The OS took the reply, then reported an error for it. */
	| "send-error";

export const DATAGRAM_DROP_REASONS: readonly DatagramDropReason[] = [
	"reserved-port",
	"rate-limit",
	"fault",
	"backlog",
	"receive-queue",
	"send-busy",
	"send-error",
];

export interface DatagramServerStats {
	/** Datagrams that arrived. */
	readonly received: number;
	/** Replies sent (a duplicated reply counts twice). */
	readonly echoed: number;
	readonly dropped: Readonly<Record<DatagramDropReason, number>>;
}

export interface DatagramServeOptions {
	/** The safety rules; `false` answers everything (tests, benchmarks). Default: a guard with its defaults. */
	readonly guard?: GuardOptions | false;
	/** Faults on the replies, applied in order. */
	readonly faults?: readonly DatagramFault[];
	/** Seeds the faults' randomness: the same seed and the same datagrams in the same order give the same faults. Default 1. */
	readonly seed?: number;
	/** Called for each datagram that gets no reply, or whose reply is lost here, with the reason. */
	readonly onDrop?: (reason: DatagramDropReason, datagram: Datagram | Reply) => void;
}

export interface DatagramServer {
	readonly socket: DatagramSocket;
	readonly stats: DatagramServerStats;
	/** Replies held by delaying faults. */
	readonly held: number;
	/**
	 * Stops: replies held by faults go out on time for up to `timeout` ms
	 * (default 0), then whatever is still held goes at once and the socket
	 * closes. Resolves to the final stats.
	 */
	close(options?: { readonly timeout?: number }): Promise<DatagramServerStats>;
}

/**
 * Serves UDP echo on `socket`: each datagram goes back whole to its sender,
 * unless the guard says no (a reserved source port, the rate limit) or a
 * fault drops it. A reply is never larger than the datagram it answers.
 *
 * ```ts
 * const server = serveDatagrams(await new NodeDatagramDriver().bind({ port: 7007 }));
 * ```
 */
export function serveDatagrams(socket: DatagramSocket, options: DatagramServeOptions = {}): DatagramServer {
	const guard = options.guard === false ? undefined : new DatagramGuard(options.guard);
	const dropped: Record<DatagramDropReason, number> = Object.fromEntries(
		DATAGRAM_DROP_REASONS.map((reason) => [reason, 0]),
	) as Record<DatagramDropReason, number>;
	let echoed = 0;
	const onDrop = options.onDrop;
	const drop = (reason: DatagramDropReason, datagram: Datagram | Reply) => {
		dropped[reason]++;
		onDrop?.(reason, datagram);
	};
	const sendReply = (bytes: Uint8Array, to: UdpAddress) => {
		let sent: boolean;
		try {
			sent = socket.send(bytes, to);
		} catch (error) {
			// A sender the socket cannot answer (port 0 with no guard, closed while a fault held the reply).
			if (!(error instanceof DatagramError)) throw error;
			return drop("send-error", { bytes, to });
		}
		if (sent) echoed++;
		else onDrop?.("send-busy", { bytes, to });
	};
	const last: StageOut = { send: (reply) => sendReply(reply.bytes, reply.to), drop };
	const random = seeded(options.seed ?? 1);
	const stages: DatagramStage[] = [];
	let out = last;
	for (const fault of [...(options.faults ?? [])].reverse()) {
		const stage = datagramStage(fault, out, random);
		stages.unshift(stage);
		out = { send: (reply) => stage.push(reply), drop };
	}
	const first = out;

	// The push path: no promise and, without faults, no object per datagram.
	const direct = stages.length === 0;
	socket.receiveEach((bytes, from) => {
		const verdict = guard?.check(from);
		if (verdict) drop(verdict, { bytes, from });
		else if (direct) sendReply(bytes, from);
		else first.send({ bytes, to: from });
	});

	const stats = (): DatagramServerStats => {
		const own = socket.stats;
		return {
			received: own.received,
			echoed,
			dropped: {
				...dropped,
				"receive-queue": own.dropped.receiveQueue,
				"send-busy": own.dropped.sendBusy,
				"send-error": own.dropped.sendError,
			},
		};
	};
	const held = () => stages.reduce((sum, stage) => sum + stage.held, 0);

	return {
		socket,
		get stats() {
			return stats();
		},
		get held() {
			return held();
		},
		async close({ timeout = 0 } = {}) {
			const deadline = performance.now() + timeout;
			while (held() > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
			// In order: what an earlier stage lets go passes through the later ones.
			for (const stage of stages) stage.flush();
			await socket.close();
			return stats();
		},
	};
}
