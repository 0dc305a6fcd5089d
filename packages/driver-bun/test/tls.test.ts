import { describe, test } from "bun:test";
import { referenceTlsClient, tlsConformance, tlsFixture } from "@echo-cli/core/testing";
import { properties } from "@echo-cli/core/testing/properties";
import { BunDriver } from "../src/index.ts";

const fixture = await tlsFixture();

describe(`BunDriver over Bun.listen's tls on Bun ${Bun.version}`, () => {
	for (const c of tlsConformance({ driver: new BunDriver(), maxReadChunk: 512 * 1024, fixture }))
		(c.gap ? test.skip : test)(c.name, c.run, c.timeout);
});

describe(`echo properties over TLS, BunDriver on Bun ${Bun.version}`, () => {
	const listen = { tls: { cert: fixture.server.cert, key: fixture.server.key } };
	const client = referenceTlsClient({ ca: fixture.ca.cert });
	for (const c of properties({ driver: new BunDriver(), maxReadChunk: 512 * 1024, listen, client, numRuns: 30 }))
		test(c.name, c.run, c.timeout);
});
