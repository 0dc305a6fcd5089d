import {
	DATAGRAM_DROP_REASONS,
	type DatagramServerStats,
	formatUdpAddress,
	type UdpAddress,
} from "@echo-cli/core/datagram";
import { plural, reachableHost } from "../format.ts";

/** What the banner says of UDP. */
export interface UdpLine {
	readonly address: UdpAddress;
	/** Replies per second per source address, or undefined for no limit. */
	readonly rate: number | undefined;
	readonly reservedPorts: readonly number[];
	readonly faults: readonly string[];
	/** The faults' seed. */
	readonly seed: number;
	/** Whether TCP is served too. */
	readonly alongTcp: boolean;
}

/** The banner's UDP lines. */
export function udpBanner(udp: UdpLine): string {
	const { host, port } = udp.address;
	const target = reachableHost(host);
	const limit =
		udp.rate === undefined
			? "no rate limit (--udp-rate off)"
			: `at most ${udp.rate} replies a second per source address (--udp-rate)`;
	const on = udp.alongTcp ? `UDP echo too, on ${formatUdpAddress(udp.address)}` : "UDP echo only";
	let text = `${on}: no reply to source ports ${udp.reservedPorts.join(", ")}; ${limit}`;
	if (udp.faults.length > 0) {
		text += `\nudp faults: ${udp.faults.join(" ")} (seed ${udp.seed}; --fault-seed ${udp.seed} repeats them)`;
	}
	return `${text}\ntry UDP: socat - UDP:${target.includes(":") ? `[${target}]` : target}:${port}`;
}

/** `udp: received 12 datagrams, echoed 10, dropped 2 (rate-limit 2)`. */
export function udpSummary(udp: DatagramServerStats): string {
	const dropped = DATAGRAM_DROP_REASONS.filter((reason) => udp.dropped[reason] > 0);
	const total = dropped.reduce((sum, reason) => sum + udp.dropped[reason], 0);
	const detail = dropped.map((reason) => `${reason} ${udp.dropped[reason]}`).join(", ");
	return `udp: received ${plural(udp.received, "datagram")}, echoed ${udp.echoed}, dropped ${total}${detail ? ` (${detail})` : ""}`;
}
