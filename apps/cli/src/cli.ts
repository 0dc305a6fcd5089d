#!/usr/bin/env node
import { createRequire } from "node:module";
import { BENCH_HELP, benchCommand, parseBench } from "./bench/command.ts";
import { HELP } from "./help.ts";
import { Logger } from "./log.ts";
import { parseCommand } from "./options.ts";
import { commandArgs, loadDriver, onDeno, rerunUnderBun, workerSharing } from "./runtime.ts";
import { serveCommand } from "./serve-command.ts";
import { UsageError } from "./usage-error.ts";
import { superviseCommand } from "./workers/supervisor.ts";
import { workerLink } from "./workers/worker.ts";

// A reader that goes away (`echo-cli | head -1`) must not turn into a crash with a stack trace.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});

const output = {
	out: (line: string) => process.stdout.write(`${line}\n`),
	err: (line: string) => process.stderr.write(`${line}\n`),
};

async function main(argv: readonly string[]): Promise<number> {
	if (argv[0] === "bench") return bench(argv.slice(1));
	const command = parseCommand(argv, process.env);
	if (command.command === "help") {
		output.out(HELP);
		return 0;
	}
	if (command.command === "version") {
		const { version } = createRequire(import.meta.url)("../package.json") as { version: string };
		output.out(version);
		return 0;
	}
	const driver = await loadDriver(command.driver);
	if (!driver && command.driver === "deno") {
		new Logger(command.logFormat, false, process, process.env).error(
			`the deno driver needs the Deno runtime; run it under Deno: deno run -A npm:@echo-cli/cli --driver deno`,
		);
		return 1;
	}
	if (!driver) {
		const status = await rerunUnderBun(argv);
		if (status !== undefined) return status;
		// With Node.js and npm only, Bun itself comes from npm.
		new Logger(command.logFormat, false, process, process.env).error(
			`the bun driver needs the Bun runtime and no bun is on the PATH; run it under Bun from npm: npx -y bun ${process.argv[1]} ${argv.join(" ")}`,
		);
		return 1;
	}
	if (onDeno && command.udp) {
		// Deno's node:dgram fails the datagram conformance suite, and Deno.listenDatagram is unstable.
		throw new UsageError("--udp and --udp-only are not served on Deno; run them on Node or Bun");
	}
	const worker = workerLink();
	const log = new Logger(command.logFormat, command.quiet, process, process.env, worker?.settings.index);
	if (worker) return serveCommand(command, driver, log, worker);
	if (command.workers !== undefined) return superviseCommand(command, argv, driver.name, workerSharing(), log);
	return serveCommand(command, driver, log);
}

async function bench(argv: readonly string[]): Promise<number> {
	const config = parseBench(argv);
	if (config.command === "bench-help") {
		output.out(BENCH_HELP);
		return 0;
	}
	return benchCommand(config, process.argv[1] as string);
}

main(commandArgs()).then(
	// Exit explicitly: a finished command must not wait on handles it no longer needs.
	(status) => process.exit(status),
	(error: unknown) => {
		if (error instanceof UsageError) {
			output.err(`echo-cli: ${error.message}`);
			process.exit(2);
		}
		output.err(`echo-cli: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
		process.exit(70);
	},
);
