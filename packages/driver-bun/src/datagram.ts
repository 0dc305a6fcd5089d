import {
	type BindOptions,
	type DatagramDriver,
	type DatagramSocket,
	formatUdpAddress,
	type UdpAddress,
} from "@echo-cli/core/datagram";
import { BaseDatagramSocket, bindAddress, errorCode, listenErrorFrom, udpAddress } from "@echo-cli/core/driver";

type UdpSocket = Bun.udp.Socket<"uint8array">;

/**
 * The datagram contract over `Bun.udpSocket`.
 *
 * - Bun sets `IP_RECVERR`: the ICMP error of a reply to a peer that went
 *   away comes back on the socket. Without an `error` handler it kills the
 *   process; unread, it fails the next send to anyone. The handler counts
 *   it, and a send that fails with `ECONNREFUSED` is made once more.
 * - `send()` returns `false` when the kernel buffer is full: the datagram
 *   is dropped and counted, not queued.
 */
export class BunDatagramDriver implements DatagramDriver {
	readonly name = "bun";

	async bind(options: BindOptions = {}): Promise<DatagramSocket> {
		const port = options.port ?? 0;
		const { host, family } = await bindAddress(options.host ?? "127.0.0.1", port);
		let socket!: BunDatagramSocket;
		let udp: UdpSocket;
		try {
			udp = await Bun.udpSocket({
				hostname: host,
				port,
				binaryType: "uint8array",
				socket: {
					data: (_, bytes, fromPort, fromHost, flags) =>
						socket.arrive(bytes, udpAddress(fromHost, fromPort, flags?.ipv6 ? "IPv6" : "IPv4")),
					// Bun passes the error alone, whatever its typings say.
					error: () => socket?.failed(),
				},
			});
		} catch (error) {
			throw listenErrorFrom(error, formatUdpAddress(udpAddress(host, port, family)));
		}
		socket = new BunDatagramSocket(udp, udpAddress(udp.address.address, udp.port, family), options.receiveQueue);
		return socket;
	}
}

class BunDatagramSocket extends BaseDatagramSocket {
	readonly #socket: UdpSocket;

	constructor(socket: UdpSocket, address: UdpAddress, receiveQueue: number | undefined) {
		super(address, receiveQueue);
		this.#socket = socket;
	}

	arrive(bytes: Uint8Array, from: UdpAddress): void {
		this.deliver(bytes, from);
	}

	failed(): void {
		this.sendFailed();
	}

	protected transmit(bytes: Uint8Array, to: UdpAddress): boolean {
		try {
			return this.#socket.send(bytes, to.port, to.host);
		} catch (error) {
			if (errorCode(error) !== "ECONNREFUSED") throw error;
			// The error of an earlier send to a peer that went away, not of this one.
			return this.#socket.send(bytes, to.port, to.host);
		}
	}

	protected release(): void {
		this.#socket.close();
	}
}
