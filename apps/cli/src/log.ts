import type { Address } from "@echo-cli/core";
import { formatAddress } from "@echo-cli/core";
import { type DatagramServerStats, formatUdpAddress, type UdpAddress } from "@echo-cli/core/datagram";
import { formatBytes, formatDuration, plural, reachableHost } from "./format.ts";
import { hexLines } from "./hex-lines.ts";
import type { LogFormat } from "./options.ts";
import type { TlsLine } from "./tls.ts";
import { type UdpLine, udpBanner, udpSummary } from "./udp/banner.ts";

export interface ConnectionLine {
	readonly bytesIn: number;
	readonly bytesOut: number;
	readonly duration: number;
	readonly outcome: string;
	/** The faults this connection got, as the CLI spells them. */
	readonly faults?: string;
	/** Why the connection was closed, when the server closed it for a reason of its own (a bad PROXY header, a failed handshake). */
	readonly reason?: string;
	/** Over TLS: the protocol, the cipher and, under --client-auth, the client certificate's name. */
	readonly tls?: string;
}

export interface SummaryLine {
	readonly accepted: number;
	readonly bytesOut: number;
	readonly errors: number;
	/** Connections cut by the idle and the send timeout. */
	readonly idle: number;
	readonly stalled: number;
	readonly refused: number;
	readonly aborted: number;
	/** Per fault, how many connections got it. */
	readonly faults?: Readonly<Record<string, number>>;
	/** With --proxy-protocol: connections closed for a missing or bad header. */
	readonly badProxyHeaders?: number;
	/** Connections that went away without a byte of payload (health checks, port scans). */
	readonly probes: number;
}

export interface ListeningLine {
	/** TCP's or the unix socket's address; with --udp-only, UDP's. */
	readonly address: Address | UdpAddress;
	readonly driver: string;
	readonly runtime: string;
	readonly faults?: { readonly faults: readonly string[]; readonly seed: number } | undefined;
	readonly proxyProtocol?: boolean;
	/** With --workers: how many, and what spreads the connections among them. */
	readonly workers?: { readonly count: number; readonly sharing: "SO_REUSEPORT" | "node:cluster" } | undefined;
	/** The metrics URL, with --metrics. */
	readonly metrics?: string | undefined;
	readonly tls?: TlsLine | undefined;
	readonly udp?: UdpLine | undefined;
}

export interface Streams {
	readonly stdout: { write(text: string): unknown; isTTY?: boolean };
	readonly stderr: { write(text: string): unknown; isTTY?: boolean };
}

/**
 * Everything the CLI prints. Text for people (colored only on a terminal and
 * without NO_COLOR) or one JSON object per line for machines. The banner and
 * the summary go to stdout; per-connection lines, dumps, warnings and errors
 * go to stderr.
 */
export class Logger {
	readonly #format: LogFormat;
	readonly #streams: Streams;
	readonly #quiet: boolean;
	readonly #color: (stream: Streams["stderr"]) => boolean;
	/** `echo-cli`, or `echo-cli worker 1` in a supervisor's worker. */
	readonly #name: string;
	readonly #worker: number | undefined;

	/** `worker`: this process is that worker of a supervisor; its lines say so. */
	constructor(
		format: LogFormat,
		quiet: boolean,
		streams: Streams,
		env: Record<string, string | undefined>,
		worker?: number,
	) {
		this.#worker = worker;
		this.#name = worker === undefined ? "echo-cli" : `echo-cli worker ${worker}`;
		this.#format = format;
		this.#quiet = quiet;
		this.#streams = streams;
		const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
		this.#color = (stream) => !noColor && stream.isTTY === true;
	}

	listening(info: ListeningLine): void {
		if (this.#quiet) return;
		const { address, driver, runtime, faults, proxyProtocol = false, workers, metrics, tls, udp } = info;
		const uri = address.transport === "udp" ? formatUdpAddress(address) : formatAddress(address);
		const fields = {
			address: uri,
			driver,
			runtime,
			...(faults ?? {}),
			...(proxyProtocol ? { proxyProtocol } : {}),
			...(workers ? { workers: workers.count, sharing: workers.sharing } : {}),
			...(metrics ? { metrics } : {}),
			...(tls ? { tls } : {}),
			...(udp
				? {
						udp: formatUdpAddress(udp.address),
						udpRate: udp.rate ?? "off",
						...(udp.faults.length > 0 ? { udpFaults: udp.faults } : {}),
					}
				: {}),
		};
		if (this.#json("stdout", "info", "listening", fields)) return;
		const by = workers ? `, ${plural(workers.count, "worker")} sharing the port by ${workers.sharing}` : "";
		let banner = `listening on ${this.#paint("stdout", "1", uri)} (driver ${driver}, ${runtime}${by})`;
		if (faults)
			banner += `\nfaults: ${faults.faults.join(" ")} (seed ${faults.seed}; --fault-seed ${faults.seed} repeats them)`;
		if (proxyProtocol) banner += "\nPROXY protocol header required (v1 or v2) on every connection";
		if (metrics) banner += `\nmetrics: ${metrics}`;
		if (tls) {
			const made = tls.generated ? "made at start" : "from --cert";
			banner += `\nTLS certificate (${made}) SHA-256 ${tls.fingerprint}`;
			if (tls.generated)
				banner += tls.trustFile ? `, written to ${tls.trustFile}` : "; --cert-out FILE writes it for clients";
			if (tls.clientAuth) banner += "\nclient certificates required (--client-auth)";
			banner += `\ntry it: ${tls.command}`;
		} else if (address.transport === "udp") {
			// The banner's UDP lines say how to try it.
		} else if (address.transport === "tcp") {
			const host = reachableHost(address.host);
			const family = host.includes(":") ? "TCP6" : "TCP4";
			banner += proxyProtocol
				? `\ntry it: (printf 'PROXY ${family} ${host} ${host} 40000 ${address.port}\\r\\n'; cat) | nc ${host} ${address.port}`
				: `\ntry it: nc ${host} ${address.port}`;
		} else {
			banner += `\ntry it: nc -U ${address.path}`;
		}
		if (udp) banner += `\n${udpBanner(udp)}`;
		// One write, so that a reader of the first line also has the second.
		this.#streams.stdout.write(`${banner}\n`);
	}

	connection(remote: Address | undefined, line: ConnectionLine): void {
		const peer = formatAddress(remote);
		const { duration, ...counts } = line;
		if (this.#json("stderr", "info", "connection", { peer, durationMs: duration, ...counts })) return;
		const color =
			line.outcome === "closed" ? "32" : line.outcome === "idle" || line.outcome === "stalled" ? "33" : "31";
		this.#streams.stderr.write(
			`${peer} in ${line.bytesIn} B out ${line.bytesOut} B ${formatDuration(line.duration)} ${this.#paint("stderr", color, line.outcome)}${line.tls ? ` ${line.tls}` : ""}${line.faults ? ` faults ${line.faults}` : ""}${line.reason ? `: ${line.reason}` : ""}\n`,
		);
	}

	refused(remote: Address | undefined, reason: string): void {
		const peer = formatAddress(remote);
		if (this.#json("stderr", "info", "refused", { peer, reason })) return;
		this.#streams.stderr.write(`${peer} refused: ${reason}\n`);
	}

	note(message: string): void {
		if (this.#json("stderr", "info", "note", { message })) return;
		this.#streams.stderr.write(`${this.#name}: ${message}\n`);
	}

	warning(message: string): void {
		if (this.#json("stderr", "warning", "warning", { message })) return;
		this.#streams.stderr.write(`${this.#name}: ${this.#paint("stderr", "33", "warning:")} ${message}\n`);
	}

	error(message: string): void {
		if (this.#json("stderr", "error", "error", { message })) return;
		this.#streams.stderr.write(`${this.#name}: ${this.#paint("stderr", "31", message)}\n`);
	}

	/** `bytes` seen at `offset` of one direction of a connection, as hex and ASCII lines or one JSON hex string. */
	dump(remote: Address | undefined, direction: "in" | "out", bytes: Uint8Array, offset: number): void {
		const peer = formatAddress(remote);
		if (this.#format === "json") {
			const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
			this.#json("stderr", "info", "data", { peer, direction, offset, hex });
			return;
		}
		const arrow = direction === "in" ? "<" : ">";
		this.#streams.stderr.write(
			hexLines(bytes, offset)
				.map((l) => `${peer} ${arrow} ${l}\n`)
				.join(""),
		);
	}

	/** The exit summary: TCP's (undefined with --udp-only), then UDP's. */
	summary(line: SummaryLine | undefined, udp?: DatagramServerStats): void {
		if (this.#quiet) return;
		if (this.#json("stdout", "info", "summary", { ...line, ...(udp ? { udp } : {}) })) return;
		if (line) this.#streams.stdout.write(`${tcpSummary(line)}\n`);
		if (udp) this.#streams.stdout.write(`${udpSummary(udp)}\n`);
	}
	/** A datagram that got no reply, or whose reply was lost here, with --verbose. */
	datagramDropped(peer: string, reason: string, why: string): void {
		if (this.#json("stderr", "info", "dropped", { peer, reason })) return;
		this.#streams.stderr.write(`${peer} dropped: ${why}\n`);
	}

	#json(stream: keyof Streams, level: string, event: string, fields: Record<string, unknown>): boolean {
		if (this.#format !== "json") return false;
		const record = {
			time: new Date().toISOString(),
			level,
			event,
			...(this.#worker === undefined ? {} : { worker: this.#worker }),
			...fields,
		};
		this.#streams[stream].write(`${JSON.stringify(record)}\n`);
		return true;
	}

	#paint(stream: keyof Streams, code: string, text: string): string {
		return this.#color(this.#streams[stream]) ? `\x1b[${code}m${text}\x1b[0m` : text;
	}
}

/** `served 3 connections, echoed 1.0 KiB (1024 bytes), 0 errors, 1 probe`. */
function tcpSummary(line: SummaryLine): string {
	const extra = [
		line.idle > 0 ? `${line.idle} idle` : "",
		line.stalled > 0 ? `${line.stalled} stalled` : "",
		line.refused > 0 ? `${line.refused} refused` : "",
		line.probes > 0 ? `${plural(line.probes, "probe")}` : "",
		line.badProxyHeaders ? `${plural(line.badProxyHeaders, "bad PROXY header")}` : "",
		line.aborted > 0 ? `${plural(line.aborted, "peer")} still connected at the drain timeout, disconnected` : "",
	].filter(Boolean);
	const faults = Object.entries(line.faults ?? {})
		.map(([name, count]) => `${name} ${count}`)
		.join(", ");
	return (
		`served ${plural(line.accepted, "connection")}, echoed ${formatBytes(line.bytesOut)} ` +
		`(${line.bytesOut} bytes), ${plural(line.errors, "error")}${extra.map((e) => `, ${e}`).join("")}` +
		`${faults ? `; faults: ${faults}` : ""}`
	);
}
