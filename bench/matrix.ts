/** What `bun run bench` measures: the servers, each with its baseline, and the workloads. */
import { fileURLToPath } from "node:url";
import { denoExecutable } from "@echo-cli/core/testing";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
export const CLI = here("../apps/cli/dist/cli.js");
export const BUN = process.execPath;
/** Deno from the bench's pinned deno dependency. */
export const DENO = denoExecutable(import.meta.url);
/** How a bench server runs under Deno. */
const denoRun = (script: string, ...args: string[]) => [DENO, "run", "--allow-all", here(script), ...args];

export const label = (s: ServerSpec) => `${s.name} on ${s.runtime}`;
export const workloadLabel = (w: Workload) =>
	`${w.mode} ${formatSize(w.size)} x ${w.connections}${w.rate ? ` at ${w.rate} msg/s` : ""}`;

export interface ServerSpec {
	readonly name: string;
	readonly runtime: "Node" | "Bun" | "Deno";
	readonly command: readonly string[];
	/** The raw server of the same runtime this one is compared with. */
	readonly baseline?: string;
	/** The server is the CLI: it names its address in a `--ready-file`, being `--quiet`. */
	readonly cli?: boolean;
}

const ALL_SERVERS: readonly ServerSpec[] = [
	{ name: "raw node:net pipe", runtime: "Node" as const, command: ["node", here("servers/raw-node-pipe.mjs")] },
	{
		name: "node driver",
		runtime: "Node" as const,
		command: ["node", here("servers/driver.mjs"), "node"],
		baseline: "raw node:net pipe",
	},
	{ name: "raw Bun.listen", runtime: "Bun" as const, command: [BUN, here("servers/raw-bun.ts")] },
	{
		name: "node driver",
		runtime: "Bun" as const,
		command: [BUN, here("servers/driver.mjs"), "node"],
		baseline: "raw Bun.listen",
	},
	{
		name: "bun driver",
		runtime: "Bun" as const,
		command: [BUN, here("servers/driver.mjs"), "bun"],
		baseline: "raw Bun.listen",
	},
	{ name: "raw Deno.listen", runtime: "Deno" as const, command: denoRun("servers/raw-deno.mjs") },
	{
		name: "deno driver",
		runtime: "Deno" as const,
		command: denoRun("servers/driver.mjs", "deno"),
		baseline: "raw Deno.listen",
	},
	{
		name: "node driver",
		runtime: "Deno" as const,
		command: denoRun("servers/driver.mjs", "node"),
		baseline: "raw Deno.listen",
	},
	// The CLI as users run it (defaults plus --quiet), against the API's serve(listener, echo).
	{
		name: "CLI, node driver",
		runtime: "Node" as const,
		command: ["node", CLI, "--driver", "node", "--port", "0", "--quiet"],
		baseline: "node driver",
		cli: true,
	},
	{
		name: "CLI, bun driver",
		runtime: "Bun" as const,
		command: [BUN, CLI, "--driver", "bun", "--port", "0", "--quiet"],
		baseline: "bun driver",
		cli: true,
	},
	// echo under faults that change nothing (latency=0ms), against plain echo on the same driver.
	{
		name: "node driver, echo under latency=0ms",
		runtime: "Node" as const,
		command: ["node", here("servers/driver.mjs"), "node", "faults"],
		baseline: "node driver",
	},
	{
		name: "bun driver, echo under latency=0ms",
		runtime: "Bun" as const,
		command: [BUN, here("servers/driver.mjs"), "bun", "faults"],
		baseline: "bun driver",
	},
	// A user's own handler on the push path, and the pull loop, on each driver's own runtime.
	...(["user push handler", "pull loop"] as const).flatMap((handler) => [
		{
			name: `node driver, ${handler}`,
			runtime: "Node" as const,
			command: ["node", here("servers/driver.mjs"), "node", handler === "pull loop" ? "pull" : "user"],
			baseline: "raw node:net pipe",
		},
		{
			name: `bun driver, ${handler}`,
			runtime: "Bun" as const,
			command: [BUN, here("servers/driver.mjs"), "bun", handler === "pull loop" ? "pull" : "user"],
			baseline: "raw Bun.listen",
		},
	]),
];

/** The servers whose label contains one of the comma-separated `only` filters (all without one). */
export function servers(only: string | undefined): ServerSpec[] {
	return ALL_SERVERS.filter((s) => !only || only.split(",").some((o) => label(s).includes(o)));
}

export interface Workload {
	readonly mode: "pingpong" | "stream";
	readonly size: number;
	readonly connections: number;
	/** Messages per second for the paced run: below what every server and the client reach on this machine. */
	readonly rate?: number;
}

/**
 * Each workload runs twice: at full load (as fast as the server answers),
 * for throughput and latency; and paced at a fixed rate, for CPU per
 * message. At full load the client, not the server, sets the pace on two
 * cores, and the server's CPU per message follows how its wake-ups happen
 * to batch messages: the same raw server measured 10.8 to 15.2 µs per 1 KiB
 * message in five runs. At a fixed rate every server sees the same arrivals,
 * and the same server's runs agree within about 5%.
 */
const BASE_WORKLOADS: readonly (Workload & { readonly rate: number })[] = [
	{ mode: "pingpong", size: 64, connections: 50, rate: 30_000 },
	{ mode: "pingpong", size: 1024, connections: 100, rate: 30_000 },
	{ mode: "pingpong", size: 100 * 1024, connections: 10, rate: 4_000 },
	{ mode: "stream", size: 64 * 1024, connections: 8, rate: 8_000 },
];

/** Each workload at full load, paced, or both (`loads`), filtered like {@link servers}. */
export function workloads(loads: readonly string[], only: string | undefined): Workload[] {
	return BASE_WORKLOADS.flatMap((w): Workload[] => [
		...(loads.includes("full") ? [{ mode: w.mode, size: w.size, connections: w.connections }] : []),
		...(loads.includes("paced") ? [w] : []),
	]).filter((w) => !only || only.split(",").some((o) => workloadLabel(w).includes(o)));
}

export function formatSize(bytes: number): string {
	return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}
