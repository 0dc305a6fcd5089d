import { describe, test } from "node:test";
import { referenceTlsClient, tlsConformance, tlsFixture } from "@echo-cli/core/testing";
import { properties } from "@echo-cli/core/testing/properties";
import { DenoDriver, MAX_READ } from "../src/index.ts";
import { runtime } from "./runtime.ts";

const fixture = await tlsFixture();
/** The TLS socket hands over the plaintext of one read of the connection beneath: up to MAX_READ. */
const maxReadChunk = MAX_READ;
/** The pitfall test "DENO_NO_RESET" checks that this gap is still there. */
const gaps = {
	"over TLS: the driver's own client: exact echo, the server's FIN, and a reset seen as a typed error":
		"DENO_NO_RESET: Deno.Conn cannot send a reset, so the server's close(error) reaches the client as a FIN",
};

describe(`DenoDriver over node:tls on ${runtime}`, () => {
	for (const c of tlsConformance({ driver: new DenoDriver(), maxReadChunk, fixture, gaps }))
		test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
});

describe(`echo properties over TLS, DenoDriver on ${runtime}`, () => {
	const listen = { tls: { cert: fixture.server.cert, key: fixture.server.key } };
	const client = referenceTlsClient({ ca: fixture.ca.cert });
	for (const c of properties({ driver: new DenoDriver(), maxReadChunk, listen, client, numRuns: 30 }))
		test(c.name, { timeout: c.timeout }, c.run);
});
