import { type Address, describeFault } from "@echo-cli/core";
import { Counter, Gauge, Registry } from "prom-client";
import { formatDuration } from "../format.ts";
import type { Logger, SummaryLine } from "../log.ts";
import type { MetricsSnapshot } from "../metrics.ts";
import { type MetricsEndpoint, serveMetrics } from "../metrics-endpoint.ts";
import type { ServeConfig } from "../options.ts";
import { watchParents } from "../parent.ts";
import { writeReadyFile } from "../ready-file.ts";
import { runtimeName } from "../runtime.ts";
import { listenForStop } from "../signals.ts";
import { prepareTls, type ServedTls, TlsSetupError, tlsLine, tlsWarnings } from "../tls.ts";
import type { WorkerSettings } from "./messages.ts";
import { type Sharing, spawnWorker, type WorkerProcess } from "./spawn.ts";
import { sumMetrics, sumSummaries } from "./sum.ts";

/** Workers that die before listening this many times in a row: the supervisor gives up. */
const START_FAILURES = 5;
const FIRST_BACKOFF = 100;
const MAX_BACKOFF = 5000;
/** Deaths within this window make the next restart wait longer. */
const BACKOFF_WINDOW = 10_000;
/** How long a scrape waits for the workers' metrics; a worker that does not answer is left out. */
const METRICS_WAIT = 1000;
/** Past the drain timeout, how long workers get to report and exit before they are killed. */
const EXIT_GRACE = 5000;

interface Slot {
	readonly index: number;
	worker: WorkerProcess | undefined;
	listening: boolean;
	/** Why its worker could not start, as the worker said. */
	failure: string | undefined;
	exited: Promise<void>;
}

/**
 * Runs `config.workers` worker processes on one address and stands for them:
 * one banner, one summary, one metrics endpoint summing theirs. A worker
 * that dies is logged and restarted with backoff; when workers keep dying
 * before they listen, the supervisor stops the rest and exits 1. SIGINT and
 * SIGTERM drain every worker; a second one ends them at once.
 */
export async function superviseCommand(
	config: ServeConfig,
	argv: readonly string[],
	driver: string,
	sharing: Sharing,
	log: Logger,
): Promise<number> {
	const count = config.workers ?? 1;
	const script = process.argv[1] as string;
	// Checked here too, so that a bad file is one line before any worker starts; the banner describes it.
	let tls: ServedTls | undefined;
	try {
		tls = config.tls ? await prepareTls(config.tls, config.host) : undefined;
	} catch (error) {
		if (!(error instanceof TlsSetupError)) throw error;
		log.error(error.message);
		return 1;
	}
	if (tls) for (const warning of tlsWarnings(tls, config.proxyProtocol)) log.warning(warning);
	const faultSeed = config.faults.length > 0 ? (config.faultSeed ?? Math.floor(Math.random() * 4294967296)) : undefined;
	const summaries: SummaryLine[] = [];
	const pendingMetrics = new Map<number, (snapshot: MetricsSnapshot) => void>();
	let nextMetricsId = 0;
	let stopping = false;
	let startFailures = 0;
	const deaths: number[] = [];
	const restartTimers = new Set<ReturnType<typeof setTimeout>>();

	const own = new Registry();
	new Gauge({ name: "echo_workers", help: "Worker processes asked for.", registers: [own] }).set(count);
	new Gauge({
		name: "echo_workers_listening",
		help: "Worker processes listening now.",
		registers: [own],
		collect() {
			this.set(slots.filter((s) => s.listening).length);
		},
	});
	const restarts = new Counter({
		name: "echo_worker_restarts_total",
		help: "Workers restarted after they died.",
		registers: [own],
	});

	const stop = listenForStop((signal) => {
		if (!config.quiet) log.note(`${signal} again, exiting without draining`);
		for (const slot of slots) slot.worker?.kill("SIGKILL");
		process.exit(signal === "SIGINT" ? 130 : 143);
	});
	const unwatch = watchParents((pid) => stop.stop(`parent process ${pid} exited`));

	const settings = (index: number, port: number): WorkerSettings => ({
		index,
		port,
		reusePort: sharing === "SO_REUSEPORT",
		maxConnections: share(config.maxConnections, count, index),
		faultSeed: faultSeed === undefined ? undefined : (faultSeed + index) >>> 0,
	});

	/** Starts a worker in `slot`; resolves to its address once it listens, or to its exit status if it dies first. */
	const start = (slot: Slot, port: number): Promise<Address | number> =>
		new Promise((resolve) => {
			const worker = spawnWorker(sharing, script, argv, settings(slot.index, port));
			slot.worker = worker;
			slot.listening = false;
			slot.failure = undefined;
			let exit: () => void = () => {};
			slot.exited = new Promise((r) => {
				exit = r;
			});
			worker.onMessage((message) => {
				if (message.type === "listening") {
					slot.listening = true;
					startFailures = 0;
					resolve(message.address);
				} else if (message.type === "failed") {
					slot.failure = message.message;
				} else if (message.type === "summary") {
					summaries.push(message.summary);
				} else {
					pendingMetrics.get(message.id)?.(message.snapshot);
				}
			});
			// After the messages it sent just before it exited: 'exit' can overtake them.
			worker.onExit((code, signal) => setImmediate(() => exited(code, signal)));
			const exited = (code: number | null, signal: NodeJS.Signals | null) => {
				const listened = slot.listening;
				slot.worker = undefined;
				slot.listening = false;
				exit();
				resolve(code ?? 1);
				if (stopping || !started) return;
				const how = code === null ? `was killed by ${signal}` : `exited with status ${code}`;
				died(slot, worker.pid, listened, slot.failure ? `${how}: ${slot.failure}` : how);
			};
		});

	const died = (slot: Slot, pid: number | undefined, listened: boolean, how: string) => {
		if (!listened && ++startFailures >= START_FAILURES) {
			log.error(`workers keep dying before they listen (${startFailures} in a row); giving up`);
			exitStatus = 1;
			stop.stop("workers keep dying");
			return;
		}
		const now = performance.now();
		deaths.push(now);
		while ((deaths[0] ?? now) < now - BACKOFF_WINDOW) deaths.shift();
		const delay = Math.min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (deaths.length - 1));
		log.warning(`worker ${slot.index} (pid ${pid}) ${how}; restarting it in ${formatDuration(delay)}`);
		const timer = setTimeout(() => {
			restartTimers.delete(timer);
			if (stopping) return;
			restarts.inc();
			void start(slot, port);
		}, delay);
		restartTimers.add(timer);
	};

	const slots: Slot[] = Array.from({ length: count }, (_, index) => ({
		index,
		worker: undefined,
		listening: false,
		failure: undefined,
		exited: Promise.resolve(),
	}));
	let started = false;
	let exitStatus = 0;

	const collect = async (): Promise<string> => {
		const asked = slots.filter((s) => s.listening && s.worker);
		const snapshots = await Promise.all(
			asked.map(
				(slot) =>
					new Promise<MetricsSnapshot | undefined>((resolve) => {
						const id = nextMetricsId++;
						const timer = setTimeout(() => {
							pendingMetrics.delete(id);
							resolve(undefined);
						}, METRICS_WAIT);
						pendingMetrics.set(id, (snapshot) => {
							clearTimeout(timer);
							pendingMetrics.delete(id);
							resolve(snapshot);
						});
						slot.worker?.send({ type: "metrics", id });
					}),
			),
		);
		return sumMetrics(
			snapshots.filter((s) => s !== undefined),
			own,
		);
	};

	// Before any worker starts: a metrics address in use is a start-up error like the echo address.
	let endpoint: MetricsEndpoint | undefined;
	try {
		if (config.metrics) endpoint = await serveMetrics(config.metrics.host, config.metrics.port, collect);
	} catch (error) {
		log.error((error as Error).message);
		return 1;
	}

	// The first worker binds what was asked for (port 0 included); the rest bind the port it got. Under
	// node:cluster every worker asks for the same port and the primary hands them one socket.
	const first = await start(slots[0] as Slot, config.port);
	if (typeof first === "number") {
		log.error(slots[0]?.failure ?? `the first worker exited with status ${first} before listening`);
		await endpoint?.close();
		return first === 0 ? 1 : first;
	}
	const port = sharing === "node:cluster" ? config.port : first.transport === "tcp" ? first.port : config.port;
	const rest = await Promise.all(slots.slice(1).map((slot) => start(slot, port)));
	const address = first;
	if (rest.some((r) => typeof r === "number")) {
		const failures = new Set(slots.map((s) => s.failure).filter((f) => f !== undefined));
		log.error(failures.size > 0 ? [...failures].join("; ") : "a worker could not start; stopping the others");
		stopping = true;
		await stopAll(slots, undefined, "a worker could not start", config.drainTimeout);
		await endpoint?.close();
		return 1;
	}
	started = true;

	try {
		if (config.readyFile !== undefined)
			writeReadyFile(config.readyFile, address, endpoint ? { metrics: endpoint.url } : {});
	} catch (error) {
		log.error((error as Error).message);
		stopping = true;
		await stopAll(slots, undefined, "start-up failed", 0);
		await endpoint?.close();
		return 1;
	}
	log.listening({
		address,
		driver,
		runtime: runtimeName,
		faults: faultSeed !== undefined ? { faults: config.faults.map(describeFault), seed: faultSeed } : undefined,
		proxyProtocol: config.proxyProtocol,
		workers: { count, sharing },
		metrics: endpoint?.url,
		tls: tls && tlsLine(address, tls, config.tls?.clientAuth === true),
	});

	const reason = await stop.reason;
	stopping = true;
	unwatch();
	for (const timer of restartTimers) clearTimeout(timer);
	if (config.verbose) log.note(`${reason}: draining ${count} workers for up to ${formatDuration(config.drainTimeout)}`);
	const signal = reason === "SIGINT" || reason === "SIGTERM" ? reason : undefined;
	await stopAll(slots, signal, reason, config.drainTimeout);
	await endpoint?.close();
	log.summary(sumSummaries(summaries));
	return exitStatus;
}

/** Asks every worker to drain (as `signal` would) and waits for them all to exit; kills the ones that outstay the drain. */
async function stopAll(
	slots: readonly Slot[],
	signal: "SIGINT" | "SIGTERM" | undefined,
	reason: string,
	drainTimeout: number,
): Promise<void> {
	for (const slot of slots) slot.worker?.send({ type: "stop", signal, reason });
	const all = Promise.all(slots.map((s) => s.exited));
	let timer: ReturnType<typeof setTimeout> | undefined;
	const late = new Promise<"late">((resolve) => {
		timer = setTimeout(() => resolve("late"), drainTimeout + EXIT_GRACE);
	});
	if ((await Promise.race([all, late])) === "late") {
		for (const slot of slots) slot.worker?.kill("SIGKILL");
		await all;
	}
	clearTimeout(timer);
}

/** Worker `index`'s part of `total`: the remainder goes to the first workers, so the parts add up to `total`. */
export function share(total: number | undefined, workers: number, index: number): number | undefined {
	if (total === undefined) return undefined;
	return Math.floor(total / workers) + (index < total % workers ? 1 : 0);
}
