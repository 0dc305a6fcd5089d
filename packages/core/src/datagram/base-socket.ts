import { isIP } from "node:net";
import { DatagramError, MisuseError } from "../errors.ts";
import { hostPort, sharedHost } from "../format.ts";
import {
	type Datagram,
	type DatagramSocket,
	type DatagramStats,
	DEFAULT_RECEIVE_QUEUE,
	MAX_DATAGRAM_IPV4,
	MAX_DATAGRAM_IPV6,
	type UdpAddress,
} from "./contract.ts";

/** A UDP address whose host string is shared with every other address of the same host. */
export function udpAddress(host: string, port: number, family: "IPv4" | "IPv6"): UdpAddress {
	return { transport: "udp", host: sharedHost(host), port, family };
}

const families = new Map<string, number>();

/** `isIP(host)`, remembered: a server answers the same few senders over and over. */
function familyOf(host: string): number {
	let family = families.get(host);
	if (family === undefined) {
		family = isIP(host);
		// Bounded, as a server facing many peers must be.
		if (families.size >= 1024) families.clear();
		families.set(host, family);
	}
	return family;
}

/** `udp://127.0.0.1:1337`, `udp://[::1]:1337`. */
export function formatUdpAddress(address: UdpAddress): string {
	return `udp://${hostPort(address.host, address.port)}`;
}

/** The address {@link formatUdpAddress} wrote, or undefined for anything else. */
export function parseUdpAddress(text: string): UdpAddress | undefined {
	const match = /^udp:\/\/(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
	const port = Number(match?.[3]);
	if (!match || port > 65535) return undefined;
	return udpAddress((match[1] ?? match[2]) as string, port, match[1] !== undefined ? "IPv6" : "IPv4");
}

/**
 * Everything datagram drivers share: the bounded receive queue and its one
 * waiter, the checks every send makes, the counters and closing. A driver
 * pushes what its runtime receives into {@link deliver} and implements
 * {@link transmit} and {@link release}.
 */
export abstract class BaseDatagramSocket implements DatagramSocket {
	readonly address: UdpAddress;
	readonly maxDatagram: number;
	readonly #limit: number;
	// A ring would save little: the queue is short and drained in order.
	#queue: Datagram[] = [];
	#head = 0;
	#waiter: ((datagram: Datagram | null) => void) | undefined;
	#onDatagram: ((bytes: Uint8Array, from: UdpAddress) => void) | undefined;
	#closed: Promise<void> | undefined;
	#received = 0;
	#sent = 0;
	readonly #dropped = { receiveQueue: 0, sendBusy: 0, sendError: 0 };

	constructor(address: UdpAddress, receiveQueue = DEFAULT_RECEIVE_QUEUE) {
		this.address = address;
		this.maxDatagram = address.family === "IPv6" ? MAX_DATAGRAM_IPV6 : MAX_DATAGRAM_IPV4;
		this.#limit = Math.max(1, receiveQueue);
	}

	get stats(): DatagramStats {
		return { received: this.#received, sent: this.#sent, dropped: { ...this.#dropped } };
	}

	/** Hands the OS `bytes` for `to` (already checked); `false` when it would not take them now. It MAY throw for a datagram the OS refused. */
	protected abstract transmit(bytes: Uint8Array, to: UdpAddress): boolean;
	/** Closes the runtime's socket. */
	protected abstract release(): Promise<void> | void;

	/** A datagram the runtime received. */
	protected deliver(bytes: Uint8Array, from: UdpAddress): void {
		if (this.#closed) return;
		this.#received++;
		if (this.#onDatagram) {
			this.#onDatagram(bytes, from);
			return;
		}
		const waiter = this.#waiter;
		if (waiter) {
			this.#waiter = undefined;
			waiter({ bytes, from });
		} else if (this.#queue.length - this.#head >= this.#limit) {
			this.#dropped.receiveQueue++;
		} else {
			this.#queue.push({ bytes, from });
		}
	}

	/** A datagram the OS took and then failed to send. */
	protected sendFailed(): void {
		this.#dropped.sendError++;
	}

	receive(): Promise<Datagram | null> {
		if (this.#waiter || this.#onDatagram) {
			const what = this.#waiter ? "another receive() is pending" : "receiveEach() receives";
			return Promise.reject(new MisuseError("concurrent-read", `receive() called while ${what}`));
		}
		if (this.#head < this.#queue.length) {
			const datagram = this.#queue[this.#head++] as Datagram;
			if (this.#head === this.#queue.length) {
				this.#queue = [];
				this.#head = 0;
			}
			return Promise.resolve(datagram);
		}
		if (this.#closed) return Promise.resolve(null);
		return new Promise((resolve) => {
			this.#waiter = resolve;
		});
	}

	receiveEach(onDatagram: (bytes: Uint8Array, from: UdpAddress) => void): void {
		if (this.#waiter || this.#onDatagram) {
			const what = this.#waiter ? "a receive() is pending" : "receiveEach() receives already";
			throw new MisuseError("concurrent-read", `receiveEach() called while ${what}`);
		}
		this.#onDatagram = onDatagram;
		const queued = this.#queue.slice(this.#head);
		this.#queue = [];
		this.#head = 0;
		for (const datagram of queued) onDatagram(datagram.bytes, datagram.from);
	}

	send(bytes: Uint8Array, to: UdpAddress): boolean {
		if (this.#closed) throw new DatagramError("closed", "the socket is closed");
		if (bytes.byteLength > this.maxDatagram) {
			throw new DatagramError(
				"too-large",
				`a datagram of ${bytes.byteLength} bytes is larger than ${this.maxDatagram}, the most ${this.address.family} allows`,
			);
		}
		const family = familyOf(to.host);
		if (family === 0 || !Number.isInteger(to.port) || to.port < 1 || to.port > 65535) {
			throw new DatagramError(
				"bad-address",
				`cannot send to ${hostPort(to.host, to.port)}: give a numeric address and a port from 1 to 65535`,
			);
		}
		if (family === 6 && this.address.family === "IPv4") {
			throw new DatagramError("bad-address", `cannot send to ${hostPort(to.host, to.port)} from an IPv4 socket`);
		}
		let taken: boolean;
		try {
			taken = this.transmit(bytes, to);
		} catch {
			// The runtime refused this datagram outright (Bun throws where node:dgram calls back).
			this.#dropped.sendError++;
			return false;
		}
		if (!taken) {
			this.#dropped.sendBusy++;
			return false;
		}
		this.#sent++;
		return true;
	}

	close(): Promise<void> {
		if (!this.#closed) {
			this.#closed = Promise.resolve(this.release());
			this.#queue = [];
			this.#head = 0;
			const waiter = this.#waiter;
			this.#waiter = undefined;
			waiter?.(null);
		}
		return this.#closed;
	}

	async *[Symbol.asyncIterator](): AsyncIterator<Datagram> {
		for (let datagram = await this.receive(); datagram; datagram = await this.receive()) yield datagram;
	}

	[Symbol.asyncDispose](): Promise<void> {
		return this.close();
	}
}
