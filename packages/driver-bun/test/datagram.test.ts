import { describe, test } from "bun:test";
import { datagramConformance } from "@echo-cli/core/testing";
import { datagramProperties } from "@echo-cli/core/testing/properties";
import { BunDatagramDriver } from "../src/index.ts";

describe(`BunDatagramDriver conformance on Bun ${Bun.version}`, () => {
	for (const c of datagramConformance({ driver: new BunDatagramDriver() }))
		(c.gap ? test.skip : test)(c.name, c.run, c.timeout);
});

describe(`datagram properties, BunDatagramDriver on Bun ${Bun.version}`, () => {
	for (const c of datagramProperties({ driver: new BunDatagramDriver() })) test(c.name, c.run, c.timeout);
});
