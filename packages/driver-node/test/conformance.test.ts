import { describe, test } from "node:test";
import { conformance } from "@echo-cli/core/testing";
import { NodeDriver } from "../src/index.ts";
import { DENO_NODE_NET_MARK, onDeno, runtime } from "./runtime.ts";

describe(`NodeDriver conformance on ${runtime}`, () => {
	// Node reads at most 64 KiB per event; Bun's node:net up to 512 KiB.
	const maxReadChunk = runtime.startsWith("Bun") ? 512 * 1024 : 64 * 1024;
	const gaps: Record<string, string> = onDeno
		? { "a client that never reads: server queues stay under the high-water mark plus one chunk": DENO_NODE_NET_MARK }
		: {};
	for (const c of conformance({ driver: new NodeDriver(), maxReadChunk, gaps }))
		test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
});
