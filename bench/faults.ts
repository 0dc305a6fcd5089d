/**
 * `bun bench/faults.ts`: how exactly the latency and bandwidth faults keep
 * their spec. For each runtime and driver, echo-cli serves once without a
 * fault and once per fault. Latency: `echo-cli bench`, pingpong 64 B on ten
 * connections; added latency is the faulty p50/p99 less the same server's p50
 * without faults, measured in the same run. Bandwidth: the bytes per second
 * a client that sends and reads without pause receives.
 *
 *   bun bench/faults.ts [--duration 5s] [--write BENCHMARKS.md]
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseListening } from "@echo-cli/core";
import { writeSection } from "./section.ts";

const CLI = fileURLToPath(new URL("../apps/cli/dist/cli.js", import.meta.url));
const BUN = process.execPath;
const { values } = parseArgs({
	options: { duration: { type: "string", default: "5s" }, write: { type: "string" } },
});
const durationMs = Number.parseFloat(values.duration as string) * (values.duration?.endsWith("ms") ? 1 : 1000);

const SERVERS = [
	{ label: "node driver on Node", command: ["node", CLI, "--driver", "node"] },
	{ label: "node driver on Bun", command: [BUN, CLI, "--driver", "node"] },
	{ label: "bun driver on Bun", command: [BUN, CLI, "--driver", "bun"] },
];

interface Check {
	readonly fault: string;
	readonly kind: "latency" | "bandwidth";
	/** Milliseconds added, or bytes per second. */
	readonly spec: number;
}

const CHECKS: Check[] = [
	{ fault: "latency=50ms", kind: "latency", spec: 50 },
	{ fault: "latency=50ms,jitter=10ms", kind: "latency", spec: 50 },
	{ fault: "bandwidth=1MiB/s", kind: "bandwidth", spec: 1024 * 1024 },
	{ fault: "bandwidth=10MiB/s", kind: "bandwidth", spec: 10 * 1024 * 1024 },
];

interface Report {
	readonly mbPerSecond: number;
	readonly latencyMs: { readonly p50: number; readonly p99: number };
	readonly errors: number;
	readonly mismatches: number;
}

async function start(
	command: readonly string[],
	fault: string | undefined,
): Promise<{ port: number; child: ChildProcess }> {
	const args = [...command.slice(1), "--port", "0", "--log-format", "json", ...(fault ? ["--fault", fault] : [])];
	const child = spawn(command[0] as string, args, { stdio: ["ignore", "pipe", "inherit"] });
	const port = await new Promise<number>((resolve, reject) => {
		let out = "";
		const timer = setTimeout(() => reject(new Error(`${command.join(" ")} did not start`)), 10_000);
		child.stdout?.on("data", (d: Buffer) => {
			out += d;
			const address = parseListening(out.split("\n")[0] as string);
			if (address?.transport !== "tcp") return;
			clearTimeout(timer);
			resolve(address.port);
		});
	});
	return { port, child };
}

/**
 * Latency: echo-cli bench, pingpong 64 B on ten connections. At 50 ms a
 * round trip, one connection gives about 100 samples in 5 s, and the median
 * of 100 draws of a ±10 ms jitter strays by 1 ms (one standard deviation)
 * on its own; ten connections, each with its own draws, bring that to 0.3 ms.
 */
async function latency(command: readonly string[], fault: string | undefined): Promise<Report> {
	const server = await start(command, fault);
	try {
		const load = ["--mode", "pingpong", "-s", "64", "-c", "10", "-d", values.duration as string, "--warmup", "500ms"];
		const bench = spawnSync(BUN, [CLI, "bench", `127.0.0.1:${server.port}`, ...load, "--json"], {
			encoding: "utf8",
			timeout: 60_000,
		});
		const report = JSON.parse(bench.stdout) as Report;
		if (report.errors > 0 || report.mismatches > 0) throw new Error(`${fault}: ${bench.stderr}`);
		return report;
	} finally {
		server.child.kill("SIGKILL");
	}
}

/**
 * Bandwidth: bytes per second arriving at a client that sends without pause
 * and reads everything, counted over the window after a warm-up. (A
 * message-based count would miss it: through a slow pipe, a message sent in
 * the window comes back seconds later.)
 */
async function bandwidth(command: readonly string[], fault: string): Promise<number> {
	const server = await start(command, fault);
	const socket = net.connect({ port: server.port, host: "127.0.0.1" });
	try {
		await new Promise((resolve) => socket.once("connect", resolve));
		const chunk = Buffer.alloc(64 * 1024, 7);
		const pump = () => {
			while (socket.write(chunk)) {}
		};
		socket.on("drain", pump);
		pump();
		let received = 0;
		socket.on("data", (d: Buffer) => {
			received += d.length;
		});
		await new Promise((resolve) => setTimeout(resolve, 1000));
		const from = received;
		const started = performance.now();
		await new Promise((resolve) => setTimeout(resolve, durationMs));
		return ((received - from) / (performance.now() - started)) * 1000;
	} finally {
		socket.destroy();
		server.child.kill("SIGKILL");
	}
}

const lines = [
	"| server | fault | p50 added ms | p99 added ms | achieved | against the spec | target met |",
	"|---|---|---:|---:|---:|---:|---|",
];
for (const server of SERVERS) {
	const base = await latency(server.command, undefined);
	for (const check of CHECKS) {
		process.stderr.write(`${server.label} ${check.fault}\n`);
		if (check.kind === "latency") {
			const report = await latency(server.command, check.fault);
			const p50 = report.latencyMs.p50 - base.latencyMs.p50;
			const p99 = report.latencyMs.p99 - base.latencyMs.p50;
			const off = p50 - check.spec;
			lines.push(
				`| ${server.label} | ${check.fault} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | | ${off >= 0 ? "+" : ""}${off.toFixed(2)} ms (p50) | ${Math.abs(off) <= 2 ? "yes" : "no"} (±2 ms) |`,
			);
		} else {
			const achieved = await bandwidth(server.command, check.fault);
			const ratio = achieved / check.spec;
			lines.push(
				`| ${server.label} | ${check.fault} | | | ${(achieved / 1048576).toFixed(3)} MiB/s | ${ratio.toFixed(3)}x | ${Math.abs(ratio - 1) <= 0.05 ? "yes" : "no"} (±5%) |`,
			);
		}
	}
}
const machine = `Node ${spawnSync("node", ["--version"], { encoding: "utf8" }).stdout.trim()}, Bun ${spawnSync(BUN, ["--version"], { encoding: "utf8" }).stdout.trim()}; each measurement ${values.duration} after a 500 ms warm-up; added latency against the same server without faults in the same run`;
const output = [`- ${machine}`, "", ...lines].join("\n");
process.stdout.write(`${output}\n`);
if (values.write) writeSection(values.write, "faults", output);
