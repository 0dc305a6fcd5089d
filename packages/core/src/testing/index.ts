/**
 * The testing kit: the conformance suite every driver runs, and the byte
 * helpers it is built from, for users' own tests.
 */

export { BrokenMemoryDriver, type MemoryFault } from "./broken-memory.ts";
export {
	assertBytes,
	concat,
	firstDifference,
	PATTERN_PERIOD,
	pattern,
	random,
	randomBytes,
	seededRandom,
	split,
	testSeed,
} from "./bytes.ts";
export type { ConformanceCase, ConformanceTarget, KitCase } from "./cases.ts";
export { check, outcome, pause, readAll, readExactly, rejection, within } from "./checks.ts";
export { conformance } from "./conformance.ts";
export {
	type DatagramClient,
	type DatagramPeer,
	driverDatagramClient,
	referenceDatagramClient,
} from "./datagram-client.ts";
export { type DatagramTarget, datagramConformance } from "./datagram-conformance.ts";
export { denoExecutable } from "./deno.ts";
export { type EchoServer, type EchoServerOptions, startEchoServer, withEchoServer } from "./echo-server.ts";
export { collect, freePort, type ServedDriver, tcpHarness, tryConnect, writeUntilStalled } from "./harness.ts";
export { type ReadyFileOptions, readyFileAddress, readyFileRecord } from "./ready-file.ts";
export { type Client, type ClientConnection, referenceClient, referenceTlsClient } from "./reference-client.ts";
export { isAlive, rss, type ServerProcess, type SoakCase, type SoakTarget, soak, spawnServer } from "./soak.ts";
export {
	referenceTlsServer,
	TLS_CLIENT_NAME,
	type TlsFixture,
	type TlsTarget,
	tlsConformance,
	tlsFixture,
} from "./tls.ts";
