import type { Connection, ConnectionSummary } from "@echo-cli/core";

/** How the CLI reports a closed connection: the server's outcome, or `probe`. */
export type ReportedOutcome = ConnectionSummary["outcome"] | "probe";

/** Outcomes that are the server's own policy or a clean end, not errors. */
const NOT_ERRORS: ReadonlySet<string> = new Set(["closed", "idle", "stalled", "shutdown", "probe"]);

/** What one closed connection was, as the summary and the metrics count it. */
export interface ClosedConnection {
	readonly outcome: ReportedOutcome;
	/** Closed for a missing, malformed, truncated or late PROXY header. */
	readonly badProxyHeader: boolean;
}

/**
 * Classifies a closed connection. `accepted` is the socket the server
 * accepted; `served` the connection the handler got behind a PROXY header
 * (the same one without the PROXY protocol, or when the header never came).
 *
 * A probe is a peer that went away without sending a byte of payload: a
 * reset before any byte; under the PROXY protocol, also an end (FIN or
 * reset) after only a header, or before any byte at all. That is what a
 * load balancer's health check does (HAProxy's sends a header, a LOCAL one
 * with send-proxy-v2, then closes), and a port check such as `nc -z`.
 * Health checks are not errors.
 */
export function classify(
	info: ConnectionSummary,
	accepted: Connection,
	served: Connection,
	proxyProtocol: boolean,
): ClosedConnection {
	const noHeader = proxyProtocol && served === accepted;
	const ended = info.outcome === "reset" || (proxyProtocol && info.outcome === "closed");
	const probe = noHeader
		? accepted.bytesRead === 0 && (info.outcome === "reset" || info.outcome === "protocol")
		: served.bytesRead === 0 && ended;
	if (probe) return { outcome: "probe", badProxyHeader: false };
	return {
		outcome: info.outcome,
		badProxyHeader: noHeader && (info.outcome === "protocol" || info.outcome === "timeout"),
	};
}

/** The counts of the exit summary that come from closed connections. */
export class Tally {
	errors = 0;
	idle = 0;
	stalled = 0;
	probes = 0;
	badProxyHeaders = 0;

	add(closed: ClosedConnection): void {
		if (closed.outcome === "idle") this.idle++;
		else if (closed.outcome === "stalled") this.stalled++;
		else if (closed.outcome === "probe") this.probes++;
		if (!NOT_ERRORS.has(closed.outcome)) this.errors++;
		if (closed.badProxyHeader) this.badProxyHeaders++;
	}
}
