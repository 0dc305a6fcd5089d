import { describe, test } from "node:test";
import { faultProperties } from "@echo-cli/core/testing/properties";
import { NodeDriver } from "../src/index.ts";
import { onBun, runtime } from "./runtime.ts";

describe(`fault stages, NodeDriver on ${runtime}`, () => {
	const driver = new NodeDriver();
	for (const c of faultProperties({ driver, maxReadChunk: onBun ? 512 * 1024 : 64 * 1024 }))
		test(c.name, { timeout: c.timeout }, c.run);
});
