import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./usage-error.ts";

/**
 * `util.parseArgs`, with its errors turned into one-line usage errors that
 * point at `help`, and negative numbers taken as values: parseArgs reads
 * `--port -1` as a missing value, so it is passed on as `--port=-1` for the
 * command's own check to name.
 */
export function parseFlags<T extends ParseArgsConfig>(config: T, help: string): ReturnType<typeof parseArgs<T>> {
	try {
		const args = joinNegativeValues(config.args ?? [], config.options ?? {});
		return parseArgs({ ...config, args }) as ReturnType<typeof parseArgs<T>>;
	} catch (error) {
		const first = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
		throw new UsageError(`${first.replace(/\. To specify a positional.*$/, "")}; see ${help}`);
	}
}

function joinNegativeValues(argv: readonly string[], options: NonNullable<ParseArgsConfig["options"]>): string[] {
	const takesValue = new Map<string, string>();
	for (const [name, option] of Object.entries(options)) {
		if (option.type !== "string") continue;
		takesValue.set(`--${name}`, name);
		if (option.short) takesValue.set(`-${option.short}`, name);
	}
	const out: string[] = [];
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i] as string;
		const next = argv[i + 1];
		const name = takesValue.get(arg);
		if (name && next !== undefined && /^-\d/.test(next)) {
			out.push(`--${name}=${next}`);
			i++;
		} else out.push(arg);
	}
	return out;
}
