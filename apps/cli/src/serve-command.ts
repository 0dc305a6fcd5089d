import {
	type Connection,
	type Driver,
	echo,
	formatAddress,
	ListenError,
	type Listener,
	type ListenOptions,
	type Server,
	serve,
	withFaults,
	withProxyProtocol,
} from "@echo-cli/core";
import { formatUdpAddress } from "@echo-cli/core/datagram";
import { withTls } from "@echo-cli/core/tls";
import { formatDuration, plural } from "./format.ts";
import { dumpingEcho } from "./hexdump.ts";
import { descriptorCapacity } from "./limits.ts";
import type { Logger, SummaryLine } from "./log.ts";
import { ServerMetrics } from "./metrics.ts";
import { type MetricsEndpoint, serveMetrics } from "./metrics-endpoint.ts";
import type { ServeConfig } from "./options.ts";
import { watchParents } from "./parent.ts";
import { writeReadyFile } from "./ready-file.ts";
import { ConnectionReport } from "./report.ts";
import { loadDatagramDriver, runtimeName } from "./runtime.ts";
import { listenForStop } from "./signals.ts";
import { prepareTls, type ServedTls, TlsSetupError, tlsLine, tlsWarnings } from "./tls.ts";
import { startUdp, type UdpService } from "./udp/service.ts";
import type { WorkerLink } from "./workers/worker.ts";

/** How often, at most, the CLI says that it is refusing connections for lack of descriptors. */
const DESCRIPTOR_WARNING_INTERVAL = 10_000;

/**
 * Serves echo until a signal; resolves to the exit status. As a
 * supervisor's worker (`worker`), it binds what the supervisor says and
 * hands its address, metrics and summary to it instead of printing them.
 */
export async function serveCommand(
	config: ServeConfig,
	driver: Driver,
	log: Logger,
	worker?: WorkerLink,
): Promise<number> {
	const descriptors = descriptorCapacity();
	const userCap = (worker ? worker.settings.maxConnections : config.maxConnections) ?? Number.POSITIVE_INFINITY;
	const fdCap = descriptors?.capacity ?? Number.POSITIVE_INFINITY;
	const capByUser = userCap <= fdCap;
	let lastWarning = Number.NEGATIVE_INFINITY;
	let refusedSinceWarning = 0;
	let server: Server | undefined;
	const metrics = config.metrics ? new ServerMetrics(() => server?.stats) : undefined;
	const report = new ConnectionReport(log, { ...config, metrics });

	// Listening for the reasons to stop comes first: a signal during start-up drains like any other.
	// A second signal means: stop now.
	const stop = listenForStop((signal) => {
		if (!config.quiet) log.note(`${signal} again, exiting without draining`);
		process.exit(signal === "SIGINT" ? 130 : 143);
	});
	worker?.attach(stop, metrics ? () => metrics.snapshot() : undefined);
	// Stopping a launcher (npx, bun run) by its PID must not leave this server running as an orphan.
	const unwatch = worker ? () => {} : watchParents((pid) => stop.stop(`parent process ${pid} exited`));

	const faultSeed = (worker ? worker.settings.faultSeed : config.faultSeed) ?? Math.floor(Math.random() * 4294967296);
	let listener: Listener | undefined;
	let udp: UdpService | undefined;
	let tls: ServedTls | undefined;
	try {
		tls = config.tls ? await prepareTls(config.tls, config.host) : undefined;
		// A supervisor says these once for all its workers.
		if (tls && !worker) for (const warning of tlsWarnings(tls, config.proxyProtocol)) log.warning(warning);
		for (let attempt = 1; ; attempt++) {
			if (config.udp?.mode !== "only") listener = await driver.listen(listenOptions());
			if (!config.udp) break;
			const port = listener?.address.transport === "tcp" ? listener.address.port : config.port;
			try {
				udp = await startUdp(config.udp, await loadDatagramDriver(driver.name), {
					...config,
					port,
					seed: faultSeed,
					log,
				});
				metrics?.datagrams(() => udp?.stats());
				break;
			} catch (error) {
				// Port 0 let the OS choose TCP's port, and that UDP port may be taken: choose again.
				const retry = error instanceof ListenError && error.reason === "address-in-use" && config.port === 0;
				if (!retry || !listener || attempt === 5) throw error;
				await listener.close();
			}
		}
	} catch (error) {
		if (error instanceof ListenError || error instanceof TlsSetupError) {
			// One line from the supervisor, as from a single process, however many workers hit it.
			if (worker) await worker.failed(error.message);
			else log.error(error.message);
			return 1;
		}
		throw error;
	}

	function listenOptions(): ListenOptions {
		return {
			// Behind a PROXY header the handshake follows the header, so TLS is a layer over the connection.
			...(tls && !config.proxyProtocol ? { tls: tls.options } : {}),
			...(config.unix
				? { path: config.unix }
				: { host: config.host, port: worker?.settings.port ?? config.port, reusePort: worker?.settings.reusePort }),
			maxConnections: Math.min(userCap, fdCap),
			onRefuse(remote) {
				if (capByUser) {
					report.refused(remote, "max-connections", `max connections (${userCap}) reached`);
					return;
				}
				refusedSinceWarning++;
				report.refused(remote, "file-descriptors", "out of file descriptors");
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
			},
		};
	}

	const base = config.hexdump !== undefined ? dumpingEcho(log, config.hexdump) : echo;
	const faulty = withFaults(base, config.faults, {
		seed: faultSeed,
		onChoice: (connection, faults) => report.faultsChosen(connection, faults),
	});
	const onLayer = (inner: Connection, outer: Connection) => report.layered(inner, outer);
	const secured = tls && config.proxyProtocol ? withTls(faulty, tls.options, { onLayer }) : faulty;
	const handler = config.proxyProtocol
		? withProxyProtocol(secured, { timeout: config.proxyHeaderTimeout, onHeader: onLayer })
		: faulty;
	server =
		listener &&
		serve(listener, handler, {
			idleTimeout: config.idleTimeout,
			sendTimeout: config.sendTimeout,
			onError(error, connection) {
				log.error(`${formatAddress(connection.remote)}: ${String(error)}`);
			},
			onClose: (connection, info) => report.closed(connection, info),
		});

	let endpoint: MetricsEndpoint | undefined;
	const address = listener?.address ?? (udp as UdpService).address;
	if (worker) {
		// Workers serve TCP only.
		worker.listening((listener as Listener).address);
	} else {
		try {
			if (config.metrics) {
				const registry = (metrics as ServerMetrics).registry;
				endpoint = await serveMetrics(config.metrics.host, config.metrics.port, () => registry.metrics());
			}
			if (config.readyFile !== undefined) {
				writeReadyFile(config.readyFile, address, {
					...(endpoint ? { metrics: endpoint.url } : {}),
					...(udp ? { udp: formatUdpAddress(udp.address) } : {}),
				});
			}
		} catch (error) {
			log.error((error as Error).message);
			await Promise.all([server?.shutdown({ timeout: 0 }), udp?.stop(0)]);
			return 1;
		}
		log.listening({
			address,
			driver: driver.name,
			runtime: runtimeName,
			faults: config.faults.length > 0 ? { faults: [...report.faultCounts.keys()], seed: faultSeed } : undefined,
			proxyProtocol: config.proxyProtocol,
			metrics: endpoint?.url,
			tls: tls && listener && tlsLine(listener.address, tls, config.tls?.clientAuth === true),
			udp: udp?.line,
		});
	}

	const reason = await stop.reason;
	unwatch();

	if (config.verbose) {
		const what = server ? plural(server.connections.size, "connection") : "UDP";
		log.note(`${reason}: draining ${what} for up to ${formatDuration(config.drainTimeout)}`);
	}
	const [result, udpStats] = await Promise.all([
		server?.shutdown({ timeout: config.drainTimeout }),
		udp?.stop(config.drainTimeout),
	]);
	await endpoint?.close();
	const summary =
		server && listener && result
			? report.summary({
					accepted: server.stats.accepted,
					bytesOut: server.stats.bytesOut,
					refused: listener.refusedCount,
					aborted: result.aborted,
				})
			: undefined;
	if (worker) await worker.finish(summary as SummaryLine);
	else log.summary(summary, udpStats);
	return 0;
}
