import { describe, test } from "node:test";
import {
	DatagramGuard,
	describeDatagramFault,
	MemoryDatagramDriver,
	parseDatagramFault,
	serveDatagrams,
	udpAddress,
} from "../src/datagram/index.ts";
import { FaultSpecError } from "../src/index.ts";
import { check, datagramConformance, driverDatagramClient, pause } from "../src/testing/index.ts";
import { datagramFaultProperties, datagramProperties } from "../src/testing/properties/index.ts";

describe("MemoryDatagramDriver conformance", () => {
	// No real socket reaches the memory network, so its own sockets are the clients.
	const driver = new MemoryDatagramDriver();
	for (const c of datagramConformance({ driver, client: driverDatagramClient(driver) }))
		test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
});

describe("datagram properties over the memory driver", () => {
	const driver = new MemoryDatagramDriver();
	const client = driverDatagramClient(driver);
	for (const c of datagramProperties({ driver, client })) test(c.name, { timeout: c.timeout }, c.run);
	for (const c of datagramFaultProperties({ driver })) test(c.name, { timeout: c.timeout }, c.run);
});

const from = (port: number, host = "192.0.2.1") => udpAddress(host, port, "IPv4");

describe("DatagramGuard", () => {
	test("no reply to the classic small services' ports or to port 0; others pass", () => {
		const guard = new DatagramGuard();
		for (const port of [0, 7, 9, 13, 17, 19, 37]) check(guard.check(from(port)) === "reserved-port", `port ${port}`);
		for (const port of [1, 8, 20, 53, 1024, 40000]) check(guard.check(from(port)) === undefined, `port ${port}`);
	});

	test("a source gets a burst of `rate`, then `rate` per second; other sources are not affected", () => {
		const guard = new DatagramGuard({ rate: 10 });
		let passed = 0;
		for (let i = 0; i < 25; i++) if (guard.check(from(5000), 0) === undefined) passed++;
		check(passed === 10, `${passed} passed in the burst, expected 10`);
		check(guard.check(from(5000, "192.0.2.2"), 0) === undefined, "another source was limited");
		check(guard.check(from(5001), 0) === "rate-limit", "another port of the same address escaped the limit");
		// Half a second later: five tokens.
		passed = 0;
		for (let i = 0; i < 25; i++) if (guard.check(from(5000), 500) === undefined) passed++;
		check(passed === 5, `${passed} passed after 500 ms, expected 5`);
	});

	test("tracked sources are bounded: past maxSources, idle ones are forgotten, or new ones are refused", () => {
		const guard = new DatagramGuard({ rate: 1, maxSources: 2 });
		check(guard.check(from(5000, "192.0.2.1"), 0) === undefined, "first source");
		check(guard.check(from(5000, "192.0.2.2"), 0) === undefined, "second source");
		check(guard.check(from(5000, "192.0.2.3"), 0) === "rate-limit", "a third source while both others are busy");
		check(guard.check(from(5000, "192.0.2.3"), 2_000) === undefined, "a third source once the others are idle");
	});

	test("rate Infinity answers everything but reserved ports", () => {
		const guard = new DatagramGuard({ rate: Number.POSITIVE_INFINITY });
		for (let i = 0; i < 10_000; i++) check(guard.check(from(5000), 0) === undefined, `datagram ${i}`);
		check(guard.check(from(19), 0) === "reserved-port", "port 19");
	});
});

describe("serveDatagrams", () => {
	test("the guard's drops are counted by reason and reported; the rest is echoed", async () => {
		const driver = new MemoryDatagramDriver();
		const drops: string[] = [];
		const server = serveDatagrams(await driver.bind(), { guard: { rate: 3 }, onDrop: (reason) => drops.push(reason) });
		const client = await driver.bind();
		const reserved = await driver.bind({ port: 19 });
		for (let i = 0; i < 5; i++) client.send(Uint8Array.of(i), server.socket.address);
		reserved.send(Uint8Array.of(9), server.socket.address);
		await pause(20);
		const stats = await server.close();
		check(stats.received === 6, `received ${stats.received}`);
		check(stats.echoed === 3, `echoed ${stats.echoed}`);
		check(stats.dropped["rate-limit"] === 2 && stats.dropped["reserved-port"] === 1, JSON.stringify(stats.dropped));
		check(drops.join() === "rate-limit,rate-limit,reserved-port", drops.join());
		check(client.stats.received === 3 && reserved.stats.received === 0, "replies went to the wrong place");
		await client.close();
		await reserved.close();
	});

	test("close lets held replies go out within the timeout, then flushes the rest at once", async () => {
		const driver = new MemoryDatagramDriver();
		const server = serveDatagrams(await driver.bind(), { guard: false, faults: [{ kind: "latency", delay: 10_000 }] });
		const client = await driver.bind();
		client.send(Uint8Array.of(1), server.socket.address);
		await pause(10);
		check(server.held === 1, `held ${server.held}`);
		const stats = await server.close({ timeout: 50 });
		const held: number = server.held;
		check(stats.echoed === 1 && held === 0, `echoed ${stats.echoed}, held ${held}`);
		await pause(5);
		check(client.stats.received === 1, "the flushed reply did not arrive");
		await client.close();
	});
});

describe("datagram fault specs", () => {
	test("every spec reads back from its description", () => {
		for (const spec of [
			"drop=10%",
			"duplicate=0.5%",
			"reorder=4",
			"reorder=8,wait=1s",
			"latency=50ms,jitter=20ms",
			"latency=1s",
			"truncate=512",
			"truncate=1KiB",
		]) {
			const fault = parseDatagramFault(spec);
			check(
				describeDatagramFault(parseDatagramFault(describeDatagramFault(fault))) === describeDatagramFault(fault),
				spec,
			);
		}
	});

	test("a wrong spec names its wrong part", () => {
		for (const [spec, part] of [
			["drop=110%", "'110%' is not a share"],
			["drop=10", "'10' is not a share"],
			["reorder=1", "'1' is not a window"],
			["latency=fast", "'fast' is not a delay"],
			["truncate", "truncate needs a size"],
			["mangle=1", "unknown datagram fault 'mangle'; choose drop, duplicate, reorder, latency, truncate"],
			["drop=1%,x=2", "drop takes no 'x'"],
		] as const) {
			let error: unknown;
			try {
				parseDatagramFault(spec);
			} catch (caught) {
				error = caught;
			}
			check(error instanceof FaultSpecError && error.reason.startsWith(part), `${spec}: ${String(error)}`);
		}
	});
});
