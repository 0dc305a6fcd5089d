import type { UdpAddress } from "./contract.ts";

/**
 * Source ports of the classic small services that answer anything: echo 7,
 * discard 9, daytime 13, qotd 17, chargen 19, time 37; and port 0, which no
 * real sender has. A datagram "from" one of them is most likely forged to
 * make two servers answer each other for ever (CERT CA-1996-01).
 */
export const RESERVED_SOURCE_PORTS: readonly number[] = [0, 7, 9, 13, 17, 19, 37];

/** Default for {@link GuardOptions.rate}: datagrams per second per source address. */
export const DEFAULT_DATAGRAM_RATE = 1000;

export interface GuardOptions {
	/** Replies per second to one source address, with bursts of as many; `Infinity` for no limit. */
	readonly rate?: number;
	/** Source ports never answered. Default {@link RESERVED_SOURCE_PORTS}. */
	readonly reservedPorts?: readonly number[];
	/** The most source addresses tracked at once; a new source past it is dropped as `rate-limit`. Default 65,536. */
	readonly maxSources?: number;
}

export type GuardVerdict = "reserved-port" | "rate-limit" | undefined;

interface Bucket {
	tokens: number;
	at: number;
}

/**
 * Decides which datagrams a UDP echo answers: none from a reserved source
 * port, and no more than `rate` per second to one source address (a token
 * bucket per address, so a spoofed flood cannot be turned into a flood at
 * its victim). Memory is bounded by `maxSources`.
 */
export class DatagramGuard {
	readonly rate: number;
	/** The burst: a second's worth, and at least one datagram. */
	readonly #burst: number;
	readonly #reserved: ReadonlySet<number>;
	readonly #maxSources: number;
	readonly #buckets = new Map<string, Bucket>();

	constructor(options: GuardOptions = {}) {
		this.rate = options.rate ?? DEFAULT_DATAGRAM_RATE;
		this.#burst = Math.max(1, this.rate);
		this.#reserved = new Set(options.reservedPorts ?? RESERVED_SOURCE_PORTS);
		this.#maxSources = options.maxSources ?? 65_536;
	}

	/** Why the datagram from `from` gets no reply, or undefined when it gets one. */
	check(from: UdpAddress, now = performance.now()): GuardVerdict {
		if (this.#reserved.has(from.port)) return "reserved-port";
		if (this.rate === Number.POSITIVE_INFINITY) return undefined;
		let bucket = this.#buckets.get(from.host);
		if (bucket) {
			bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) * this.rate) / 1000);
			bucket.at = now;
		} else {
			if (this.#buckets.size >= this.#maxSources && !this.#forgetIdle(now)) return "rate-limit";
			bucket = { tokens: this.#burst, at: now };
			this.#buckets.set(from.host, bucket);
		}
		if (bucket.tokens < 1) return "rate-limit";
		bucket.tokens--;
		return undefined;
	}

	/** Forgets sources whose buckets have refilled: they are as if never seen. True when any was forgotten. */
	#forgetIdle(now: number): boolean {
		const before = this.#buckets.size;
		for (const [host, bucket] of this.#buckets) {
			if (bucket.tokens + ((now - bucket.at) * this.rate) / 1000 >= this.#burst) this.#buckets.delete(host);
		}
		return this.#buckets.size < before;
	}
}
