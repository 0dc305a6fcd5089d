import { FaultSpecError } from "@echo-cli/core";
import {
	DATAGRAM_FAULTS,
	type DatagramFault,
	DEFAULT_DATAGRAM_RATE,
	parseDatagramFault,
} from "@echo-cli/core/datagram";
import { UsageError } from "../usage-error.ts";

/** What `--udp`, `--udp-only`, `--udp-rate` and `--udp-fault` asked for. */
export interface UdpFlags {
	/** `also`: UDP next to TCP on the same host and port; `only`: no TCP at all. */
	readonly mode: "also" | "only";
	/** Replies per second per source address; `Infinity` with `--udp-rate off`. */
	readonly rate: number;
	/** Faults on every reply, in the order given. */
	readonly faults: readonly DatagramFault[];
}

/** What `--help` shows: one example per datagram fault, from each kind's own definition. */
export const UDP_FAULT_EXAMPLES: readonly (readonly [string, string])[] = DATAGRAM_FAULTS.map((d) => d.example);

/** Flags that act only on TCP connections, refused with `--udp-only`. */
const TCP_ONLY_FLAGS = [
	"unix",
	"max-connections",
	"idle-timeout",
	"send-timeout",
	"proxy-protocol",
	"proxy-header-timeout",
	"workers",
	"tls",
	"cert",
	"key",
	"ca",
	"client-auth",
	"cert-out",
	"hexdump",
	"fault",
] as const;

type Values = {
	readonly udp?: boolean | undefined;
	readonly "udp-only"?: boolean | undefined;
	readonly "udp-rate"?: string | undefined;
	readonly "udp-fault"?: string[] | undefined;
} & { readonly [flag in (typeof TCP_ONLY_FLAGS)[number]]?: unknown };

/** Reads the UDP flags; undefined when UDP is off (the default). Throws a UsageError naming the wrong flag. */
export function parseUdp(values: Values): UdpFlags | undefined {
	const on = values.udp === true || values["udp-only"] === true;
	if (!on) {
		for (const flag of ["udp-rate", "udp-fault"] as const) {
			if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --udp or --udp-only`);
		}
		return undefined;
	}
	if (values.udp && values["udp-only"])
		throw new UsageError("--udp and --udp-only cannot be used together; choose one");
	if (values.unix !== undefined) throw new UsageError("--udp serves on a host and port; leave out --unix");
	if (values.workers !== undefined) {
		throw new UsageError("--workers serves TCP only; UDP is served by one process, so leave out --workers");
	}
	if (values["udp-only"]) {
		const tcp = TCP_ONLY_FLAGS.find((flag) => values[flag] !== undefined);
		if (tcp) {
			const hint = tcp === "fault" ? "; use --udp-fault for datagrams" : "";
			throw new UsageError(`--${tcp} acts on TCP connections and --udp-only serves none${hint}`);
		}
	}
	return {
		mode: values["udp-only"] ? "only" : "also",
		rate: parseRate(values["udp-rate"]),
		faults: (values["udp-fault"] ?? []).map(parseFault),
	};
}

function parseRate(text: string | undefined): number {
	if (text === undefined) return DEFAULT_DATAGRAM_RATE;
	if (text === "off") return Number.POSITIVE_INFINITY;
	const rate = /^\d+$/.test(text) ? Number(text) : Number.NaN;
	if (!Number.isSafeInteger(rate) || rate < 1) {
		throw new UsageError(
			`invalid --udp-rate '${text}'; give replies per second per source address, a whole number of 1 or more, or off`,
		);
	}
	return rate;
}

function parseFault(spec: string): DatagramFault {
	try {
		return parseDatagramFault(spec);
	} catch (error) {
		if (!(error instanceof FaultSpecError)) throw error;
		throw new UsageError(`invalid --udp-fault '${spec}': ${error.reason}; see echo-cli --help for an example of each`);
	}
}
