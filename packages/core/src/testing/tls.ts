import type { Socket } from "node:net";
import tls from "node:tls";
import type { Connection, Driver, TcpAddress, TlsServerOptions } from "../contract.ts";
import { echo } from "../echo.ts";
import { ConnectionError } from "../errors.ts";
import { serve } from "../serve.ts";
import { type CertificatePair, certificateAuthority, selfSignedCertificate } from "../tls/self-signed.ts";
import { assertBytes, pattern } from "./bytes.ts";
import type { ConformanceCase, ConformanceTarget } from "./cases.ts";
import { check, outcome, readAll, within } from "./checks.ts";
import { conformance } from "./conformance.ts";
import { type Client, referenceClient, referenceTlsClient } from "./reference-client.ts";

/** Certificates for TLS tests, made in memory: a CA, a server and a client it signed, and a stranger it did not. */
export interface TlsFixture {
	readonly ca: CertificatePair;
	/** For `localhost`, `127.0.0.1` and `::1`, signed by `ca`. */
	readonly server: CertificatePair;
	/** A client certificate signed by `ca`, whose common name is {@link TLS_CLIENT_NAME}. */
	readonly client: CertificatePair;
	/** A self-signed client certificate: not from `ca`. */
	readonly stranger: CertificatePair;
}

export const TLS_CLIENT_NAME = "echo-cli test client";

let fixture: Promise<TlsFixture> | undefined;

/** The {@link TlsFixture}, made once per process. */
export function tlsFixture(): Promise<TlsFixture> {
	fixture ??= (async () => {
		const ca = await certificateAuthority();
		const hosts = ["localhost", "127.0.0.1", "::1"];
		return {
			ca,
			server: await selfSignedCertificate({ hosts, issuer: ca }),
			client: await selfSignedCertificate({ hosts: [TLS_CLIENT_NAME], issuer: ca, client: true }),
			stranger: await selfSignedCertificate({ hosts: ["stranger"], client: true }),
		};
	})();
	return fixture;
}

/** A `node:tls` echo server sharing no code with any driver, for checking a driver's TLS client. */
export async function referenceTlsServer(
	pair: CertificatePair,
): Promise<{ readonly address: TcpAddress; close(): Promise<void> }> {
	const sockets = new Set<Socket>();
	const server = tls.createServer({ cert: pair.cert, key: pair.key, allowHalfOpen: true }, (socket) => {
		socket.on("error", () => {});
		// No pipe(): it pauses the socket under backpressure, and Deno's TLSSocket, once paused, never reports
		// the peer's end (DENO_TLS_PAUSED_END in driver-deno). What a test sends here is small.
		socket.on("data", (chunk: Buffer) => socket.write(chunk));
		socket.on("end", () => socket.end());
	});
	// The TCP sockets, so that close() ends those whose handshake failed too.
	server.on("connection", (socket: Socket) => {
		sockets.add(socket);
		socket.on("close", () => sockets.delete(socket));
	});
	server.on("tlsClientError", () => {});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as { port: number };
	return {
		address: { transport: "tcp", host: "127.0.0.1", port, family: "IPv4" },
		// close() waits for every connection; the TCP sockets are ended here, handshake or not.
		close: () =>
			new Promise<void>((resolve) => {
				server.close(() => resolve());
				for (const socket of sockets) socket.destroy();
			}),
	};
}

export interface TlsTarget extends Omit<ConformanceTarget, "listen" | "client" | "connect"> {
	readonly fixture: TlsFixture;
}

/**
 * The conformance suite over TLS: every case of {@link conformance}, with
 * the driver listening with the fixture's server certificate and the
 * reference `node:tls` client talking to it, then the cases only TLS has:
 * failed handshakes end only their connection with a `tls` error that says
 * why, mutual TLS, and the driver's own TLS client against a `node:tls`
 * server.
 */
export function tlsConformance(target: TlsTarget): ConformanceCase[] {
	const { fixture, driver } = target;
	const serverTls: TlsServerOptions = { cert: fixture.server.cert, key: fixture.server.key };
	const mutual: TlsServerOptions = { ...serverTls, ca: fixture.ca.cert, clientAuth: true };
	const client = referenceTlsClient({ ca: fixture.ca.cert });
	const gap = (name: string) => target.gaps?.[name];
	const over = conformance({
		...target,
		gaps: {},
		listen: { tls: serverTls },
		client,
		connect: { tls: { ca: fixture.ca.cert } },
	}).map((c) => {
		const name = `over TLS: ${c.name}`;
		return { ...c, name, gap: gap(name) };
	});
	const cases: Omit<ConformanceCase, "gap">[] = [
		{
			name: "a plaintext client fails only its own connection, with a tls error naming the cause",
			timeout: 20_000,
			run: () =>
				withTlsServer(driver, serverTls, async ({ address, accepted }) => {
					const plain = await referenceClient.connect(address);
					await plain.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
					await within(outcome(readAll(plain)), 5000, "the server did not close the plaintext connection");
					plain.close();
					const failed = await closedOne(accepted, 0);
					checkTlsError(failed.error, /HTTP request|does not speak TLS/, "the plaintext connection");
					await roundTrip(client, address, "a TLS client after the plaintext one");
				}),
		},
		{
			name: "a TLS client against a plaintext server fails its handshake with a tls error, and the server goes on",
			timeout: 20_000,
			run: async () => {
				const listener = await driver.listen({ host: "127.0.0.1", port: 0 });
				const server = serve(listener, echo);
				try {
					const error = await within(outcome(client.connect(listener.address)), 5000, "the TLS client hung");
					checkTlsError(error, /^TLS handshake failed: \S/, "the reference TLS client");
					const own = await within(
						outcome(driver.connect(listener.address, { tls: { ca: fixture.ca.cert } })),
						5000,
						"the driver's TLS client hung against a plaintext server",
					);
					checkTlsError(
						own,
						/does not speak TLS|closed the connection during the handshake/,
						"the driver's TLS client",
					);
					await roundTrip(referenceClient, listener.address, "a plaintext client afterwards");
				} finally {
					await server.abort();
				}
			},
		},
		{
			name: "under clientAuth a certificate from the CA is served, and its subject is in the session",
			timeout: 20_000,
			run: () =>
				withTlsServer(driver, mutual, async ({ address, accepted }) => {
					const withCert = referenceTlsClient({ ca: fixture.ca.cert, ...fixture.client });
					await roundTrip(withCert, address, "a client with a certificate from the CA");
					const session = (await closedOne(accepted, 0)).tls;
					check(session?.peer === TLS_CLIENT_NAME, `expected the client's name in the session, got ${session?.peer}`);
					check(/^TLSv1\.[23]$/.test(session.protocol), `unexpected protocol ${session.protocol}`);
					check(session.cipher.length > 0 && session.cipher !== "unknown", "no cipher in the session");
				}),
		},
		{
			name: "ALPN: the server's first protocol the client offers is agreed, on both sides",
			timeout: 20_000,
			run: () =>
				withTlsServer(driver, { ...serverTls, alpn: ["echo", "h2"] }, async ({ address, accepted }) => {
					await roundTrip(referenceTlsClient({ ca: fixture.ca.cert, alpn: ["h2", "echo"] }), address, "an ALPN client");
					const session = (await closedOne(accepted, 0)).tls;
					check(session?.alpn === "echo", `expected ALPN echo on the server, got ${session?.alpn}`);
					const own = await driver.connect(address, { tls: { ca: fixture.ca.cert, alpn: ["h2"] } });
					check(own.tls?.alpn === "h2", `expected ALPN h2 on the driver's client, got ${own.tls?.alpn}`);
					own.close();
				}),
		},
		...(
			[
				["no certificate", {}, /no client certificate/],
				["a certificate from another CA", fixture.stranger, /not signed by a trusted CA/],
			] as const
		).map(([what, pair, cause]) => ({
			name: `under clientAuth a client with ${what} fails only its own connection, with a tls error`,
			timeout: 20_000,
			run: () =>
				withTlsServer(driver, mutual, async ({ address, accepted }) => {
					// Under TLS 1.3 the client's handshake completes before the server has judged it.
					const attempt = referenceTlsClient({ ca: fixture.ca.cert, ...pair })
						.connect(address)
						.then(async (c) => {
							try {
								await c.write(new Uint8Array([1, 2, 3]));
								return await readAll(c);
							} finally {
								c.close();
							}
						});
					const seen = await within(outcome(attempt), 5000, "the refused client hung");
					check(!(seen instanceof Uint8Array && seen.byteLength > 0), "a refused client got an echo");
					const failed = await closedOne(accepted, 0);
					checkTlsError(failed.error, cause, `the connection with ${what}`);
					await roundTrip(
						referenceTlsClient({ ca: fixture.ca.cert, ...fixture.client }),
						address,
						"a good client afterwards",
					);
				}),
		})),
		{
			name: "the driver's TLS client verifies a node:tls server: the CA passes, another CA fails, insecure skips",
			timeout: 20_000,
			run: async () => {
				const server = await referenceTlsServer(fixture.server);
				try {
					const c = await driver.connect(server.address, { tls: { ca: fixture.ca.cert } });
					check(/^TLSv1\.[23]$/.test(c.tls?.protocol ?? ""), `no TLS session on the client: ${c.tls?.protocol}`);
					const payload = pattern(9, 256 * 1024);
					const echoing = readAll(c);
					await c.write(payload);
					await c.end();
					assertBytes(await within(echoing, 10_000, "no echo"), payload, "echo from node:tls");
					c.close();
					const untrusted = await outcome(driver.connect(server.address, { tls: { ca: fixture.stranger.cert } }));
					checkTlsError(untrusted, /not signed by a trusted CA/, "a server from an unknown CA");
					const wrongName = await outcome(
						driver.connect(server.address, { tls: { ca: fixture.ca.cert, serverName: "elsewhere.example" } }),
					);
					checkTlsError(wrongName, /does not name the host/, "a server name the certificate lacks");
					const skipped = await driver.connect(server.address, { tls: { insecure: true } });
					skipped.close();
				} finally {
					await server.close();
				}
			},
		},
	];
	return [...over, ...cases.map((c) => ({ ...c, gap: gap(c.name) }))];
}

async function withTlsServer(
	driver: Driver,
	options: TlsServerOptions,
	body: (server: { address: TcpAddress; accepted: Connection[] }) => Promise<void>,
): Promise<void> {
	const listener = await driver.listen({ host: "127.0.0.1", port: 0, tls: options });
	const accepted: Connection[] = [];
	const server = serve(listener, echo, { onConnection: (c) => accepted.push(c) });
	try {
		await body({ address: listener.address, accepted });
	} finally {
		await server.abort();
	}
}

async function closedOne(accepted: readonly Connection[], index: number): Promise<Connection> {
	const connection = accepted[index];
	check(connection !== undefined, `the server accepted ${accepted.length} connections, expected more than ${index}`);
	await within(connection.closed, 5000, `server connection ${index} did not close`);
	return connection;
}

function checkTlsError(error: unknown, cause: RegExp, what: string): void {
	check(
		error instanceof ConnectionError && error.reason === "tls",
		`${what}: expected a ConnectionError with reason tls, got ${String(error)}`,
	);
	check(cause.test(error.message), `${what}: the message does not name the cause: ${error.message}`);
}

async function roundTrip(client: Client, address: TcpAddress, what: string): Promise<void> {
	const c = await within(client.connect(address), 5000, `${what}: no connection`);
	const payload = pattern(3, 64 * 1024);
	const echoing = readAll(c);
	await c.write(payload);
	await c.end();
	assertBytes(await within(echoing, 10_000, `${what}: no echo`), payload, what);
	c.close();
}
