import { describe, test } from "node:test";
import { MemoryDriver } from "../src/index.ts";
import { seededRandom } from "../src/testing/index.ts";
import { properties } from "../src/testing/properties/index.ts";

describe("echo properties over MemoryDriver", () => {
	const next = seededRandom(2);
	const driver = new MemoryDriver({ chunkSize: () => 1 + Math.floor(next() * 100_000) });
	for (const c of properties({ driver, client: driver, maxReadChunk: 100_000, numRuns: 100 }))
		test(c.name, { timeout: c.timeout }, c.run);
});
