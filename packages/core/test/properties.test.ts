import { describe, test } from "node:test";
import { MemoryDriver } from "../src/index.ts";
import { properties } from "../src/testing/properties/index.ts";

describe("echo properties over MemoryDriver", () => {
	const driver = new MemoryDriver({ chunkSize: () => 1 + Math.floor(Math.random() * 100_000) });
	for (const c of properties({ driver, maxReadChunk: 100_000, numRuns: 200 }))
		test(c.name, { timeout: c.timeout }, c.run);
});
