import type { Connection } from "../contract.ts";
import { ConnectionError } from "../errors.ts";

/** Why a timeout ended a connection. */
export type TimeoutCut = "idle" | "stalled";

export interface TimeoutOptions {
	/** Milliseconds; 0 or undefined is off. */
	readonly idleTimeout?: number | undefined;
	readonly sendTimeout?: number | undefined;
}

/** The longest a connection half-closed for idleness waits for its peer to close. */
const IDLE_GRACE = 2000;

interface Watch {
	/** Bytes received plus bytes handed to the OS, at the last sweep, and when that count last changed. */
	moved: number;
	movedAt: number;
	/** Bytes handed to the OS at the last sweep, and when that count last changed or nothing was owed. */
	sent: number;
	sentAt: number;
	cut: TimeoutCut | undefined;
	/** For a connection half-closed for idleness: when it is closed if its peer has not closed. */
	releaseAt: number;
}

/**
 * The idle and send timeouts of `serve()`: one coarse sweep over every
 * connection's byte counts, the same for every driver, with no clock read
 * per chunk.
 *
 * - Idle: nothing received, nothing handed to the OS and nothing queued
 *   for the peer, for `idleTimeout`. The connection is half-closed (its reads
 *   end, so `echo` sends its FIN), then closed without a reset once its peer
 *   has had the same time (at most 2 s) to close: what the OS already took
 *   still reaches the peer. A connection with bytes queued for its peer is
 *   never idle, however slowly the peer reads.
 * - Stalled: bytes are queued for the peer and the OS has taken none of
 *   them for `sendTimeout` (nginx's `send_timeout`). The connection is
 *   aborted with a `timeout` error. The OS takes bytes only as the kernel's
 *   send buffer frees room, so a peer that reads slower than about a third
 *   of that buffer per `sendTimeout` is taken for stalled.
 */
// Bun's `socket.timeout()` is a one-shot deadline with about 4 s granularity
// that fires under traffic, and `setTimeout` on sockets exists only in node:net.
export class Timeouts {
	readonly #idle: number;
	readonly #send: number;
	readonly #watches = new Map<Connection, Watch>();
	readonly #timer: ReturnType<typeof setInterval>;

	/** Starts the sweep, or returns undefined when both timeouts are off. */
	static start(options: TimeoutOptions): Timeouts | undefined {
		const idle = options.idleTimeout ?? 0;
		const send = options.sendTimeout ?? 0;
		return idle > 0 || send > 0 ? new Timeouts(idle, send) : undefined;
	}

	private constructor(idle: number, send: number) {
		this.#idle = idle;
		this.#send = send;
		const shortest = Math.min(idle > 0 ? idle : send, send > 0 ? send : idle);
		this.#timer = setInterval(() => this.#sweep(), Math.min(Math.max(shortest / 4, 5), 1000));
		// The sweep alone must not keep a process alive.
		(this.#timer as { unref?: () => void }).unref?.();
	}

	watch(connection: Connection): void {
		const now = performance.now();
		this.#watches.set(connection, { moved: 0, movedAt: now, sent: 0, sentAt: now, cut: undefined, releaseAt: 0 });
	}

	/** Stops watching a closed connection; says whether a timeout ended it. */
	forget(connection: Connection): TimeoutCut | undefined {
		const cut = this.#watches.get(connection)?.cut;
		this.#watches.delete(connection);
		return cut;
	}

	stop(): void {
		clearInterval(this.#timer);
	}

	#sweep(): void {
		const now = performance.now();
		// Closing a connection runs its close listeners, which forget it: deleting the entry being visited is safe.
		for (const [connection, watch] of this.#watches) {
			const owed = connection.outboundBytes;
			if (watch.cut === "idle") {
				if (now >= watch.releaseAt) {
					if (owed > 0) watch.releaseAt = now + Math.min(this.#idle, IDLE_GRACE);
					else connection.close();
				}
				continue;
			}
			const sent = connection.bytesWritten - owed;
			const moved = connection.bytesRead + sent;
			if (moved !== watch.moved || owed > 0) {
				watch.moved = moved;
				watch.movedAt = now;
			} else if (this.#idle > 0 && now - watch.movedAt >= this.#idle) {
				watch.cut = "idle";
				watch.releaseAt = now + Math.min(this.#idle, IDLE_GRACE);
				connection.stopReading();
				continue;
			}
			if (sent !== watch.sent || owed === 0) {
				watch.sent = sent;
				watch.sentAt = now;
			} else if (this.#send > 0 && now - watch.sentAt >= this.#send) {
				watch.cut = "stalled";
				connection.close(
					new ConnectionError("timeout", `the peer took none of ${owed} queued bytes for ${this.#send} ms`),
				);
			}
		}
	}
}
