import { describe, test } from "node:test";
import { referenceTlsClient, tlsConformance, tlsFixture } from "@echo-cli/core/testing";
import { properties } from "@echo-cli/core/testing/properties";
import { NodeDriver } from "../src/index.ts";
import { onBun, runtime } from "./runtime.ts";

const fixture = await tlsFixture();

/**
 * On Node the server's TLS socket keeps the stream's default mark (16 KiB on Node 20) and
 * applies backpressure there: given a larger `highWaterMark`, a TLS socket that queued more
 * than that keeps Node 20 from ever finishing its exit (the handle cleanup at exit loops).
 */
const gaps: Record<string, string> = onBun
	? {}
	: {
			"over TLS: a client that never reads: server queues stay under the high-water mark plus one chunk":
				"NODE_TLS_DEFAULT_MARK: node:tls server sockets push back at the stream default, below the mark",
			"over TLS: a client that never reads: server queues stay under the high-water mark plus one chunk (echo by read/write)":
				"NODE_TLS_DEFAULT_MARK: node:tls server sockets push back at the stream default, below the mark",
		};

describe(`NodeDriver over node:tls on ${runtime}`, () => {
	// Node reads at most 64 KiB per event; Bun's node:tls up to 512 KiB.
	const maxReadChunk = onBun ? 512 * 1024 : 64 * 1024;
	for (const c of tlsConformance({ driver: new NodeDriver(), maxReadChunk, fixture, gaps }))
		test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
});

describe(`echo properties over TLS, NodeDriver on ${runtime}`, () => {
	const listen = { tls: { cert: fixture.server.cert, key: fixture.server.key } };
	const client = referenceTlsClient({ ca: fixture.ca.cert });
	const maxReadChunk = onBun ? 512 * 1024 : 64 * 1024;
	for (const c of properties({ driver: new NodeDriver(), maxReadChunk, listen, client, numRuns: 30 }))
		test(c.name, { skip: gaps[`properties: ${c.name}`], timeout: c.timeout }, c.run);
});
