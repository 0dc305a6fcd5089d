import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Connection, echo, type Fault, MemoryDriver, MisuseError, serve, withFaults } from "../src/index.ts";
import { assertBytes, pattern, readAll, within } from "../src/testing/index.ts";
import { faultProperties } from "../src/testing/properties/index.ts";

describe("fault stages over MemoryDriver", () => {
	const driver = new MemoryDriver();
	for (const c of faultProperties({ driver, client: driver, maxReadChunk: 64 * 1024 }))
		test(c.name, { timeout: c.timeout }, c.run);
});

/** A latency stage written naively: a timer per chunk, so a shorter delay overtakes a longer one. */
function reorderingLatency(): (connection: Connection) => Promise<void> {
	let n = 0;
	return (connection) =>
		new Promise((resolve) => {
			let pending = 0;
			let ended = false;
			const done = () => {
				if (ended && pending === 0) connection.end().then(resolve, resolve);
			};
			connection.receive({
				data(chunk) {
					pending++;
					setTimeout(
						() => {
							connection.send(chunk);
							pending--;
							done();
						},
						n++ % 2 === 0 ? 6 : 0,
					);
				},
				end() {
					ended = true;
					done();
				},
			});
		});
}

describe("the fault properties catch broken stages", () => {
	// Fixed seeds, so that each demonstration repeats exactly.
	const parameters = { seed: 42, numRuns: 30 };
	const driver = new MemoryDriver({ chunkSize: 4096 });
	const failing = async (
		name: string,
		faulty: (faults: readonly Fault[], seed: number) => ReturnType<typeof withFaults>,
	) => {
		const c = faultProperties({ driver, client: driver, maxReadChunk: 4096, parameters, faulty }).find((p) =>
			p.name.startsWith(name),
		);
		assert.ok(c, `no property named ${name}`);
		await assert.rejects(c.run(), /Property failed/);
	};

	test("a latency stage that reorders chunks fails exactness", () =>
		failing("latency, bandwidth", () => reorderingLatency()));

	test("a latency stage that holds bytes without backpressure fails the memory bound", () =>
		failing("a client that never reads", () => reorderingLatency()));

	test("a limit stage that lets N+1 bytes through fails the limit property", () =>
		failing("limit", (faults, seed) =>
			withFaults(
				(c: Connection) =>
					new Promise<void>((resolve) =>
						c.receive({ data: (chunk) => void c.send(chunk), end: () => void c.end().then(resolve, resolve) }),
					),
				faults.map((f) => (f.kind === "limit" ? { ...f, bytes: f.bytes + 1 } : f)),
				{ seed },
			),
		));

	test("a reset stage that lets N+1 bytes through fails the reset property", () =>
		failing("reset", (faults, seed) =>
			withFaults(
				(c: Connection) =>
					new Promise<void>((resolve) =>
						c.receive({ data: (chunk) => void c.send(chunk), end: () => void c.end().then(resolve, resolve) }),
					),
				faults.map((f) => (f.kind === "reset" && f.bytes !== undefined ? { ...f, bytes: f.bytes + 1 } : f)),
				{ seed },
			),
		));

	test("a chooser that ignores the seed fails reproducibility", () => {
		let calls = 0;
		return failing("the same seed", (faults) => withFaults(echoOf(), faults, { seed: calls++ }));
	});
});

function echoOf() {
	return (c: Connection) =>
		new Promise<void>((resolve) =>
			c.receive({ data: (chunk) => void c.send(chunk), end: () => void c.end().then(resolve, resolve) }),
		);
}

test("with no faults, withFaults returns the handler itself: no cost", async () => {
	const { echo } = await import("../src/index.ts");
	assert.equal(withFaults(echo, []), echo);
	const listener = await new MemoryDriver().listen({});
	serve(listener, withFaults(echo, [])).abort();
});

describe("withFaults over the shared connection base", () => {
	test("keeps a receiver such as echo on the push path: the handler returns nothing to wait for", async () => {
		const driver = new MemoryDriver();
		const listener = await driver.listen({});
		const results: unknown[] = [];
		const faulty = withFaults(echo, [{ kind: "latency", delay: 0 }]);
		const server = serve(listener, (connection) => {
			const result = (faulty as (c: Connection) => Promise<void> | void)(connection);
			results.push(result);
			return result;
		});
		const c = await driver.connect(listener.address);
		const payload = pattern(1, 100_000);
		void c.write(payload).then(() => c.end());
		assertBytes(await within(readAll(c), 2000, "no echo through the faults"), payload, "the echo through latency=0");
		assert.deepEqual(results, [undefined]);
		await server.abort();
	});

	test("misuse errors are the base connection's, word for word", async () => {
		const driver = new MemoryDriver();
		const listener = await driver.listen({});
		const seen: { plain?: unknown; faulty?: unknown } = {};
		const writeAfterEnd = (key: "plain" | "faulty") => async (connection: Connection) => {
			await connection.end();
			seen[key] = await connection.write(Uint8Array.of(1)).catch((error: unknown) => error);
		};
		const plain = serve(listener, writeAfterEnd("plain"));
		await readAll(await driver.connect(listener.address));
		await plain.abort();
		const second = await driver.listen({});
		const faulty = serve(second, withFaults(writeAfterEnd("faulty"), [{ kind: "slicer", min: 1, max: 4 }]));
		await readAll(await driver.connect(second.address));
		await faulty.abort();
		assert.ok(seen.plain instanceof MisuseError && seen.faulty instanceof MisuseError);
		assert.equal(seen.faulty.message, seen.plain.message);
		assert.equal(seen.faulty.reason, "write-after-end");
	});
});
