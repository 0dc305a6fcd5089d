import type { Address, Connection, ConnectionSummary, Fault, TlsSession } from "@echo-cli/core";
import { describeFault } from "@echo-cli/core";
import type { Logger, SummaryLine } from "./log.ts";
import type { RefusedReason, ServerMetrics } from "./metrics.ts";
import { classify, Tally } from "./tally.ts";

/**
 * What the CLI says about connections: a line per connection with
 * --verbose, the counts of the exit summary, and the metrics. Fed by the
 * server's hooks; the PROXY reader tells it which connection a handler got,
 * so that lines and metrics name the real client.
 */
export class ConnectionReport {
	readonly #log: Logger;
	readonly #verbose: boolean;
	readonly #proxyProtocol: boolean;
	readonly #metrics: ServerMetrics | undefined;
	readonly #tally = new Tally();
	/** Per fault, how many connections got it. */
	readonly faultCounts: Map<string, number>;
	/** Per connection, the faults it got (kept only for --verbose). */
	readonly #faultsOf = new Map<Connection, string>();
	/**
	 * The layers made over each accepted connection, innermost first: behind a
	 * PROXY header, the connection that read it (its remote is the real client),
	 * then TLS over it. The outermost is the one the handler got.
	 */
	readonly #layers = new Map<Connection, Connection[]>();
	/** The accepted connection under each layer. */
	readonly #acceptedOf = new Map<Connection, Connection>();

	constructor(
		log: Logger,
		options: {
			readonly verbose: boolean;
			readonly proxyProtocol: boolean;
			readonly faults: readonly Fault[];
			readonly metrics?: ServerMetrics | undefined;
		},
	) {
		this.#log = log;
		this.#verbose = options.verbose;
		this.#proxyProtocol = options.proxyProtocol;
		this.#metrics = options.metrics;
		this.faultCounts = new Map(options.faults.map((f) => [describeFault(f), 0]));
		this.#metrics?.faultsInUse([...this.faultCounts.keys()]);
	}

	refused(remote: Address | undefined, reason: RefusedReason, why: string): void {
		this.#metrics?.refused(reason);
		if (this.#verbose) this.#log.refused(remote, why);
	}

	faultsChosen(connection: Connection, faults: readonly Fault[]): void {
		const names = faults.map(describeFault);
		for (const name of names) {
			this.faultCounts.set(name, (this.faultCounts.get(name) ?? 0) + 1);
			this.#metrics?.fault(name);
		}
		if (this.#verbose && names.length > 0) this.#faultsOf.set(connection, names.join(" "));
	}

	/** `outer` was made over `inner`: a PROXY header was read, or TLS started. */
	layered(inner: Connection, outer: Connection): void {
		const accepted = this.#acceptedOf.get(inner) ?? inner;
		this.#acceptedOf.set(outer, accepted);
		const layers = this.#layers.get(accepted);
		if (layers) layers.push(outer);
		else this.#layers.set(accepted, [outer]);
	}

	closed(connection: Connection, info: ConnectionSummary): void {
		const layers = this.#layers.get(connection) ?? [];
		this.#layers.delete(connection);
		for (const layer of layers) this.#acceptedOf.delete(layer);
		const served = layers.at(-1) ?? connection;
		const faults = this.#faultsOf.get(served);
		this.#faultsOf.delete(served);
		const closed = classify(info, connection, layers[0] ?? connection, this.#proxyProtocol);
		this.#tally.add(closed);
		this.#metrics?.closed(closed.outcome, info.duration, served.remote);
		if (!this.#verbose) return;
		this.#log.connection(served.remote, {
			bytesIn: info.bytesIn,
			bytesOut: info.bytesOut,
			duration: info.duration,
			outcome: closed.outcome,
			...(faults ? { faults } : {}),
			...((closed.badProxyHeader || closed.outcome === "tls") && connection.error
				? { reason: connection.error.message }
				: {}),
			...(served.tls ? { tls: describeSession(served.tls) } : {}),
		});
	}

	/** The exit summary, with what only the server knows. */
	summary(server: { accepted: number; bytesOut: number; refused: number; aborted: number }): SummaryLine {
		const t = this.#tally;
		return {
			...server,
			errors: t.errors,
			idle: t.idle,
			stalled: t.stalled,
			probes: t.probes,
			...(this.#proxyProtocol ? { badProxyHeaders: t.badProxyHeaders } : {}),
			...(this.faultCounts.size > 0 ? { faults: Object.fromEntries(this.faultCounts) } : {}),
		};
	}
}

/** `TLSv1.3 TLS_AES_128_GCM_SHA256 client "CN"`, as a --verbose line says it. */
function describeSession(session: TlsSession): string {
	const peer = session.peer === undefined ? "" : ` client "${session.peer}"`;
	return `${session.protocol} ${session.cipher}${session.alpn ? ` alpn ${session.alpn}` : ""}${peer}`;
}
