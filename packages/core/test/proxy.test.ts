/**
 * The PROXY-protocol reader, against the examples of HAProxy's
 * proxy-protocol.txt, and behind it the echo, byte for byte.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
	type Connection,
	ConnectionError,
	echo,
	encodeProxyHeader,
	MemoryDriver,
	parseProxyHeader,
	serve,
	type TcpAddress,
	withFaults,
	withProxyProtocol,
} from "../src/index.ts";
import { assertBytes, pattern, readAll, within } from "../src/testing/index.ts";

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const tcp = (host: string, port: number, family: "IPv4" | "IPv6" = "IPv4"): TcpAddress => ({
	transport: "tcp",
	host,
	port,
	family,
});
const V2 = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const v2 = (command: number, family: number, body: number[]) =>
	Uint8Array.from([...V2, command, family, body.length >> 8, body.length & 0xff, ...body]);

describe("parseProxyHeader: the spec's examples", () => {
	test("v1 TCP4, with the bytes after it left alone", () => {
		const header = ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
		const parsed = parseProxyHeader(Uint8Array.from([...header, 0x47, 0x45, 0x54]));
		assert.deepEqual(parsed, {
			header: {
				version: 1,
				command: "proxy",
				source: tcp("192.168.0.1", 56324),
				destination: tcp("192.168.0.11", 443),
			},
			length: header.length,
		});
	});

	test("v1 TCP6, and the worst case: UNKNOWN with the longest addresses is 107 bytes", () => {
		const longest = "ffff:f...f:ffff".replace("f...f", "ffff:ffff:ffff:ffff:ffff:ffff");
		const tcp6 = parseProxyHeader(ascii(`PROXY TCP6 ${longest} ${longest} 65535 65535\r\n`));
		assert.ok("header" in tcp6 && tcp6.header.command === "proxy");
		assert.deepEqual(tcp6.header.source, tcp(longest, 65535, "IPv6"));
		const worst = ascii(`PROXY UNKNOWN ${longest} ${longest} 65535 65535\r\n`);
		assert.equal(worst.length, 107);
		assert.deepEqual(parseProxyHeader(worst), { header: { version: 1, command: "local" }, length: 107 });
		assert.deepEqual(parseProxyHeader(ascii("PROXY UNKNOWN\r\n")), {
			header: { version: 1, command: "local" },
			length: 15,
		});
	});

	test("v2 LOCAL, and UNSPEC: the connection's own addresses stand", () => {
		assert.deepEqual(parseProxyHeader(v2(0x20, 0x00, [])), { header: { version: 2, command: "local" }, length: 16 });
		assert.deepEqual(parseProxyHeader(v2(0x21, 0x00, [1, 2, 3])), {
			header: { version: 2, command: "local" },
			length: 19,
		});
	});

	test("v2 TCP over IPv4, its TLVs skipped", () => {
		// 10.0.0.1:1000 -> 10.0.0.2:2000, then a PP2_TYPE_ALPN TLV ("h2") and a NOOP TLV.
		const body = [10, 0, 0, 1, 10, 0, 0, 2, 0x03, 0xe8, 0x07, 0xd0, 0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x00];
		assert.deepEqual(parseProxyHeader(v2(0x21, 0x11, body)), {
			header: { version: 2, command: "proxy", source: tcp("10.0.0.1", 1000), destination: tcp("10.0.0.2", 2000) },
			length: 16 + body.length,
		});
	});

	test("v2 TCP over IPv6, written in its short form", () => {
		const source = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1];
		const destination = [...new Array(15).fill(0), 1];
		const parsed = parseProxyHeader(v2(0x21, 0x21, [...source, ...destination, 0, 80, 1, 187]));
		assert.ok("header" in parsed && parsed.header.command === "proxy");
		assert.deepEqual(parsed.header.source, tcp("2001:db8::1", 80, "IPv6"));
		assert.deepEqual(parsed.header.destination, tcp("::1", 443, "IPv6"));
	});

	test("v2 unix stream: the paths up to their NUL", () => {
		const path = (text: string) => [...ascii(text), ...new Array(108 - text.length).fill(0)];
		const parsed = parseProxyHeader(v2(0x21, 0x31, [...path("/run/client.sock"), ...path("/run/echo.sock")]));
		assert.deepEqual(parsed, {
			header: {
				version: 2,
				command: "proxy",
				source: { transport: "unix", path: "/run/client.sock" },
				destination: { transport: "unix", path: "/run/echo.sock" },
			},
			length: 16 + 216,
		});
	});

	test("bad headers say what is wrong", () => {
		const cases: [Uint8Array, RegExp][] = [
			[ascii("GET / HTTP/1.1\r\n"), /no PROXY header/],
			[ascii("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), /protocol 'UDP4'/],
			[ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), /exactly two addresses/],
			[ascii("PROXY TCP4 ::1 ::1 1 2\r\n"), /'::1', not an IPv4 address/],
			[ascii("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), /port '65536'/],
			[ascii(`PROXY TCP4 ${"1".repeat(120)}`), /without CRLF in its first 107 bytes/],
			[v2(0x11, 0x11, []), /version 1 \(expected 2\)/],
			[v2(0x22, 0x11, []), /command 2/],
			[v2(0x21, 0x12, new Array(12).fill(0)), /family and protocol 0x12/],
			[v2(0x21, 0x21, new Array(12).fill(0)), /IPv6 header shorter than its addresses/],
		];
		for (const [bytes, reason] of cases) {
			const parsed = parseProxyHeader(bytes);
			assert.ok("error" in parsed, `accepted ${JSON.stringify(parsed)}`);
			assert.match(parsed.error, reason);
		}
	});

	test("every prefix of a valid header needs more, never an error", () => {
		for (const header of [
			ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
			encodeProxyHeader(2, tcp("2001:db8::1", 80, "IPv6"), tcp("::1", 443, "IPv6"), Uint8Array.of(4, 0, 1, 9)),
		]) {
			for (let n = 0; n < header.length; n++) {
				const parsed = parseProxyHeader(header.subarray(0, n));
				assert.ok("need" in parsed, `at ${n} bytes: ${JSON.stringify(parsed)}`);
				// Never more than the header itself, never what is already there: the reader waits for exactly enough.
				assert.ok(parsed.need > n && parsed.need <= header.length, `at ${n} bytes, need ${parsed.need}`);
			}
			assert.ok("header" in parseProxyHeader(header));
		}
	});
});

/** Serves `withProxyProtocol(echo)` on the memory driver; the remotes the handler saw are kept. */
async function proxiedEcho(timeout?: number) {
	const driver = new MemoryDriver();
	const listener = await driver.listen({});
	const seen: { remote?: TcpAddress | undefined; proxy?: unknown; closed: Connection[] } = { closed: [] };
	const server = serve(
		listener,
		withProxyProtocol(echo, {
			...(timeout ? { timeout } : {}),
			onHeader(_, served) {
				seen.remote = served.remote as TcpAddress;
				seen.proxy = served.proxy;
			},
		}),
		{ onClose: (connection) => seen.closed.push(connection) },
	);
	return { driver, listener, server, seen };
}

/** The error of the first connection to close, within 2 s. */
async function firstClosed(closed: Connection[]) {
	const started = Date.now();
	while (closed.length === 0) {
		if (Date.now() - started > 2000) throw new Error("no connection closed within 2 s");
		await new Promise((r) => setTimeout(r, 5));
	}
	return (closed[0] as Connection).error;
}

const addressArb = fc.oneof(
	fc
		.tuple(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }))
		.map(([a, b, p, q]) => [tcp(a, p), tcp(b, q)] as const),
	fc
		.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }))
		.map(([p, q]) => [tcp("2001:db8::7", p, "IPv6"), tcp("fe80::1:2", q, "IPv6")] as const),
);

describe("withProxyProtocol", () => {
	test("property: any header, any payload, any chunking: the payload comes back exactly, from the header's client", async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.constantFrom(1 as const, 2 as const),
				addressArb,
				fc.uint8Array({ maxLength: 5000 }),
				fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 }),
				async (version, [source, destination], payload, cuts) => {
					const { driver, listener, server, seen } = await proxiedEcho();
					try {
						const client = await driver.connect(listener.address);
						const stream = Uint8Array.from([...encodeProxyHeader(version, source, destination), ...payload]);
						const echoed = readAll(client);
						let at = 0;
						for (let i = 0; at < stream.length; i++) {
							const size = cuts[i % cuts.length] as number;
							await client.write(stream.subarray(at, at + size));
							at += size;
						}
						await client.end();
						assertBytes(await within(echoed, 2000, "no echo"), payload, "the echo behind the header");
						assert.deepEqual(seen.remote, source);
						assert.equal((seen.proxy as TcpAddress).host, listener.address.host);
					} finally {
						await server.abort();
					}
				},
			),
			{ numRuns: 150 },
		);
	});

	for (const [name, bytes, reason] of [
		["a bad header", ascii("PROXY TCP9 x\r\nsecret"), /bad PROXY header: .*'TCP9'/],
		["a peer that closes inside the header", ascii("PROXY TCP4 1.2."), /closed after 15 bytes/],
		["plain data", pattern(1, 64), /no PROXY header/],
	] as const) {
		test(`${name}: closed with the reason, nothing echoed, the handler never runs`, async () => {
			const { driver, listener, server, seen } = await proxiedEcho();
			try {
				const client = await driver.connect(listener.address);
				const echoed = readAll(client).catch((error: unknown) => error);
				// The server may reset the connection before the client is done: that is the point.
				await client.write(bytes).catch(() => {});
				await client.end().catch(() => {});
				const result = await within(echoed, 2000, "the connection stayed open");
				assert.ok(result instanceof Uint8Array ? result.byteLength === 0 : result instanceof ConnectionError);
				const error = await firstClosed(seen.closed);
				assert.equal(error?.reason, "protocol");
				assert.match(error?.message ?? "", reason);
				assert.equal(seen.remote, undefined);
			} finally {
				await server.abort();
			}
		});
	}

	test("a function handler that returns nothing keeps its connection: faults work behind the header", async () => {
		const driver = new MemoryDriver();
		const listener = await driver.listen({});
		const server = serve(listener, withProxyProtocol(withFaults(echo, [{ kind: "latency", delay: 10 }])));
		try {
			const client = await driver.connect(listener.address);
			const echoed = readAll(client);
			const header = encodeProxyHeader(1, tcp("9.9.9.9", 1), tcp("1.1.1.1", 2));
			await client.write(Uint8Array.from([...header, ...pattern(5, 3000)]));
			await client.end();
			assertBytes(
				await within(echoed, 2000, "no echo"),
				pattern(5, 3000),
				"the echo through latency behind the header",
			);
		} finally {
			await server.abort();
		}
	});

	test("a handler's promise is awaited as serve() awaits it: the FIN follows it", async () => {
		const driver = new MemoryDriver();
		const listener = await driver.listen({});
		const server = serve(
			listener,
			withProxyProtocol(async (connection) => {
				for await (const chunk of connection) await connection.write(chunk);
			}),
		);
		try {
			const client = await driver.connect(listener.address);
			const echoed = readAll(client);
			await client.write(Uint8Array.from([...encodeProxyHeader(2, tcp("9.9.9.9", 1), tcp("1.1.1.1", 2)), 7, 8]));
			await client.end();
			assertBytes(await within(echoed, 2000, "no FIN after the handler"), Uint8Array.of(7, 8), "the pull-loop echo");
		} finally {
			await server.abort();
		}
	});

	test("a header not complete within the timeout closes the connection as a timeout", async () => {
		const { driver, listener, server, seen } = await proxiedEcho(100);
		try {
			const client = await driver.connect(listener.address);
			await client.write(ascii("PROXY TCP4"));
			const error = await firstClosed(seen.closed);
			assert.equal(error?.reason, "timeout");
			assert.match(error?.message ?? "", /no complete PROXY header within 100 ms/);
		} finally {
			await server.abort();
		}
	});
});
