import {
	type Address,
	type Connection,
	type Driver,
	describeFault,
	echo,
	formatAddress,
	ListenError,
	type Listener,
	serve,
	withFaults,
	withProxyProtocol,
} from "@echo-cli/core";
import { formatDuration, plural } from "./format.ts";
import { dumpingEcho } from "./hexdump.ts";
import { descriptorCapacity } from "./limits.ts";
import type { Logger } from "./log.ts";
import type { ServeConfig } from "./options.ts";
import { watchParents } from "./parent.ts";
import { writeReadyFile } from "./ready-file.ts";
import { runtimeName } from "./runtime.ts";
import { listenForStop } from "./signals.ts";

/** How often, at most, the CLI says that it is refusing connections for lack of descriptors. */
const DESCRIPTOR_WARNING_INTERVAL = 10_000;

/** Serves echo until a signal; resolves to the exit status. */
export async function serveCommand(config: ServeConfig, driver: Driver, log: Logger): Promise<number> {
	const descriptors = descriptorCapacity();
	const userCap = config.maxConnections ?? Number.POSITIVE_INFINITY;
	const fdCap = descriptors?.capacity ?? Number.POSITIVE_INFINITY;
	const capByUser = userCap <= fdCap;
	let lastWarning = Number.NEGATIVE_INFINITY;
	let refusedSinceWarning = 0;

	const onRefuse = (remote: Address | undefined) => {
		if (capByUser) {
			if (config.verbose) log.refused(remote, `max connections (${userCap}) reached`);
			return;
		}
		refusedSinceWarning++;
		if (config.verbose) log.refused(remote, "out of file descriptors");
		const now = performance.now();
		if (now - lastWarning >= DESCRIPTOR_WARNING_INTERVAL) {
			// The count covers the burst since the last warning; the exit summary has the total.
			log.warning(
				`refusing connections: ${fdCap} open connections use the file descriptor limit (${descriptors?.limit}); ` +
					`new connections are closed at once until some close${refusedSinceWarning > 1 ? ` (${refusedSinceWarning} since the last warning)` : ""}; raise the limit with ulimit -n`,
			);
			lastWarning = now;
			refusedSinceWarning = 0;
		}
	};

	// Listening for the reasons to stop comes first: a signal during start-up drains like any other.
	// A second signal means: stop now.
	const stop = listenForStop((signal) => {
		if (!config.quiet) log.note(`${signal} again, exiting without draining`);
		process.exit(signal === "SIGINT" ? 130 : 143);
	});
	// Stopping a launcher (npx, bun run) by its PID must not leave this server running as an orphan.
	const unwatch = watchParents((pid) => stop.stop(`parent process ${pid} exited`));

	let listener: Listener;
	try {
		listener = await driver.listen({
			...(config.unix ? { path: config.unix } : { host: config.host, port: config.port }),
			maxConnections: Math.min(userCap, fdCap),
			onRefuse,
		});
	} catch (error) {
		if (error instanceof ListenError) {
			log.error(error.message);
			return 1;
		}
		throw error;
	}

	const base = config.hexdump !== undefined ? dumpingEcho(log, config.hexdump) : echo;
	const faultSeed = config.faultSeed ?? Math.floor(Math.random() * 4294967296);
	/** Per connection, the faults it got (only kept for --verbose); per fault, how many got it. */
	const faultsOf = new Map<Connection, string>();
	const faultCounts = new Map<string, number>(config.faults.map((f) => [describeFault(f), 0]));
	const faulty = withFaults(base, config.faults, {
		seed: faultSeed,
		onChoice(connection, faults) {
			const names = faults.map(describeFault);
			for (const name of names) faultCounts.set(name, (faultCounts.get(name) ?? 0) + 1);
			if (config.verbose && names.length > 0) faultsOf.set(connection, names.join(" "));
		},
	});
	/** Behind a PROXY header, the connection the handler got (its remote is the real client), by the accepted one. */
	const proxied = new Map<Connection, Connection>();
	let badHeaders = 0;
	const handler = config.proxyProtocol
		? withProxyProtocol(faulty, { onHeader: (accepted, served) => proxied.set(accepted, served) })
		: faulty;
	const server = serve(listener, handler, {
		idleTimeout: config.idleTimeout,
		sendTimeout: config.sendTimeout,
		onError(error, connection) {
			log.error(`${formatAddress(connection.remote)}: ${String(error)}`);
		},
		onClose(connection, info) {
			const served = proxied.get(connection) ?? connection;
			proxied.delete(connection);
			const rejected = config.proxyProtocol && served === connection;
			if (rejected) badHeaders++;
			if (!config.verbose) return;
			const faults = faultsOf.get(served);
			faultsOf.delete(served);
			log.connection(served.remote, {
				bytesIn: info.bytesIn,
				bytesOut: info.bytesOut,
				duration: info.duration,
				outcome: info.outcome,
				...(faults ? { faults } : {}),
				...(rejected && connection.error ? { reason: connection.error.message } : {}),
			});
		},
	});
	if (config.readyFile !== undefined) {
		try {
			writeReadyFile(config.readyFile, listener.address);
		} catch (error) {
			log.error((error as Error).message);
			await server.shutdown({ timeout: 0 });
			return 1;
		}
	}
	log.listening(
		listener.address,
		driver.name,
		runtimeName,
		config.faults.length > 0 ? { faults: [...faultCounts.keys()], seed: faultSeed } : undefined,
		config.proxyProtocol,
	);

	const reason = await stop.reason;
	unwatch();

	if (config.verbose) {
		log.note(
			`${reason}: draining ${plural(server.connections.size, "connection")} for up to ${formatDuration(config.drainTimeout)}`,
		);
	}
	const result = await server.shutdown({ timeout: config.drainTimeout });
	const stats = server.stats;
	log.summary({
		accepted: stats.accepted,
		bytesOut: stats.bytesOut,
		errors: stats.errors,
		idle: stats.idle,
		stalled: stats.stalled,
		refused: listener.refusedCount,
		aborted: result.aborted,
		...(config.proxyProtocol ? { badProxyHeaders: badHeaders } : {}),
		...(config.faults.length > 0 ? { faults: Object.fromEntries(faultCounts) } : {}),
	});
	return 0;
}
