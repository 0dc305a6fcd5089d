import { describe, test } from "bun:test";
import { faultProperties } from "@echo-cli/core/testing/properties";
import { BunDriver } from "../src/index.ts";

describe(`fault stages, BunDriver on Bun ${Bun.version}`, () => {
	for (const c of faultProperties({ driver: new BunDriver(), maxReadChunk: 512 * 1024 }))
		test(c.name, c.run, c.timeout);
});
