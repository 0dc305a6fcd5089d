import { parseArgs } from "node:util";

export type DriverChoice = "auto" | "node" | "bun";

export interface ServeConfig {
	readonly command: "serve";
	readonly host: string;
	readonly port: number;
	readonly driver: DriverChoice;
	/** Where the driver choice came from, for error messages. */
	readonly driverSource: "flag" | "environment" | "default";
	readonly drainTimeout: number;
	readonly quiet: boolean;
	readonly verbose: boolean;
}

export type Command = ServeConfig | { readonly command: "help" } | { readonly command: "version" };

/** Bad command-line input: printed as one line, exit status 2. */
export class UsageError extends Error {
	override readonly name = "UsageError";
}

export const HELP = `echo-cli: a byte-exact TCP echo server for Node.js and Bun

Usage: echo-cli [options]

Serves echo: every byte a client sends comes back, in order, until the
client half-closes; then the server half-closes too.

Options:
  --host HOST             address to listen on (default 127.0.0.1; :: for all IPv6)
  -p, --port PORT         port to listen on, 0 picks a free one (default 1337)
  --driver NAME           auto, node or bun (default auto: bun on Bun, node on Node);
                          the ECHO_CLI_DRIVER environment variable sets it too
  --drain-timeout TIME    on SIGINT/SIGTERM, how long open connections get to
                          finish, e.g. 500ms, 2s, 1m; a bare number is seconds (default 2s)
  -q, --quiet             print nothing but errors
  --verbose               print a line per connection: peer, bytes, duration, outcome
  -h, --help              show this help
  -V, --version           print the version

On SIGINT or SIGTERM the server stops accepting, echoes what already arrived,
half-closes every connection, waits up to the drain timeout, aborts the rest
and exits 0. A second signal exits at once.

Exit status: 0 after a clean stop, 1 when the server cannot start (port in
use, permission denied, unknown host), 2 for bad usage.

Runtime: the published bin runs on Node. To run on Bun: bunx --bun @echo-cli/cli
(or bun run echo-cli in this repository). --driver bun on Node re-runs the
command under Bun when bun is on the PATH.`;

const DRIVERS: readonly DriverChoice[] = ["auto", "node", "bun"];
const VALUE_OPTIONS = new Set(["--host", "--port", "-p", "--driver", "--drain-timeout"]);

export function parseCommand(argv: readonly string[], env: Record<string, string | undefined>): Command {
	let parsed: ReturnType<typeof parseArgs<typeof config>>;
	const config = {
		args: joinNegativeValues(argv),
		allowPositionals: true,
		strict: true,
		options: {
			host: { type: "string" },
			port: { type: "string", short: "p" },
			driver: { type: "string" },
			"drain-timeout": { type: "string" },
			quiet: { type: "boolean", short: "q" },
			verbose: { type: "boolean" },
			help: { type: "boolean", short: "h" },
			version: { type: "boolean", short: "V" },
		},
	} as const;
	try {
		parsed = parseArgs(config);
	} catch (error) {
		const first = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
		throw new UsageError(`${first.replace(/\. To specify a positional.*$/, "")}; see echo-cli --help`);
	}
	const { values, positionals } = parsed;
	if (values.help) return { command: "help" };
	if (values.version) return { command: "version" };
	if (positionals.length > 0) {
		throw new UsageError(`unexpected argument '${positionals[0]}'; echo-cli takes only options, see echo-cli --help`);
	}
	if (values.quiet && values.verbose) throw new UsageError("--quiet and --verbose cannot be used together");

	const fromEnv = env.ECHO_CLI_DRIVER?.trim();
	const driverSource = values.driver !== undefined ? "flag" : fromEnv ? "environment" : "default";
	const driver = (values.driver ?? (fromEnv || "auto")).toLowerCase();
	if (!DRIVERS.includes(driver as DriverChoice)) {
		const where = driverSource === "flag" ? "--driver" : "ECHO_CLI_DRIVER";
		throw new UsageError(`unknown driver '${driver}' in ${where}; choose auto, node or bun`);
	}
	const host = values.host ?? "127.0.0.1";
	if (host.trim() === "") throw new UsageError("--host is empty; give an address such as 127.0.0.1 or ::1");

	return {
		command: "serve",
		host: host.replace(/^\[(.*)\]$/, "$1"),
		port: parsePort(values.port ?? "1337"),
		driver: driver as DriverChoice,
		driverSource,
		drainTimeout: parseDuration(values["drain-timeout"] ?? "2s", "--drain-timeout"),
		quiet: values.quiet ?? false,
		verbose: values.verbose ?? false,
	};
}

export function parsePort(text: string): number {
	const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
	if (!Number.isInteger(port) || port > 65535) {
		throw new UsageError(`invalid port '${text}'; a port is a whole number from 0 to 65535 (0 picks a free port)`);
	}
	return port;
}

/** `500ms`, `2s`, `1.5m`, or a bare number of seconds, to milliseconds. */
export function parseDuration(text: string, flag: string): number {
	const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
	if (!match) throw new UsageError(`invalid ${flag} '${text}'; use a duration such as 500ms, 2s or 1m`);
	const scale = match[2] === "ms" ? 1 : match[2] === "m" ? 60_000 : 1000;
	const ms = Math.round(Number(match[1]) * scale);
	if (ms > 2_147_483_647) throw new UsageError(`${flag} '${text}' is too long; the most is 24 days`);
	return ms;
}

/** parseArgs reads `--port -1` as a missing value; pass it on as `--port=-1` so the port check can name it. */
function joinNegativeValues(argv: readonly string[]): string[] {
	const out: string[] = [];
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i] as string;
		const next = argv[i + 1];
		if (VALUE_OPTIONS.has(arg) && next !== undefined && /^-\d/.test(next)) {
			out.push(`${arg === "-p" ? "--port" : arg}=${next}`);
			i++;
		} else out.push(arg);
	}
	return out;
}
