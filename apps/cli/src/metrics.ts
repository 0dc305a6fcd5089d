import { type Address, formatAddress, type ServerStats } from "@echo-cli/core";
import { DATAGRAM_DROP_REASONS, type DatagramServerStats } from "@echo-cli/core/datagram";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ReportedOutcome } from "./tally.ts";

/** Distinct client addresses labelled one by one; the rest are counted as `other`, so a scan cannot grow the output without bound. */
export const CLIENT_LABELS = 1000;

/** Seconds; from a loopback ping to a long-lived test connection. */
const DURATION_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 30, 60, 300, 1800];

/** A registry's metrics as JSON, as workers send them to be summed. */
export type MetricsSnapshot = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

export type RefusedReason = "max-connections" | "file-descriptors";

/**
 * One server's metrics in the Prometheus text format. Totals the server
 * already keeps (accepted, open, bytes) are read from its stats when
 * scraped; the rest are counted as connections close. Every metric sums
 * across workers: counters and the histogram by definition, the gauge of
 * open connections as the total open.
 */
export class ServerMetrics {
	readonly registry = new Registry();
	readonly #refused: Counter<"reason">;
	readonly #closed: Counter<"outcome">;
	readonly #duration: Histogram;
	readonly #clients: Counter<"address">;
	readonly #faults: Counter<"fault">;
	readonly #clientSeen = new Set<string>();
	#datagrams: (() => DatagramServerStats | undefined) | undefined;

	constructor(stats: () => ServerStats | undefined) {
		const registers = [this.registry];
		// A counter whose value lives elsewhere: each scrape adds what the source grew by.
		const mirrored = (name: string, help: string, read: (s: ServerStats) => number) => {
			let last = 0;
			new Counter({
				name,
				help,
				registers,
				collect() {
					const current = stats();
					if (!current) return;
					this.inc(read(current) - last);
					last = read(current);
				},
			});
		};
		const datagrams = () => this.#datagrams?.();
		new Counter({
			name: "echo_udp_datagrams_total",
			help: "UDP datagrams (with --udp): received, echoed (replies sent), and dropped by reason (reserved-port, rate-limit, fault, backlog, receive-queue, send-busy, send-error).",
			labelNames: ["result"],
			registers,
			collect() {
				const current = datagrams();
				if (!current) return;
				this.reset();
				this.inc({ result: "received" }, current.received);
				this.inc({ result: "echoed" }, current.echoed);
				for (const reason of DATAGRAM_DROP_REASONS) this.inc({ result: reason }, current.dropped[reason]);
			},
		});
		mirrored("echo_connections_accepted_total", "Connections accepted.", (s) => s.accepted);
		mirrored("echo_received_bytes_total", "Bytes received from clients.", (s) => s.bytesIn);
		mirrored("echo_sent_bytes_total", "Bytes handed to the OS for clients.", (s) => s.bytesOut);
		new Gauge({
			name: "echo_connections_open",
			help: "Connections open now.",
			registers,
			collect() {
				this.set(stats()?.active ?? 0);
			},
		});
		this.#refused = new Counter({
			name: "echo_connections_refused_total",
			help: "Connections closed at once for a cap: --max-connections or the file descriptor limit.",
			labelNames: ["reason"],
			registers,
		});
		this.#closed = new Counter({
			name: "echo_connections_closed_total",
			help: "Connections closed, by outcome: closed (clean), idle, stalled, shutdown, probe (a health check), or an error's reason.",
			labelNames: ["outcome"],
			registers,
		});
		this.#duration = new Histogram({
			name: "echo_connection_duration_seconds",
			help: "Time from accept to close.",
			buckets: DURATION_BUCKETS,
			registers,
		});
		this.#clients = new Counter({
			name: "echo_client_connections_total",
			help: `Connections by client address (behind a PROXY header, the client it names), the first ${CLIENT_LABELS} addresses one by one, the rest as other.`,
			labelNames: ["address"],
			registers,
		});
		this.#faults = new Counter({
			name: "echo_faults_applied_total",
			help: "Connections that got each --fault.",
			labelNames: ["fault"],
			registers,
		});
	}

	/** Reads UDP's counters from `stats` at each scrape. */
	datagrams(stats: () => DatagramServerStats | undefined): void {
		this.#datagrams = stats;
	}

	refused(reason: RefusedReason): void {
		this.#refused.inc({ reason });
	}

	closed(outcome: ReportedOutcome, durationMs: number, client: Address | undefined): void {
		this.#closed.inc({ outcome });
		this.#duration.observe(durationMs / 1000);
		if (outcome === "probe") return;
		let address = client?.transport === "tcp" ? client.host : formatAddress(client);
		if (!this.#clientSeen.has(address)) {
			if (this.#clientSeen.size >= CLIENT_LABELS) address = "other";
			else this.#clientSeen.add(address);
		}
		this.#clients.inc({ address });
	}

	fault(name: string): void {
		this.#faults.inc({ fault: name });
	}

	/** Declares the faults in use, so that each shows with 0 before any connection gets it. */
	faultsInUse(names: readonly string[]): void {
		for (const fault of names) this.#faults.inc({ fault }, 0);
	}

	/** The registry as JSON, for a supervisor to sum with its workers'. */
	snapshot(): Promise<MetricsSnapshot> {
		return this.registry.getMetricsAsJSON();
	}
}
