import { describe, test } from "bun:test";
import { conformance } from "@echo-cli/core/testing";
import { BunDriver } from "../src/index.ts";

describe(`BunDriver conformance on Bun ${Bun.version}`, () => {
	// Bun.listen hands over up to 512 KiB per data callback.
	for (const c of conformance({ driver: new BunDriver(), maxReadChunk: 512 * 1024 }))
		(c.gap ? test.skip : test)(c.name, c.run, c.timeout);
});
