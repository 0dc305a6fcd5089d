import { isIP } from "node:net";
import {
	type DatagramDriver,
	type DatagramSocket,
	MAX_DATAGRAM_IPV4,
	MAX_DATAGRAM_IPV6,
	type UdpAddress,
} from "../datagram/contract.ts";
import { type DatagramServer, serveDatagrams } from "../datagram/serve.ts";
import { DatagramError, ListenError, MisuseError } from "../errors.ts";
import { assertBytes, randomBytes } from "./bytes.ts";
import type { KitCase } from "./cases.ts";
import { check, describe, pause, rejection, within } from "./checks.ts";
import { type DatagramClient, type DatagramPeer, referenceDatagramClient } from "./datagram-client.ts";

/** What a datagram driver's test file hands to `datagramConformance()`. */
export interface DatagramTarget {
	readonly driver: DatagramDriver;
	/** What talks to the driver. Default `referenceDatagramClient` (`node:dgram`, sharing no code with any driver). */
	readonly client?: DatagramClient;
	/** Whether `::1` can be bound here. Default true. */
	readonly ipv6?: boolean;
	/** Known gaps of a runtime: a case name mapped to the reason it cannot pass there. */
	readonly gaps?: Readonly<Record<string, string>>;
}

/** How long a reply may take on loopback before a case calls it lost. */
const REPLY_WAIT = 2_000;

/** Sizes around every boundary a stack has: tiny, byte and word edges, IPv4's minimum MTU, Ethernet, jumbo frames, the largest. */
function edgeSizes(max: number): number[] {
	const sizes = new Set<number>();
	for (let size = 0; size <= 16; size++) sizes.add(size);
	for (const edge of [255, 256, 512, 548, 576, 1024, 1232, 1452, 1472, 1500, 4096, 8192, 9000, 16384, 32768, 65000]) {
		for (const size of [edge - 1, edge, edge + 1]) sizes.add(size);
	}
	sizes.add(max - 1);
	sizes.add(max);
	return [...sizes].filter((size) => size <= max).sort((a, b) => a - b);
}

/** One reply; fails the case when none comes. */
async function reply(peer: DatagramPeer, what: string): Promise<Uint8Array> {
	const bytes = await peer.next(REPLY_WAIT);
	check(bytes !== null, `no reply within ${REPLY_WAIT} ms for ${what}`);
	return bytes;
}

/** Nothing at all comes back within `ms`. */
async function silence(peer: DatagramPeer, ms: number, what: string): Promise<void> {
	const bytes = await peer.next(ms);
	check(bytes === null, `expected no reply ${what}, got ${bytes?.byteLength} bytes`);
}

/** What `send()` threw, or undefined. */
function sendError(socket: DatagramSocket, bytes: Uint8Array, address: UdpAddress): unknown {
	try {
		socket.send(bytes, address);
	} catch (error) {
		return error;
	}
	return undefined;
}

const to = (host: string, port: number): UdpAddress => ({
	transport: "udp",
	host,
	port,
	family: isIP(host) === 6 ? "IPv6" : "IPv4",
});

/**
 * The datagram conformance suite: every rule of the datagram contract, each
 * as a case that binds its own echo socket and checks real datagrams.
 *
 * ```ts
 * for (const c of datagramConformance({ driver: new NodeDatagramDriver() }))
 *   test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
 * ```
 */
export function datagramConformance(target: DatagramTarget): KitCase[] {
	const client = target.client ?? referenceDatagramClient;
	const peers: DatagramPeer[] = [];

	/** Runs `body` against a fresh echo over the driver, with a client opener; closes both after. */
	async function withEcho(
		host: string,
		body: (h: { server: DatagramServer; open(): Promise<DatagramPeer>; port: number }) => Promise<void>,
	): Promise<void> {
		const server = serveDatagrams(await target.driver.bind({ host, port: 0 }), { guard: false });
		const open = async () => {
			const peer = await client.open(host);
			peers.push(peer);
			return peer;
		};
		try {
			await body({ server, open, port: server.socket.address.port });
		} finally {
			for (const peer of peers.splice(0)) peer.close();
			await server.close();
		}
	}

	const everySize = (host: string, max: number) => () =>
		withEcho(host, async ({ open, port }) => {
			const peer = await open();
			for (const size of edgeSizes(max)) {
				const sent = randomBytes(size, size);
				peer.send(sent, host, port);
				assertBytes(await reply(peer, `a datagram of ${size} bytes`), sent, `the echo of ${size} bytes`);
			}
		});

	const cases: Omit<KitCase, "gap">[] = [
		{
			name: "bind on port 0 reports the numeric address and the port the OS chose",
			timeout: 10_000,
			async run() {
				await using socket = await target.driver.bind({ host: "localhost", port: 0 });
				const { address } = socket;
				check(address.transport === "udp", `transport is ${describe(address.transport)}`);
				check(isIP(address.host) !== 0, `host ${address.host} is not numeric`);
				check(address.port > 0 && address.port <= 65535, `port ${address.port}`);
				check(
					socket.maxDatagram === (address.family === "IPv6" ? MAX_DATAGRAM_IPV6 : MAX_DATAGRAM_IPV4),
					"maxDatagram",
				);
			},
		},
		{
			name: "every edge size from 0 bytes to 65,507 comes back whole over IPv4",
			timeout: 60_000,
			run: everySize("127.0.0.1", MAX_DATAGRAM_IPV4),
		},
		{
			name: "every edge size from 0 bytes to 65,527 comes back whole over IPv6",
			timeout: 60_000,
			run: everySize("::1", MAX_DATAGRAM_IPV6),
		},
		{
			name: "all 256 byte values survive, in one datagram and one byte a datagram",
			timeout: 30_000,
			run: () =>
				withEcho("127.0.0.1", async ({ open, port }) => {
					const peer = await open();
					const all = Uint8Array.from({ length: 256 }, (_, i) => (i * 167) % 256);
					peer.send(all, "127.0.0.1", port);
					assertBytes(await reply(peer, "all byte values"), all, "all byte values");
					for (let value = 0; value < 256; value++) {
						peer.send(Uint8Array.of(value), "127.0.0.1", port);
						assertBytes(await reply(peer, `byte ${value}`), Uint8Array.of(value), `byte ${value}`);
					}
				}),
		},
		{
			name: "16 senders at once each get their own datagrams back, and only theirs",
			timeout: 30_000,
			run: () =>
				withEcho("127.0.0.1", async ({ open, port }) => {
					const senders = await Promise.all(Array.from({ length: 16 }, () => open()));
					await Promise.all(
						senders.map(async (peer, id) => {
							for (let seq = 0; seq < 32; seq++) {
								// Tagged with the sender and a sequence number, so a misdelivered datagram shows.
								const sent = new Uint8Array([id, seq, ...randomBytes(1 + ((id * 31 + seq) % 200), id * 1000 + seq)]);
								peer.send(sent, "127.0.0.1", port);
								assertBytes(await reply(peer, `sender ${id} datagram ${seq}`), sent, `sender ${id} datagram ${seq}`);
							}
						}),
					);
				}),
		},
		{
			name: "the sender of each datagram is reported with its numeric address and port",
			timeout: 10_000,
			async run() {
				await using socket = await target.driver.bind({ host: "127.0.0.1", port: 0 });
				const peer = await client.open("127.0.0.1");
				try {
					peer.send(Uint8Array.of(1, 2, 3), "127.0.0.1", socket.address.port);
					const datagram = await within(socket.receive(), REPLY_WAIT, "no datagram arrived");
					check(datagram !== null, "receive() resolved null on an open socket");
					check(datagram.from.host === "127.0.0.1", `sender host ${datagram.from.host}`);
					check(datagram.from.port === peer.port, `sender port ${datagram.from.port}, the client's is ${peer.port}`);
					check(datagram.from.family === "IPv4", `sender family ${datagram.from.family}`);
					assertBytes(datagram.bytes, Uint8Array.of(1, 2, 3), "the datagram");
				} finally {
					peer.close();
				}
			},
		},
		{
			name: "a datagram past the family's largest is refused as too-large, and the socket goes on",
			timeout: 10_000,
			run: () =>
				withEcho("127.0.0.1", async ({ server, open, port }) => {
					const peer = await open();
					const error = sendError(server.socket, new Uint8Array(MAX_DATAGRAM_IPV4 + 1), to("127.0.0.1", peer.port));
					check(
						error instanceof DatagramError && error.reason === "too-large",
						`expected too-large, got ${describe(error)}`,
					);
					await silence(peer, 200, "after a refused send");
					peer.send(Uint8Array.of(9), "127.0.0.1", port);
					assertBytes(await reply(peer, "a datagram after the refused one"), Uint8Array.of(9), "the echo");
				}),
		},
		{
			name: "a send to a name or to port 0 is refused as bad-address",
			timeout: 10_000,
			async run() {
				await using socket = await target.driver.bind({ host: "127.0.0.1", port: 0 });
				for (const address of [to("localhost", 7000), to("127.0.0.1", 0), to("::1", 7000)]) {
					const error = sendError(socket, Uint8Array.of(1), address);
					check(
						error instanceof DatagramError && error.reason === "bad-address",
						`send to ${address.host} port ${address.port}: expected bad-address, got ${describe(error)}`,
					);
				}
			},
		},
		{
			name: "a reply to a sender that went away does not break the next reply to another, sent at once",
			timeout: 30_000,
			async run() {
				await using socket = await target.driver.bind({ host: "127.0.0.1", port: 0 });
				const healthy = await client.open("127.0.0.1");
				try {
					for (let round = 0; round < 20; round++) {
						const gone = await client.open("127.0.0.1");
						gone.send(Uint8Array.of(round), "127.0.0.1", socket.address.port);
						const first = await within(socket.receive(), REPLY_WAIT, "the first datagram did not arrive");
						gone.close();
						await pause(5);
						const sent = randomBytes(64, round);
						healthy.send(sent, "127.0.0.1", socket.address.port);
						const second = await within(socket.receive(), REPLY_WAIT, "the second datagram did not arrive");
						check(first !== null && second !== null, "receive() resolved null on an open socket");
						// On loopback the ICMP error is back before the next send: it must not be that send's error.
						socket.send(first.bytes, first.from);
						socket.send(second.bytes, second.from);
						assertBytes(await reply(healthy, `the healthy client's datagram ${round}`), sent, `round ${round}`);
					}
				} finally {
					healthy.close();
				}
			},
		},
		{
			name: "the driver's socket sends to and receives from a foreign echo server",
			timeout: 20_000,
			async run() {
				const echoServer = await client.echoServer("127.0.0.1");
				try {
					await using socket = await target.driver.bind({ host: "127.0.0.1", port: 0 });
					for (const size of [0, 1, 1472, MAX_DATAGRAM_IPV4]) {
						const sent = randomBytes(size, size + 7);
						check(socket.send(sent, to("127.0.0.1", echoServer.port)), `the OS did not take ${size} bytes`);
						const datagram = await within(socket.receive(), REPLY_WAIT, `no echo of ${size} bytes`);
						check(datagram !== null, "receive() resolved null on an open socket");
						assertBytes(datagram.bytes, sent, `the echo of ${size} bytes`);
						check(datagram.from.port === echoServer.port, `the echo came from port ${datagram.from.port}`);
					}
					check(socket.stats.sent === 4, `stats.sent is ${socket.stats.sent}, expected 4`);
				} finally {
					echoServer.close();
				}
			},
		},
		{
			name: "close resolves a pending receive() to null; later receives resolve null and sends throw closed",
			timeout: 10_000,
			async run() {
				const socket = await target.driver.bind({ host: "127.0.0.1", port: 0 });
				const pending = socket.receive();
				await pause(10);
				await socket.close();
				check(
					(await within(pending, 1_000, "the pending receive() did not settle at close")) === null,
					"pending receive",
				);
				check((await socket.receive()) === null, "receive() after close");
				const error = sendError(socket, Uint8Array.of(1), to("127.0.0.1", 9999));
				check(error instanceof DatagramError && error.reason === "closed", `send after close: ${describe(error)}`);
				await socket.close();
			},
		},
		{
			name: "a second receive() while one is pending rejects with concurrent-read",
			timeout: 10_000,
			async run() {
				await using socket = await target.driver.bind({ host: "127.0.0.1", port: 0 });
				void socket.receive();
				const error = await rejection(socket.receive());
				check(error instanceof MisuseError && error.reason === "concurrent-read", `got ${describe(error)}`);
			},
		},
		{
			name: "receiveEach() takes the queued datagrams first, in order, then each as it arrives; receive() beside it is misuse",
			timeout: 10_000,
			async run() {
				await using socket = await target.driver.bind({ host: "127.0.0.1", port: 0 });
				const peer = await client.open("127.0.0.1");
				try {
					for (let i = 0; i < 3; i++) peer.send(Uint8Array.of(i), "127.0.0.1", socket.address.port);
					for (let waited = 0; socket.stats.received < 3 && waited < REPLY_WAIT; waited += 10) await pause(10);
					const seen: number[] = [];
					socket.receiveEach((bytes, from) => {
						check(from.port === peer.port, `a datagram from port ${from.port}`);
						seen.push(bytes[0] as number);
					});
					check(seen.join() === "0,1,2", `the queued datagrams came as ${seen.join()}`);
					for (let i = 3; i < 6; i++) peer.send(Uint8Array.of(i), "127.0.0.1", socket.address.port);
					for (let waited = 0; seen.length < 6 && waited < REPLY_WAIT; waited += 10) await pause(10);
					// Loopback keeps the order of one sender's datagrams.
					check(seen.join() === "0,1,2,3,4,5", `datagrams came as ${seen.join()}`);
					const error = await rejection(socket.receive());
					check(error instanceof MisuseError && error.reason === "concurrent-read", `receive(): ${describe(error)}`);
					let again: unknown;
					try {
						socket.receiveEach(() => {});
					} catch (caught) {
						again = caught;
					}
					check(
						again instanceof MisuseError && again.reason === "concurrent-read",
						`receiveEach() again: ${describe(again)}`,
					);
				} finally {
					peer.close();
				}
			},
		},
		{
			name: "binding a port that is bound already is refused as address-in-use",
			timeout: 10_000,
			async run() {
				await using first = await target.driver.bind({ host: "127.0.0.1", port: 0 });
				const error = await rejection(target.driver.bind({ host: "127.0.0.1", port: first.address.port }));
				check(error instanceof ListenError && error.reason === "address-in-use", `got ${describe(error)}`);
			},
		},
		{
			name: "a full receive queue drops new datagrams and counts them; it never grows past its bound",
			timeout: 20_000,
			async run() {
				const socket: DatagramSocket = await target.driver.bind({ host: "127.0.0.1", port: 0, receiveQueue: 8 });
				const peer = await client.open("127.0.0.1");
				try {
					for (let i = 0; i < 64; i++) {
						peer.send(Uint8Array.of(i), "127.0.0.1", socket.address.port);
						if (i % 8 === 7) await pause(2);
					}
					// Until nothing more arrives: the kernel may itself drop some of a burst.
					let seen = -1;
					for (let waited = 0; waited < 3_000 && socket.stats.received !== seen; waited += 100) {
						seen = socket.stats.received;
						await pause(100);
					}
					const { received, dropped } = socket.stats;
					check(received > 8, `only ${received} datagrams arrived; the case needs more than 8`);
					let queued = 0;
					// One receive() pending at a time; the last is settled by close().
					let next = socket.receive();
					while ((await Promise.race([next, pause(100).then(() => undefined)])) !== undefined) {
						queued++;
						next = socket.receive();
					}
					check(queued <= 8, `${queued} datagrams were queued, past the bound of 8`);
					check(
						queued + dropped.receiveQueue === received,
						`${queued} queued + ${dropped.receiveQueue} dropped != ${received} received`,
					);
				} finally {
					peer.close();
					await socket.close();
				}
			},
		},
	];

	const noIpv6 = target.ipv6 === false ? "::1 cannot be bound on this machine" : undefined;
	return cases.map((c) => ({ ...c, gap: target.gaps?.[c.name] ?? (c.name.includes("IPv6") ? noIpv6 : undefined) }));
}
