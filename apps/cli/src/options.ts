import { availableParallelism } from "node:os";
import {
	DEFAULT_PROXY_HEADER_TIMEOUT,
	type Fault,
	parseDuration as parseDurationText,
	parseSize as parseSizeText,
} from "@echo-cli/core";
import { parseFlags } from "./args.ts";
import { parseFault } from "./faults.ts";
import type { TlsFlags } from "./tls.ts";
import { parseUdp, type UdpFlags } from "./udp/flags.ts";
import { UsageError } from "./usage-error.ts";

export type DriverChoice = "auto" | "node" | "bun" | "deno";
export type LogFormat = "text" | "json";

export interface ServeConfig {
	readonly command: "serve";
	readonly host: string;
	readonly port: number;
	/** A unix socket path; when set, host and port are not used. */
	readonly unix: string | undefined;
	readonly driver: DriverChoice;
	readonly drainTimeout: number;
	/** Milliseconds, or undefined for no idle timeout. */
	readonly idleTimeout: number | undefined;
	/** Milliseconds, or undefined for no send timeout. */
	readonly sendTimeout: number | undefined;
	readonly maxConnections: number | undefined;
	readonly quiet: boolean;
	readonly verbose: boolean;
	/** Bytes dumped per connection and direction, or undefined for no dump. */
	readonly hexdump: number | undefined;
	readonly logFormat: LogFormat;
	/** Faults to inject, in the order given; empty for a plain echo. */
	readonly faults: readonly Fault[];
	/** Seeds which connections get which faults; undefined picks one (printed at start). */
	readonly faultSeed: number | undefined;
	/** Where to write the JSON listening event once listening, if anywhere. */
	readonly readyFile: string | undefined;
	/** Require a PROXY-protocol header on every connection. */
	readonly proxyProtocol: boolean;
	/** Milliseconds a connection has to send its whole PROXY header. */
	readonly proxyHeaderTimeout: number;
	/** Where to serve Prometheus metrics at /metrics, if anywhere. */
	readonly metrics: { readonly host: string; readonly port: number } | undefined;
	/** Worker processes serving the same address; undefined for one process and no supervisor. */
	readonly workers: number | undefined;
	/** Serve TLS; undefined for plain TCP. */
	readonly tls: TlsFlags | undefined;
	/** Serve UDP echo too, or only; undefined for none (the default). */
	readonly udp: UdpFlags | undefined;
}

export type Command = ServeConfig | { readonly command: "help" } | { readonly command: "version" };

const DRIVERS: readonly DriverChoice[] = ["auto", "node", "bun", "deno"];

export function parseCommand(argv: readonly string[], env: Record<string, string | undefined>): Command {
	const config = {
		args: [...argv],
		allowPositionals: true,
		strict: true,
		options: {
			host: { type: "string" },
			port: { type: "string", short: "p" },
			unix: { type: "string" },
			driver: { type: "string" },
			"drain-timeout": { type: "string" },
			"idle-timeout": { type: "string" },
			"send-timeout": { type: "string" },
			"max-connections": { type: "string" },
			quiet: { type: "boolean", short: "q" },
			verbose: { type: "boolean" },
			hexdump: { type: "boolean" },
			"hexdump-limit": { type: "string" },
			"log-format": { type: "string" },
			fault: { type: "string", multiple: true },
			"fault-seed": { type: "string" },
			"ready-file": { type: "string" },
			"proxy-protocol": { type: "boolean" },
			"proxy-header-timeout": { type: "string" },
			metrics: { type: "string" },
			workers: { type: "string" },
			tls: { type: "boolean" },
			cert: { type: "string" },
			key: { type: "string" },
			ca: { type: "string" },
			"client-auth": { type: "boolean" },
			"cert-out": { type: "string" },
			udp: { type: "boolean" },
			"udp-only": { type: "boolean" },
			"udp-rate": { type: "string" },
			"udp-fault": { type: "string", multiple: true },
			help: { type: "boolean", short: "h" },
			version: { type: "boolean", short: "V" },
		},
	} as const;
	const parsed = parseFlags(config, "echo-cli --help");
	const { values, positionals } = parsed;
	if (values.help) return { command: "help" };
	if (values.version) return { command: "version" };
	if (positionals.length > 0) {
		throw new UsageError(`unexpected argument '${positionals[0]}'; echo-cli takes only options, see echo-cli --help`);
	}
	if (values.quiet && values.verbose) throw new UsageError("--quiet and --verbose cannot be used together");

	const fromEnv = env.ECHO_CLI_DRIVER?.trim();
	const fromFlag = values.driver !== undefined;
	const driver = (values.driver ?? (fromEnv || "auto")).toLowerCase();
	if (!DRIVERS.includes(driver as DriverChoice)) {
		throw new UsageError(
			`unknown driver '${driver}' in ${fromFlag ? "--driver" : "ECHO_CLI_DRIVER"}; choose auto, node, bun or deno`,
		);
	}
	const host = values.host ?? "127.0.0.1";
	if (host.trim() === "") throw new UsageError("--host is empty; give an address such as 127.0.0.1 or ::1");
	if (/[[\]]/.test(host) && !/^\[[^[\]]+\]$/.test(host)) {
		throw new UsageError(`invalid --host '${host}'; write an IPv6 address as ::1 or [::1]`);
	}
	const unix = values.unix;
	if (unix !== undefined) {
		if (unix === "") throw new UsageError("--unix is empty; give a socket path such as /tmp/echo.sock");
		if (values.host !== undefined || values.port !== undefined) {
			throw new UsageError("--unix cannot be combined with --host or --port; a server listens on one or the other");
		}
	}
	const logFormat = values["log-format"] ?? "text";
	if (logFormat !== "text" && logFormat !== "json") {
		throw new UsageError(`unknown --log-format '${logFormat}'; choose text or json`);
	}
	const faults = (values.fault ?? []).map(parseFault);
	const seedText = values["fault-seed"];
	const udp = parseUdp(values);
	if (seedText !== undefined && faults.length === 0 && !udp?.faults.length) {
		throw new UsageError("--fault-seed needs --fault or --udp-fault");
	}
	if (seedText !== undefined && !/^\d{1,10}$/.test(seedText)) {
		throw new UsageError(`invalid --fault-seed '${seedText}'; give a whole number from 0 to 4294967295`);
	}
	const readyFile = values["ready-file"];
	if (readyFile === "") throw new UsageError("--ready-file is empty; give a file path such as /tmp/echo.ready");
	if (values["hexdump-limit"] !== undefined && !values.hexdump) {
		throw new UsageError("--hexdump-limit needs --hexdump");
	}

	if (values["proxy-header-timeout"] !== undefined && !values["proxy-protocol"]) {
		throw new UsageError("--proxy-header-timeout needs --proxy-protocol");
	}
	const workers = values.workers === undefined ? undefined : parseWorkers(values.workers);
	if (workers !== undefined && unix !== undefined) {
		throw new UsageError("--workers serves TCP only; leave out --unix, or run one process on the socket");
	}
	const maxConnections =
		values["max-connections"] === undefined
			? undefined
			: parseCount(values["max-connections"], "--max-connections", "connections");
	if (workers !== undefined && maxConnections !== undefined && maxConnections < workers) {
		throw new UsageError(
			`--max-connections ${maxConnections} is below --workers ${workers}: each worker gets a share of it, at least 1`,
		);
	}

	const tls = parseTls(values);
	if (tls && workers !== undefined && tls.cert === undefined) {
		throw new UsageError("--workers with --tls needs --cert and --key, so that every worker serves one certificate");
	}

	return {
		command: "serve",
		host: host.replace(/^\[(.*)\]$/, "$1"),
		port: parsePort(values.port ?? "1337"),
		unix,
		driver: driver as DriverChoice,
		drainTimeout: parseDuration(values["drain-timeout"] ?? "2s", "--drain-timeout"),
		idleTimeout: optionalTimeout(values["idle-timeout"], "--idle-timeout"),
		sendTimeout: optionalTimeout(values["send-timeout"], "--send-timeout"),
		maxConnections,
		quiet: values.quiet ?? false,
		verbose: values.verbose ?? false,
		hexdump: values.hexdump ? parseSize(values["hexdump-limit"] ?? "4096", "--hexdump-limit") : undefined,
		logFormat,
		faults,
		faultSeed: seedText === undefined ? undefined : Number(seedText) >>> 0,
		readyFile,
		proxyProtocol: values["proxy-protocol"] ?? false,
		proxyHeaderTimeout:
			optionalTimeout(values["proxy-header-timeout"], "--proxy-header-timeout") ?? DEFAULT_PROXY_HEADER_TIMEOUT,
		metrics: values.metrics === undefined ? undefined : parseHostPort(values.metrics, "--metrics"),
		workers,
		tls,
		udp,
	};
}

function parseTls(values: {
	tls?: boolean | undefined;
	cert?: string | undefined;
	key?: string | undefined;
	ca?: string | undefined;
	"client-auth"?: boolean | undefined;
	"cert-out"?: string | undefined;
}): TlsFlags | undefined {
	const { cert, key, ca } = values;
	const clientAuth = values["client-auth"] ?? false;
	const certOut = values["cert-out"];
	for (const [flag, value] of [
		["--cert", cert],
		["--key", key],
		["--ca", ca],
		["--cert-out", certOut],
	] as const) {
		if (value === "") throw new UsageError(`${flag} is empty; give a file path`);
	}
	if (!values.tls && (cert ?? key ?? ca ?? certOut) === undefined && !clientAuth) return undefined;
	if ((cert === undefined) !== (key === undefined)) {
		throw new UsageError(cert === undefined ? "--key needs --cert" : "--cert needs --key");
	}
	if (certOut !== undefined && cert !== undefined) {
		throw new UsageError("--cert-out writes the certificate made at start; with --cert, give clients that file");
	}
	if (clientAuth !== (ca !== undefined)) {
		throw new UsageError(
			clientAuth
				? "--client-auth needs --ca FILE, the CA client certificates are checked against"
				: "--ca needs --client-auth",
		);
	}
	return { cert, key, ca, clientAuth, certOut };
}

/** The most workers: past this, processes cost more than the cores they could use. */
const MAX_WORKERS = 256;

function parseWorkers(text: string): number {
	if (text === "auto") return availableParallelism();
	const count = /^\d+$/.test(text) ? Number(text) : Number.NaN;
	if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
		throw new UsageError(`invalid --workers '${text}'; give auto or a whole number from 1 to ${MAX_WORKERS}`);
	}
	return count;
}

/** `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`. */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
	const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
	if (!match) {
		throw new UsageError(`invalid ${flag} '${text}'; give HOST:PORT, such as 127.0.0.1:9464 or [::1]:9464`);
	}
	return { host: (match[1] ?? match[2]) as string, port: parsePort(match[3] as string) };
}

export function parsePort(text: string): number {
	const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
	if (!Number.isInteger(port) || port > 65535) {
		throw new UsageError(`invalid port '${text}'; a port is a whole number from 0 to 65535 (0 picks a free port)`);
	}
	return port;
}

/** A duration flag in the one grammar (`500ms`, `2s`, `1.5m`, or a bare number of seconds), to milliseconds. */
export function parseDuration(text: string, flag: string): number {
	const ms = parseDurationText(text);
	if (ms === undefined) throw new UsageError(`invalid ${flag} '${text}'; use a duration such as 500ms, 2s or 1m`);
	if (ms > 2_147_483_647) throw new UsageError(`${flag} '${text}' is too long; the most is 24 days`);
	return ms;
}

/** A size flag in the one grammar (`4096`, `4KiB`, `1.5MiB`), to bytes, from 1 to `max`. */
export function parseSize(text: string, flag: string, max = Number.MAX_SAFE_INTEGER, range = "1 byte or more"): number {
	const bytes = parseSizeText(text);
	if (bytes === undefined || bytes < 1 || bytes > max) {
		throw new UsageError(`invalid ${flag} '${text}'; give ${range}, such as 64, 1KiB or 1.5MiB`);
	}
	return bytes;
}

function optionalTimeout(text: string | undefined, flag: string): number | undefined {
	if (text === undefined) return undefined;
	const ms = parseDuration(text, flag);
	if (ms < 1) throw new UsageError(`invalid ${flag} '${text}'; it must be at least 1ms (leave it out for none)`);
	return ms;
}

function parseCount(text: string, flag: string, what: string): number {
	const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
	if (!Number.isSafeInteger(value) || value < 1) {
		throw new UsageError(`invalid ${flag} '${text}'; give a whole number of ${what}, 1 or more`);
	}
	return value;
}
