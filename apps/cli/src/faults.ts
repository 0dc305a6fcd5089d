import type { Fault } from "@echo-cli/core";
import { UsageError } from "./usage-error.ts";

/** What `--help` and every spec error show: one example per fault. */
export const FAULT_EXAMPLES = [
	["latency=100ms,jitter=20ms", "each chunk goes back 100 ms (± 20 ms) later, in order"],
	["bandwidth=1MiB/s", "at most 1 MiB per second goes back"],
	["slicer=1-16,delay=5ms", "replies cut into 1 to 16 byte pieces, 5 ms apart (delay optional)"],
	["limit=64KiB", "the first 64 KiB go back, then a clean FIN"],
	["reset-after=64KiB", "a reset (RST) after 64 KiB echoed; reset-after=2s: 2 s after accept"],
	["slow-close=1s", "our FIN goes out 1 s after it could"],
	["stall=5s", "read, send nothing, close after 5 s (stall=0: never)"],
	["refuse", "accept and close at once with a FIN (refuse=rst: with a reset)"],
] as const;

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kib|kb|k|mib|mb|m|gib|gb|g)?$/i;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)$/;

/**
 * Parses one `--fault` spec, such as `latency=100ms,jitter=20ms@10%`. Throws
 * a UsageError that names the wrong part and shows what would be right.
 */
export function parseFault(spec: string): Fault {
	const at = spec.lastIndexOf("@");
	const body = at === -1 ? spec : spec.slice(0, at);
	const share = at === -1 ? undefined : parseShare(spec, spec.slice(at + 1));
	const [first = "", ...rest] = body.split(",");
	const eq = first.indexOf("=");
	const kind = eq === -1 ? first : first.slice(0, eq);
	const value = eq === -1 ? undefined : first.slice(eq + 1);
	const options = new Map<string, string>();
	for (const part of rest) {
		const [key = "", val] = part.split("=");
		if (val === undefined) fail(spec, `'${part}' is not key=value`);
		options.set(key, val);
	}
	const fault = build(spec, kind, value, options);
	const unused = [...options.keys()];
	if (unused.length > 0) fail(spec, `${kind} takes no '${unused[0]}'`);
	return share === undefined ? fault : { ...fault, share };
}

function build(spec: string, kind: string, value: string | undefined, options: Map<string, string>): Fault {
	const need = (what: string) => value ?? fail(spec, `${kind} needs ${what}`);
	const take = (key: string) => {
		const found = options.get(key);
		options.delete(key);
		return found;
	};
	switch (kind) {
		case "latency": {
			const jitter = take("jitter");
			return {
				kind,
				delay: duration(spec, need("a delay"), "delay"),
				...(jitter !== undefined ? { jitter: duration(spec, jitter, "jitter") } : {}),
			};
		}
		case "bandwidth": {
			const rate = size(spec, need("a rate such as 1MiB/s").replace(/\/s$/, ""), "rate");
			if (rate < 1) fail(spec, "the rate must be at least 1 byte per second");
			return { kind, rate };
		}
		case "slicer": {
			const range = /^(\d+)(?:-(\d+))?$/.exec(need("a size range such as 1-16"));
			const min = Number(range?.[1]);
			const max = Number(range?.[2] ?? range?.[1]);
			if (!range || min < 1 || max < min)
				fail(spec, `'${value}' is not a size range; give MIN-MAX bytes, 1 or more, such as 1-16`);
			const delay = take("delay");
			return { kind, min, max, ...(delay !== undefined ? { delay: duration(spec, delay, "delay") } : {}) };
		}
		case "limit":
			return { kind, bytes: size(spec, need("a size such as 64KiB"), "limit") };
		case "reset-after": {
			const after = need("a size (64KiB) or a time (2s)");
			return DURATION.test(after)
				? { kind: "reset", after: duration(spec, after, "time") }
				: { kind: "reset", bytes: size(spec, after, "size") };
		}
		case "slow-close":
			return { kind, delay: duration(spec, need("a delay"), "delay") };
		case "stall":
			return { kind, after: value === "0" ? 0 : duration(spec, need("a time, or 0 for never"), "time") };
		case "refuse": {
			const how = value ?? "fin";
			if (how !== "fin" && how !== "rst") fail(spec, `refuse takes fin or rst, not '${how}'`);
			return { kind, how };
		}
		default:
			return fail(
				spec,
				`unknown fault '${kind}'; choose ${FAULT_EXAMPLES.map(([e]) => e.split(/[=,]/)[0]).join(", ")}`,
			);
	}
}

function duration(spec: string, text: string, what: string): number {
	const match = DURATION.exec(text);
	if (!match) fail(spec, `'${text}' is not a ${what}; use a duration such as 100ms, 2s or 1m`);
	const scale = match[2] === "ms" ? 1 : match[2] === "m" ? 60_000 : 1000;
	return Math.round(Number(match[1]) * scale);
}

function size(spec: string, text: string, what: string): number {
	const match = SIZE.exec(text.trim());
	if (!match) fail(spec, `'${text}' is not a ${what}; use bytes such as 100, 64KiB or 1MiB`);
	const unit = (match[2] ?? "b").toLowerCase();
	const scale = unit.startsWith("k") ? 1024 : unit.startsWith("m") ? 1024 ** 2 : unit.startsWith("g") ? 1024 ** 3 : 1;
	return Math.round(Number(match[1]) * scale);
}

function parseShare(spec: string, text: string): number {
	const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
	const percent = Number(match?.[1]);
	if (!match || percent <= 0 || percent > 100)
		fail(spec, `'@${text}' is not a share; use a percentage above 0 and up to 100, such as @10%`);
	return percent / 100;
}

function fail(spec: string, reason: string): never {
	throw new UsageError(`invalid --fault '${spec}': ${reason}; see echo-cli --help for an example of each fault`);
}
