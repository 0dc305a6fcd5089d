import { describe, test } from "bun:test";
import { tlsConformance, tlsFixture } from "@echo-cli/core/testing";
import { BunDriver } from "../src/index.ts";

const fixture = await tlsFixture();

describe(`BunDriver over Bun.listen's tls on Bun ${Bun.version}`, () => {
	for (const c of tlsConformance({ driver: new BunDriver(), maxReadChunk: 512 * 1024, fixture }))
		(c.gap ? test.skip : test)(c.name, c.run, c.timeout);
});
