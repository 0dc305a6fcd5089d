import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseDuration } from "../apps/cli/src/options.ts";
import { startListening } from "./listening.ts";
import { BUN, CLI } from "./matrix.ts";
import { type Ping, pingpong } from "./pingpong.ts";
import { cpuNanoseconds } from "./proc.ts";
import { writeSection } from "./section.ts";
import { median, version } from "./stats.ts";

const { values } = parseArgs({
	options: {
		rounds: { type: "string", default: "2" },
		duration: { type: "string", default: "3s" },
		write: { type: "string" },
	},
});
const ROUNDS = Number(values.rounds);
const DURATION = parseDuration(values.duration, "--duration");
const WARMUP = 1000;
const EDGE = 250;
const SIZES = [64, 1024] as const;
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const cli = ["--udp-only", "--udp-rate", "off", "--port", "0", "--log-format", "json"];

const SERVERS = [
	{ name: "raw node:dgram", runtime: "Node", command: ["node", here("servers/raw-node-dgram.mjs")] },
	{ name: "node datagram driver", runtime: "Node", command: ["node", here("servers/datagram-driver.mjs"), "node"] },
	{ name: "CLI --udp-only, node driver", runtime: "Node", command: ["node", CLI, ...cli] },
	{ name: "raw Bun.udpSocket", runtime: "Bun", command: [BUN, here("servers/raw-bun-udp.ts")] },
	{ name: "bun datagram driver", runtime: "Bun", command: [BUN, here("servers/datagram-driver.mjs"), "bun"] },
	{ name: "CLI --udp-only, bun driver", runtime: "Bun", command: [BUN, CLI, ...cli] },
] as const;
const BASELINE = { Node: "raw node:dgram", Bun: "raw Bun.udpSocket" } as const;

const startServer = (command: readonly string[]) => startListening(command, "udp");

const key = (server: string, runtime: string, size: number) => `${server} on ${runtime} at ${size}`;
const samples = new Map<string, Ping[]>();
for (let round = 0; round < ROUNDS; round++) {
	// Each round starts with a different server: the machine drifts within a round.
	for (let i = 0; i < SERVERS.length; i++) {
		const spec = SERVERS[(i + round) % SERVERS.length] as (typeof SERVERS)[number];
		const server = await startServer(spec.command);
		try {
			for (const size of SIZES) {
				const ping = await pingpong({
					port: server.port,
					flags: ["--udp", "-c", "10", "-s", String(size)],
					duration: DURATION,
					warmup: WARMUP,
					edge: EDGE,
					cpu: () => cpuNanoseconds(server.child.pid as number),
				});
				const list = samples.get(key(spec.name, spec.runtime, size)) ?? [];
				list.push(ping);
				samples.set(key(spec.name, spec.runtime, size), list);
			}
		} finally {
			await server.stop();
		}
	}
	process.stderr.write(`round ${round + 1} of ${ROUNDS}\n`);
}

const rows: string[] = [];
for (const spec of SERVERS) {
	const cells = SIZES.map((size) => {
		const list = samples.get(key(spec.name, spec.runtime, size)) ?? [];
		const base = samples.get(key(BASELINE[spec.runtime], spec.runtime, size)) ?? [];
		const cpu = median(list.map((p) => p.cpuPerMessage));
		const baseCpu = median(base.map((p) => p.cpuPerMessage));
		return `${Math.round(median(list.map((p) => p.msgPerSecond)))} | ${cpu.toFixed(1)} | ${(cpu / baseCpu).toFixed(2)}x`;
	});
	rows.push(`| ${spec.name} on ${spec.runtime} | ${cells.join(" | ")} |`);
}
const output = [
	`- Node ${version("node")}, Bun ${version(BUN)}; ${ROUNDS} rounds, medians; ${DURATION} ms after a ${WARMUP} ms warm-up; echo-cli bench --udp on Bun, 10 clients with one datagram in flight each; nothing pinned, the clients on the same 2 cores; the CLI with --udp-only --udp-rate off (the rate limit would be what a single-source benchmark measures)`,
	"",
	"| server | 64 B msg/s | CPU µs/datagram | vs raw | 1 KiB msg/s | CPU µs/datagram | vs raw |",
	"|---|---:|---:|---:|---:|---:|---:|",
	...rows,
].join("\n");
process.stdout.write(`${output}\n`);
if (values.write) writeSection(values.write, "udp", output);
