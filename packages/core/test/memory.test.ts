import { describe, test } from "node:test";
import { MemoryDriver } from "../src/index.ts";
import { conformance, seededRandom } from "../src/testing/index.ts";

describe("MemoryDriver conformance, fixed chunks", () => {
	// The memory driver has no sockets, so it is its own client.
	const driver = new MemoryDriver();
	for (const c of conformance({ driver, client: driver, maxReadChunk: 64 * 1024 }))
		test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
});

describe("MemoryDriver conformance, random chunks", () => {
	const next = seededRandom(1);
	const driver = new MemoryDriver({ chunkSize: () => 1 + Math.floor(next() * 40_000) });
	for (const c of conformance({ driver, client: driver, maxReadChunk: 40_000 }))
		test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
});
