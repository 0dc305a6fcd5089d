import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Driver } from "@echo-cli/core";
import type { DatagramDriver } from "@echo-cli/core/datagram";
import { NodeDatagramDriver, NodeDriver, reusePortAvailable } from "@echo-cli/driver-node";
import type { DriverChoice } from "./options.ts";
import { LAUNCHER_ENV } from "./parent.ts";
import { UsageError } from "./usage-error.ts";
import type { Sharing } from "./workers/spawn.ts";

declare const Bun: { version: string } | undefined;
declare const Deno: { version: { deno: string } } | undefined;

export const onBun = typeof Bun !== "undefined";
export const onDeno = typeof Deno !== "undefined";

/**
 * `Bun 1.4.5`, `Deno 2.9.6` or `Node 20.20.2`. Bun and Deno both say they
 * are Node in `process.version` (v26.3.0), so they are asked first.
 */
export const runtimeName: string =
	typeof Bun !== "undefined"
		? `Bun ${Bun.version}`
		: typeof Deno !== "undefined"
			? `Deno ${Deno.version.deno}`
			: `Node ${process.versions.node}`;

/** The driver `--driver auto` means here. */
export const nativeDriver = onBun ? "bun" : onDeno ? "deno" : "node";

/** The driver to use, or `undefined` when the bun or deno driver is asked for on another runtime. */
export async function loadDriver(choice: DriverChoice): Promise<Driver | undefined> {
	const name = choice === "auto" ? nativeDriver : choice;
	if (name === "node") return new NodeDriver();
	if (name !== nativeDriver) return undefined;
	// Loaded only on their runtime: each package exports nothing under other runtimes' conditions.
	if (name === "deno") return new (await import("@echo-cli/driver-deno")).DenoDriver();
	const { BunDriver } = await import("@echo-cli/driver-bun");
	return new BunDriver();
}

/** The datagram driver that goes with the stream driver `name` (only `node` and `bun` reach here). */
export async function loadDatagramDriver(name: string): Promise<DatagramDriver> {
	if (name !== "bun") return new NodeDatagramDriver();
	const { BunDatagramDriver } = await import("@echo-cli/driver-bun");
	return new BunDatagramDriver();
}

/**
 * How workers share a port here: SO_REUSEPORT where it spreads connections
 * (Linux, on Bun or Node >= 22.12), else node:cluster. Bun ignores
 * reusePort off Linux, and Bun.listen in a cluster worker binds a port of its
 * own, so Bun elsewhere has no way to share one.
 */
export function workerSharing(): Sharing {
	if (onDeno) throw new UsageError("--workers is not available on Deno; run it on Node or Bun");
	const linux = process.platform === "linux";
	if (linux && (onBun || reusePortAvailable)) return "SO_REUSEPORT";
	if (onBun)
		throw new UsageError("--workers on Bun needs Linux, where SO_REUSEPORT spreads connections; run it on Node");
	return "node:cluster";
}

/**
 * Runs this same command under Bun, forwarding signals and the exit status.
 * Resolves to `undefined` when no `bun` is on the PATH.
 */
export function rerunUnderBun(argv: readonly string[]): Promise<number | undefined> {
	const script = process.argv[1] as string;
	return new Promise((resolve) => {
		const child = spawn("bun", [script, ...argv], {
			stdio: "inherit",
			env: { ...process.env, [LAUNCHER_ENV]: String(process.pid) },
		});
		// From the start: a signal with no listener would end this process at once. The child decides
		// what a signal means (it takes a group's Ctrl-C and our forwarded copy as one); its status is ours.
		const forward = (signal: NodeJS.Signals) => child.kill(signal);
		process.on("SIGINT", forward);
		process.on("SIGTERM", forward);
		const done = (status: number | undefined) => {
			process.off("SIGINT", forward);
			process.off("SIGTERM", forward);
			resolve(status);
		};
		child.once("error", () => done(undefined));
		child.once("exit", (code, signal) => done(code ?? (signal === "SIGINT" ? 130 : 143)));
	});
}

/**
 * The command's arguments as given. Bun drops a `--` right after the script
 * from `process.argv` (Node keeps it, and it ends the options), so on Bun the
 * real command line is read back from /proc where there is one.
 */
export function commandArgs(): string[] {
	const args = process.argv.slice(2);
	if (!onBun) return args;
	try {
		const given = readFileSync("/proc/self/cmdline", "utf8").split("\0").slice(0, -1);
		const tail = given.slice(given.length - args.length - 1);
		if (tail[0] === "--" && tail.slice(1).every((arg, i) => arg === args[i])) return ["--", ...args];
	} catch {
		// No /proc: take process.argv as it is.
	}
	return args;
}
