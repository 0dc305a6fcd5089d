import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./usage-error.ts";

/** `util.parseArgs`, with its errors turned into one-line usage errors that point at `help`. */
export function parseFlags<T extends ParseArgsConfig>(config: T, help: string): ReturnType<typeof parseArgs<T>> {
	try {
		return parseArgs(config);
	} catch (error) {
		const first = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
		throw new UsageError(`${first.replace(/\. To specify a positional.*$/, "")}; see ${help}`);
	}
}
