import { describe, test } from "node:test";
import { properties } from "@echo-cli/core/testing/properties";
import { DenoDriver, MAX_READ } from "../src/index.ts";
import { runtime } from "./runtime.ts";

describe(`echo properties, DenoDriver on ${runtime}`, () => {
	for (const c of properties({ driver: new DenoDriver(), maxReadChunk: MAX_READ }))
		test(c.name, { timeout: c.timeout }, c.run);
});
