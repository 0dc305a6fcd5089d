import { isIP } from "node:net";
import { ListenError } from "../errors.ts";
import { hostPort } from "../format.ts";
import { BaseDatagramSocket, udpAddress } from "./base-socket.ts";
import type { BindOptions, DatagramDriver, DatagramSocket, UdpAddress } from "./contract.ts";

/**
 * Datagram sockets in one process, for tests: a datagram sent to an address
 * bound on the same driver arrives there after the sender's turn, whole;
 * one sent anywhere else is lost, as UDP loses it. Each driver is its own
 * network: sockets of two drivers never see each other.
 */
export class MemoryDatagramDriver implements DatagramDriver {
	readonly name = "memory";
	readonly #bound = new Map<string, MemoryDatagramSocket>();
	#nextPort = 49152;

	async bind(options: BindOptions = {}): Promise<DatagramSocket> {
		const host = options.host === undefined || options.host === "localhost" ? "127.0.0.1" : options.host;
		const family = isIP(host);
		if (family === 0) throw new ListenError("bad-address", `cannot bind ${host}: give a numeric address`);
		let port = options.port ?? 0;
		if (port === 0) {
			while (this.#bound.has(hostPort(host, this.#nextPort))) this.#nextPort++;
			port = this.#nextPort++;
		}
		const key = hostPort(host, port);
		if (this.#bound.has(key)) {
			throw new ListenError(
				"address-in-use",
				`address ${key} is already in use; stop the other server or choose another port`,
			);
		}
		const socket = new MemoryDatagramSocket(
			udpAddress(host, port, family === 6 ? "IPv6" : "IPv4"),
			options.receiveQueue,
			(bytes, to, from) => {
				const target = this.#bound.get(hostPort(to.host, to.port));
				// A copy, as the kernel makes one: the sender may reuse its buffer.
				if (target) queueMicrotask(() => target.arrive(bytes.slice(), from));
			},
			() => this.#bound.delete(key),
		);
		this.#bound.set(key, socket);
		return socket;
	}
}

type Route = (bytes: Uint8Array, to: UdpAddress, from: UdpAddress) => void;

class MemoryDatagramSocket extends BaseDatagramSocket {
	readonly #route: Route;
	readonly #unbind: () => void;

	constructor(address: UdpAddress, receiveQueue: number | undefined, route: Route, unbind: () => void) {
		super(address, receiveQueue);
		this.#route = route;
		this.#unbind = unbind;
	}

	arrive(bytes: Uint8Array, from: UdpAddress): void {
		this.deliver(bytes, from);
	}

	protected transmit(bytes: Uint8Array, to: UdpAddress): boolean {
		this.#route(bytes, to, this.address);
		return true;
	}

	protected release(): void {
		this.#unbind();
	}
}
