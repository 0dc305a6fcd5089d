import { type Driver, echo, formatAddress, ListenError, serve } from "@echo-cli/core";
import { formatBytes, formatDuration, plural } from "./format.ts";
import type { ServeConfig } from "./options.ts";
import { runtimeName } from "./runtime.ts";

export interface Output {
	out(line: string): void;
	err(line: string): void;
}

/** Serves echo until a signal; resolves to the exit status. */
export async function serveCommand(config: ServeConfig, driver: Driver, output: Output): Promise<number> {
	let listener: Awaited<ReturnType<Driver["listen"]>>;
	try {
		listener = await driver.listen({ host: config.host, port: config.port });
	} catch (error) {
		if (error instanceof ListenError) {
			output.err(`echo-cli: ${error.message}`);
			return 1;
		}
		throw error;
	}
	const server = serve(listener, echo, {
		onError(error, connection) {
			if (!config.quiet) output.err(`echo-cli: ${formatAddress(connection.remote)}: ${String(error)}`);
		},
		onClose(connection, info) {
			if (!config.verbose) return;
			output.err(
				`${formatAddress(connection.remote)} in ${connection.bytesRead} B out ${connection.bytesWritten} B ` +
					`${formatDuration(info.duration)} ${info.outcome}`,
			);
		},
	});
	if (!config.quiet) {
		// One write, so that a reader of the first line also has the second.
		let banner = `listening on ${formatAddress(listener.address)} (driver ${driver.name}, ${runtimeName})`;
		const address = listener.address;
		if (address.transport === "tcp") {
			const host = address.host === "0.0.0.0" ? "127.0.0.1" : address.host === "::" ? "::1" : address.host;
			banner += `\ntry it: nc ${host} ${address.port}`;
		}
		output.out(banner);
	}

	const signal = await new Promise<NodeJS.Signals>((resolve) => {
		process.once("SIGINT", () => resolve("SIGINT"));
		process.once("SIGTERM", () => resolve("SIGTERM"));
	});
	// A second signal means: stop now.
	const again = (second: NodeJS.Signals) => {
		if (!config.quiet) output.err(`echo-cli: ${second} again, exiting without draining`);
		process.exit(second === "SIGINT" ? 130 : 143);
	};
	process.on("SIGINT", again);
	process.on("SIGTERM", again);

	if (!config.quiet && config.verbose) {
		output.err(
			`echo-cli: ${signal}: draining ${plural(server.connections.size, "connection")} for up to ${formatDuration(config.drainTimeout)}`,
		);
	}
	const result = await server.shutdown({ timeout: config.drainTimeout });
	if (!config.quiet) {
		const stats = server.stats;
		output.out(
			`served ${plural(stats.accepted, "connection")}, echoed ${formatBytes(stats.bytesOut)} ` +
				`(${stats.bytesOut} bytes), ${plural(stats.errors, "error")}` +
				(result.aborted > 0 ? `, ${result.aborted} aborted at the drain timeout` : ""),
		);
	}
	return 0;
}
