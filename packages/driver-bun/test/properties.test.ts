import { describe, test } from "bun:test";
import { properties } from "@echo-cli/core/testing/properties";
import { BunDriver } from "../src/index.ts";

describe(`echo properties, BunDriver on Bun ${Bun.version}`, () => {
	for (const c of properties({ driver: new BunDriver(), maxReadChunk: 512 * 1024 })) test(c.name, c.run, c.timeout);
});
