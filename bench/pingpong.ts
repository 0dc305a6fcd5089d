import { spawn } from "node:child_process";
import { BUN, CLI } from "./matrix.ts";

/** What a server did under `echo-cli bench`: msg/s, and server CPU µs per message over the measured window. */
export interface Ping {
	readonly msgPerSecond: number;
	readonly cpuPerMessage: number;
}

export interface PingOptions {
	readonly port: number;
	/** Flags for `echo-cli bench` besides the address, duration, warm-up and --json. */
	readonly flags: readonly string[];
	readonly duration: number;
	readonly warmup: number;
	/** Kept clear of each end of the measured window. */
	readonly edge: number;
	/** The server's CPU nanoseconds so far (of one process, or of a supervisor and its workers). */
	cpu(): number;
}

/** 1 KiB pingpong (or what `flags` ask) from `echo-cli bench` on Bun, with the server's CPU read inside the window. */
export async function pingpong(options: PingOptions): Promise<Ping> {
	const { port, flags, duration, warmup, edge, cpu } = options;
	const args = [CLI, "bench", `127.0.0.1:${port}`, ...flags, "-d", `${duration}ms`, "--warmup", `${warmup}ms`];
	const client = spawn(BUN, [...args, "--json"], { stdio: ["ignore", "pipe", "inherit"] });
	let out = "";
	client.stdout.on("data", (d: Buffer) => {
		out += d;
	});
	const done = new Promise<number>((resolve) => client.once("exit", (code) => resolve(code ?? 1)));
	const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
	await pause(warmup + edge);
	const cpu0 = cpu();
	const t0 = performance.now();
	await pause(duration - 2 * edge);
	const cpu1 = cpu();
	const seconds = (performance.now() - t0) / 1000;
	if ((await done) !== 0) throw new Error(`bench failed: ${out}`);
	const { msgPerSecond } = JSON.parse(out) as { msgPerSecond: number };
	return { msgPerSecond, cpuPerMessage: (cpu1 - cpu0) / 1000 / (msgPerSecond * seconds) };
}
