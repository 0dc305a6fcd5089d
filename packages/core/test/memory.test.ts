import { describe, test } from "node:test";
import { MemoryDriver } from "../src/index.ts";
import { conformance } from "../src/testing/index.ts";

describe("MemoryDriver conformance, fixed chunks", () => {
	for (const c of conformance({ driver: new MemoryDriver(), maxReadChunk: 64 * 1024 }))
		test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
});

describe("MemoryDriver conformance, random chunks", () => {
	const driver = new MemoryDriver({ chunkSize: () => 1 + Math.floor(Math.random() * 40_000) });
	for (const c of conformance({ driver, maxReadChunk: 40_000 }))
		test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
});
