/**
 * The datagram part of the contract (RFC 862 echo over UDP): a driver binds
 * a socket, the socket hands out one datagram at a time with its sender,
 * and sends whole datagrams back. Drivers for `node:dgram`, Bun's UDP
 * socket and an in-memory network keep the rules below;
 * `@echo-cli/core/testing` checks them.
 *
 * UDP has no connection, no order and no delivery guarantee, so this part
 * promises less than the stream part: what it does promise is that a
 * datagram is never split, merged or changed, and that nothing queues
 * without bound.
 *
 * The key words MUST, MUST NOT and MAY are used as in RFC 2119.
 */

/// <reference lib="esnext.disposable" preserve="true" />

import type { DatagramError, ListenError, MisuseError } from "../errors.ts";

/** Where a datagram socket is bound, or where a datagram came from. */
export interface UdpAddress {
	readonly transport: "udp";
	/** A numeric address: `127.0.0.1`, `::1`, `::ffff:127.0.0.1` (an IPv4 sender on a dual-stack socket). */
	readonly host: string;
	readonly port: number;
	readonly family: "IPv4" | "IPv6";
}

/** One datagram as it arrived: its bytes, whole, and who sent it. */
export interface Datagram {
	readonly bytes: Uint8Array;
	readonly from: UdpAddress;
}

/** The largest UDP payload over IPv4: 65,535 minus the IP and UDP headers. */
export const MAX_DATAGRAM_IPV4 = 65_507;
/** The largest UDP payload over IPv6 without jumbograms. */
export const MAX_DATAGRAM_IPV6 = 65_527;

/** Default for {@link BindOptions.receiveQueue}. */
export const DEFAULT_RECEIVE_QUEUE = 1024;

export interface BindOptions {
	/**
	 * Host to bind. Default `127.0.0.1`. A name (`localhost`) is resolved
	 * first, as for stream listeners; `::` binds every IPv6 address and,
	 * where the OS allows, IPv4 too.
	 */
	readonly host?: string;
	/** Port to bind; `0` (the default) asks the OS for a free one. */
	readonly port?: number;
	/**
	 * The most datagrams that MAY wait for `receive()`. The runtimes push
	 * datagrams as they arrive and UDP has no flow control, so past this the
	 * socket MUST drop new datagrams and count them in
	 * {@link DatagramStats.dropped}, as the kernel does when its own buffer
	 * is full. Default {@link DEFAULT_RECEIVE_QUEUE}.
	 */
	readonly receiveQueue?: number;
	/**
	 * The kernel's receive buffer (SO_RCVBUF) in bytes, where the runtime
	 * can set it. Default: the OS default.
	 */
	readonly receiveBufferSize?: number;
}

export interface DatagramDriver {
	/** The driver's name: `node`, `bun`, `memory`. */
	readonly name: string;
	/**
	 * Binds a socket. Rejects with a {@link ListenError} (`address-in-use`,
	 * `permission-denied`, `bad-address`), as `listen()` does.
	 */
	bind(options?: BindOptions): Promise<DatagramSocket>;
}

/** What a socket has done so far. Counters only grow. */
export interface DatagramStats {
	/** Datagrams that arrived, including those then dropped for a full queue. */
	readonly received: number;
	/** Datagrams handed to the OS. */
	readonly sent: number;
	readonly dropped: {
		/** Arrived while {@link BindOptions.receiveQueue} datagrams were waiting. */
		readonly receiveQueue: number;
		/** Not sent because the OS would not take them now (the runtime's backpressure). */
		readonly sendBusy: number;
		/** Handed to the OS, which then reported an error for them (no route, port unreachable). */
		readonly sendError: number;
	};
}

/**
 * A bound UDP socket.
 *
 * - Every datagram MUST arrive whole: `receive()` yields exactly the bytes
 *   of one datagram (0 bytes included), and `send()` sends exactly one.
 * - A datagram's sender MUST be reported numerically, as the OS saw it.
 * - A failure to reach one peer (ICMP port unreachable after it went away)
 *   MUST NOT stop the socket from receiving or from sending to others.
 * - Nothing MAY queue without bound, in either direction.
 */
export interface DatagramSocket extends AsyncIterable<Datagram>, AsyncDisposable {
	/** The address bound, with the port the OS chose for port 0. */
	readonly address: UdpAddress;
	/** The largest datagram `send()` takes: {@link MAX_DATAGRAM_IPV4} or {@link MAX_DATAGRAM_IPV6}. */
	readonly maxDatagram: number;
	readonly stats: DatagramStats;
	/**
	 * The next datagram, or `null` once the socket is closed (datagrams
	 * still queued are dropped then). One call at a time: a second call
	 * while one is pending MUST reject with a {@link MisuseError}
	 * (`concurrent-read`).
	 */
	receive(): Promise<Datagram | null>;
	/**
	 * The push path: from now on `onDatagram` is called with each datagram
	 * as it arrives (those already queued first, at once), and nothing is
	 * queued or allocated per datagram on the way. Instead of `receive()`,
	 * not beside it: calling either after `receiveEach()`, or this while a
	 * `receive()` is pending, MUST throw or reject with a
	 * {@link MisuseError} (`concurrent-read`). Closing stops the calls.
	 */
	receiveEach(onDatagram: (bytes: Uint8Array, from: UdpAddress) => void): void;
	/**
	 * Sends `bytes` as one datagram to `to`, a numeric address. Returns
	 * `true` when the OS took it, `false` when it was dropped because the
	 * OS would not take it now (counted as `sendBusy`); a send MUST NOT
	 * wait or queue in user space. Throws a {@link DatagramError}:
	 * `too-large` past {@link maxDatagram}, `bad-address` for a name or a
	 * port out of range, `closed` after `close()`.
	 */
	send(bytes: Uint8Array, to: UdpAddress): boolean;
	/** Closes the socket; a pending `receive()` resolves to `null`. Idempotent. */
	close(): Promise<void>;
}
