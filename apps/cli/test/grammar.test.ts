import { expect, test } from "bun:test";
import { parseBench } from "../src/bench/command.ts";
import { parseCommand } from "../src/options.ts";

const serve = (...argv: string[]) => {
	const command = parseCommand(argv, {});
	if (command.command !== "serve") throw new Error(`not a serve command: ${command.command}`);
	return command;
};
const bench = (...argv: string[]) => {
	const config = parseBench(argv);
	if (config.command === "bench-help") throw new Error("not a bench command");
	return config;
};

test("a duration reads the same in a flag and in a fault spec, bare numbers as seconds", () => {
	const config = serve("--idle-timeout", "5", "--send-timeout", "1.5m", "--fault", "stall=5", "--fault", "latency=0.5");
	expect(config.idleTimeout).toBe(5000);
	expect(config.sendTimeout).toBe(90_000);
	expect(config.faults).toEqual([
		{ kind: "stall", after: 5000 },
		{ kind: "latency", delay: 500 },
	]);
	expect(bench("--duration", "2", "--warmup", "250ms").duration).toBe(2000);
});

test("a size reads the same in a flag, a fault spec and a bench option", () => {
	expect(bench("--size", "1.5MiB").size).toBe(1_572_864);
	expect(serve("--fault", "limit=1.5MiB").faults).toEqual([{ kind: "limit", bytes: 1_572_864 }]);
	expect(serve("--hexdump", "--hexdump-limit", "4KiB").hexdump).toBe(4096);
	expect(bench("--size", "64").size).toBe(64);
});

test("a rate reads as an amount per second, with or without /s", () => {
	expect(bench("--rate", "20000/s").rate).toBe(20000);
	expect(bench("--rate", "500").rate).toBe(500);
	expect(serve("--fault", "bandwidth=1.5MiB/s").faults).toEqual([{ kind: "bandwidth", rate: 1_572_864 }]);
});
