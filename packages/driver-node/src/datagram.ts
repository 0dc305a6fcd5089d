import dgram from "node:dgram";
import { ListenError } from "@echo-cli/core";
import {
	type BindOptions,
	type DatagramDriver,
	type DatagramSocket,
	formatUdpAddress,
	type UdpAddress,
} from "@echo-cli/core/datagram";
import { BaseDatagramSocket, bindAddress, errorCode, listenErrorFrom, udpAddress } from "@echo-cli/core/driver";

/**
 * How many datagrams may wait in libuv's send queue before `send()` drops
 * instead: `node:dgram` queues without bound when the kernel buffer is full.
 */
const SEND_QUEUE_LIMIT = 1024;

/**
 * The datagram contract over `node:dgram`, for Node >= 20 and Bun's
 * `node:dgram`.
 *
 * - `send()` looks at libuv's send queue first and drops (counted) past
 *   {@link SEND_QUEUE_LIMIT} datagrams, so a full kernel buffer never
 *   becomes an unbounded queue in the process.
 * - A send whose peer went away fails alone: on Bun the socket reports the
 *   ICMP error (`ECONNREFUSED`) on the next send, whoever it is for, so
 *   that send is made once more (see the package README).
 */
export class NodeDatagramDriver implements DatagramDriver {
	readonly name = "node";

	async bind(options: BindOptions = {}): Promise<DatagramSocket> {
		const port = options.port ?? 0;
		const { host, family } = await bindAddress(options.host ?? "127.0.0.1", port);
		const where = formatUdpAddress(udpAddress(host, port, family));
		const socket = dgram.createSocket({
			type: family === "IPv6" ? "udp6" : "udp4",
			...(options.receiveBufferSize ? { recvBufferSize: options.receiveBufferSize } : {}),
		});
		await new Promise<void>((resolve, reject) => {
			const failed = (error: Error) => reject(listenErrorFrom(error, where));
			socket.once("error", failed);
			socket.bind({ port, address: host, exclusive: true }, () => {
				socket.off("error", failed);
				resolve();
			});
		}).catch((error: unknown) => {
			socket.close();
			throw error instanceof ListenError ? error : listenErrorFrom(error, where);
		});
		const bound = socket.address();
		return new NodeDatagramSocket(socket, udpAddress(bound.address, bound.port, family), options.receiveQueue);
	}
}

class NodeDatagramSocket extends BaseDatagramSocket {
	readonly #socket: dgram.Socket;

	constructor(socket: dgram.Socket, address: UdpAddress, receiveQueue: number | undefined) {
		super(address, receiveQueue);
		this.#socket = socket;
		// Errors of single sends arrive in their callbacks; this keeps anything else from being uncaught.
		socket.on("error", () => this.sendFailed());
		socket.on("message", (message: Uint8Array, from: dgram.RemoteInfo) =>
			this.deliver(message, udpAddress(from.address, from.port, familyOf(from.family))),
		);
	}

	protected transmit(bytes: Uint8Array, to: UdpAddress): boolean {
		if (this.#socket.getSendQueueCount() >= SEND_QUEUE_LIMIT) return false;
		this.#socket.send(bytes, to.port, to.host, (error) => {
			if (!error) return;
			if (errorCode(error) !== "ECONNREFUSED") return this.sendFailed();
			// The error of an earlier send to a peer that went away, not of this one.
			this.#socket.send(bytes, to.port, to.host, (again) => again && this.sendFailed());
		});
		return true;
	}

	protected release(): Promise<void> {
		return new Promise((resolve) => this.#socket.close(() => resolve()));
	}
}

const familyOf = (family: string | number): "IPv4" | "IPv6" => (family === "IPv6" || family === 6 ? "IPv6" : "IPv4");
