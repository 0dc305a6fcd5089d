import {
	type Datagram,
	type DatagramDriver,
	type DatagramDropReason,
	type DatagramServerStats,
	describeDatagramFault,
	formatUdpAddress,
	RESERVED_SOURCE_PORTS,
	serveDatagrams,
	type UdpAddress,
} from "@echo-cli/core/datagram";
import type { Logger } from "../log.ts";
import type { UdpLine } from "./banner.ts";
import type { UdpFlags } from "./flags.ts";

export interface UdpService {
	readonly address: UdpAddress;
	readonly line: UdpLine;
	readonly stats: () => DatagramServerStats;
	/** Stops: replies held by faults get up to `timeout` ms; resolves to the final stats. */
	stop(timeout: number): Promise<DatagramServerStats>;
}

/** At most this many drop lines per second with --verbose; a flood is summed up instead. */
const DROP_LINES_PER_SECOND = 20;

/**
 * Binds UDP on `host` and `port` with `driver` and serves echo with the
 * safety rules: nothing to the reserved source ports, at most `flags.rate`
 * replies per second to one source address. Rejects with a ListenError.
 */
export async function startUdp(
	flags: UdpFlags,
	driver: DatagramDriver,
	options: { host: string; port: number; seed: number; verbose: boolean; log: Logger },
): Promise<UdpService> {
	const socket = await driver.bind({ host: options.host, port: options.port, receiveBufferSize: 4 * 1024 * 1024 });
	const drops = options.verbose ? new DropLog(options.log, flags.rate) : undefined;
	const server = serveDatagrams(socket, {
		guard: { rate: flags.rate },
		faults: flags.faults,
		seed: options.seed,
		onDrop: drops && ((reason, datagram) => drops.dropped(reason, datagram)),
	});
	return {
		address: socket.address,
		line: {
			address: socket.address,
			rate: Number.isFinite(flags.rate) ? flags.rate : undefined,
			reservedPorts: RESERVED_SOURCE_PORTS,
			faults: flags.faults.map(describeDatagramFault),
			seed: options.seed,
			alongTcp: flags.mode === "also",
		},
		stats: () => server.stats,
		async stop(timeout) {
			const stats = await server.close({ timeout });
			drops?.flush();
			return stats;
		},
	};
}

/** --verbose lines for dropped datagrams, at most {@link DROP_LINES_PER_SECOND} a second. */
class DropLog {
	readonly #log: Logger;
	readonly #rate: number;
	#second = 0;
	#shown = 0;
	#hidden = 0;

	constructor(log: Logger, rate: number) {
		this.#log = log;
		this.#rate = rate;
	}

	dropped(reason: DatagramDropReason, datagram: Datagram | { readonly to: UdpAddress }): void {
		const peer = "from" in datagram ? datagram.from : datagram.to;
		const second = Math.floor(performance.now() / 1000);
		if (second !== this.#second) {
			this.flush();
			this.#second = second;
		}
		if (this.#shown >= DROP_LINES_PER_SECOND) {
			this.#hidden++;
			return;
		}
		this.#shown++;
		this.#log.datagramDropped(formatUdpAddress(peer), reason, this.#why(reason, peer));
	}

	flush(): void {
		if (this.#hidden > 0) this.#log.note(`${this.#hidden} more UDP drops in that second not shown`);
		this.#shown = 0;
		this.#hidden = 0;
	}

	#why(reason: DatagramDropReason, peer: UdpAddress): string {
		switch (reason) {
			case "reserved-port":
				return `source port ${peer.port} is reserved (echo, discard, daytime, qotd, chargen, time, or 0); no reply`;
			case "rate-limit":
				return `more than ${this.#rate} datagrams a second from ${peer.host} (--udp-rate); no reply`;
			case "fault":
				return "reply dropped by --udp-fault drop";
			case "backlog":
				return "reply dropped: --udp-fault holds its most replies";
			case "send-busy":
				return "reply dropped: the socket's send buffer is full";
			default:
				return reason;
		}
	}
}
