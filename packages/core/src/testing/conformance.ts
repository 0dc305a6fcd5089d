import { DEFAULT_HIGH_WATER_MARK, type Handler, type Receiver } from "../contract.ts";
import { echo, echoByReads } from "../echo.ts";
import { ConnectionError, MisuseError } from "../errors.ts";
import { serve } from "../serve.ts";
import { assertBytes, concat, pattern, random, randomBytes, split } from "./bytes.ts";
import type { ConformanceCase, ConformanceTarget, WithEcho } from "./cases.ts";
import { check, describe, outcome, pause, readAll, readExactly, rejection, stalls, within } from "./checks.ts";
import { withEchoServer } from "./echo-server.ts";
import { edgeCases } from "./edge-cases.ts";
import { listenerCases } from "./listener-cases.ts";
import { referenceClient } from "./reference-client.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The conformance suite: every property a driver MUST keep, each as a case
 * that starts its own echo server and checks real bytes.
 *
 * ```ts
 * for (const c of conformance({ driver: new NodeDriver(), maxReadChunk: 64 * 1024 }))
 *   test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
 * ```
 */
export function conformance(target: ConformanceTarget): ConformanceCase[] {
	const highWaterMark = target.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
	const bound = highWaterMark + target.maxReadChunk;

	const client = target.client ?? referenceClient;
	const withEcho: WithEcho = (handler, body) =>
		withEchoServer(target.driver, { handler, listen: target.listen, highWaterMark, client }, body);

	/** Cases that drive the echo handler; they run with `echo` and again with `echoByReads`. */
	const echoCases = (handler: Handler | Receiver, suffix: string): Omit<ConformanceCase, "gap">[] =>
		[
			{
				name: `1,024 round trips on one connection echo every byte${suffix}`,
				timeout: 30_000,
				run: () =>
					withEcho(handler, async ({ connect }) => {
						const c = await connect();
						const next = random(1);
						let total = 0;
						for (let i = 0; i < 1024; i++) {
							const message = randomBytes(1 + Math.floor(next() * 512), i);
							await c.write(message);
							assertBytes(await readExactly(c, message.byteLength), message, `round trip ${i}`);
							total += message.byteLength;
						}
						await c.end();
						check((await c.read()) === null, "expected the server's FIN after the last round trip");
						check(c.bytesRead === total, `read ${c.bytesRead} bytes in all, expected ${total}`);
					}),
			},
			{
				name: `every byte value survives random chunk splits${suffix}`,
				timeout: 30_000,
				run: () =>
					withEcho(handler, async ({ connect }) => {
						const next = random(2);
						for (let round = 0; round < 8; round++) {
							const payload = concat([allByteValues(), randomBytes(Math.floor(next() * 300 * KiB), round)]);
							const c = await connect();
							const reading = readAll(c);
							for (const piece of split(payload, 1 + Math.floor(next() * 70 * KiB), next)) await c.write(piece);
							await c.end();
							assertBytes(await reading, payload, `round ${round}`);
						}
					}),
			},
			{
				name: `64 concurrent connections each get only their own bytes${suffix}`,
				timeout: 60_000,
				run: () =>
					withEcho(handler, async ({ connect }) => {
						const results = await Promise.all(
							Array.from({ length: 64 }, async (_, i) => {
								const c = await connect();
								const next = random(100 + i);
								const payload = pattern(0, 16 * KiB + Math.floor(next() * 112 * KiB), i * 7919);
								const reading = readAll(c);
								for (const piece of split(payload, 16 * KiB, next)) {
									await c.write(piece);
									if (next() < 0.2) await pause(1);
								}
								await c.end();
								return { i, payload, echoed: await reading };
							}),
						);
						for (const { i, payload, echoed } of results) assertBytes(echoed, payload, `connection ${i}`);
					}),
			},
			{
				name: `a 64 MiB stream with a concurrent reader is byte-exact${suffix}`,
				timeout: 120_000,
				run: () =>
					withEcho(handler, async ({ connect }) => {
						const c = await connect();
						const total = 64 * MiB;
						const verifying = (async () => {
							let offset = 0;
							for (;;) {
								const chunk = await c.read();
								if (chunk === null) break;
								assertBytes(chunk, pattern(offset, chunk.byteLength), `stream at offset ${offset}`);
								offset += chunk.byteLength;
							}
							return offset;
						})();
						const piece = 64 * KiB;
						for (let offset = 0; offset < total; offset += piece) await c.write(pattern(offset, piece));
						await c.end();
						const received = await verifying;
						check(received === total, `received ${received} bytes, expected ${total}`);
					}),
			},
			{
				name: `half-close: bytes written before FIN all come back, then the server's FIN${suffix}`,
				timeout: 30_000,
				run: () =>
					withEcho(handler, async ({ connect, accepted }) => {
						for (const size of [5, 64 * KiB + 1, 4 * MiB]) {
							const c = await connect();
							const payload = pattern(size, size);
							// Write and FIN without waiting, then read: the server's FIN must come after every byte.
							const sending = Promise.all([c.write(payload), c.end()]);
							assertBytes(await readAll(c), payload, `${size} bytes then FIN`);
							await sending;
							await within(c.closed, 5000, "the connection did not close after both FINs");
							const server = accepted[accepted.length - 1];
							check(server !== undefined, "the server saw no connection");
							await within(server.closed, 5000, "the server's side did not close after both FINs");
						}
					}),
			},
			{
				name: `half-close: FIN with no data gets the server's FIN${suffix}`,
				timeout: 10_000,
				run: () =>
					withEcho(handler, async ({ connect }) => {
						const c = await connect();
						await c.end();
						check((await within(c.read(), 5000, "no FIN from the server")) === null, "expected EOF");
						await within(c.closed, 5000, "the connection did not close");
					}),
			},
			{
				name: `a client that never reads: server queues stay under the high-water mark plus one chunk${suffix}`,
				timeout: 60_000,
				run: () =>
					withEcho(handler, async ({ connect, accepted }) => {
						const c = await connect();
						const limit = 256 * MiB;
						const piece = 64 * KiB;
						let sent = 0;
						let peak = 0;
						const sample = () => {
							const s = accepted[0];
							if (s) peak = Math.max(peak, s.inboundBytes, s.outboundBytes);
						};
						const sampler = setInterval(sample, 5);
						try {
							while (sent < limit) {
								const stalled = await stalls(c.write(pattern(sent, piece)), 500);
								sent += piece;
								sample();
								if (stalled) break;
							}
						} finally {
							clearInterval(sampler);
						}
						check(sent < limit, `the client sent all ${limit} bytes without reading: no backpressure`);
						check(peak >= highWaterMark, `the server never queued its mark (${highWaterMark} bytes); peak ${peak}`);
						check(peak <= bound, `the server queued ${peak} bytes, more than ${bound}`);
						// Reading again releases the stall, and nothing was lost on the way.
						const reading = readAll(c);
						await c.end();
						const echoed = await reading;
						check(echoed.byteLength === sent, `read back ${echoed.byteLength} bytes, sent ${sent}`);
						assertBytes(echoed, pattern(0, sent), "echo after the stall");
					}),
			},
			{
				name: `a peer reset ends that connection with a typed error while others go on${suffix}`,
				timeout: 30_000,
				run: () =>
					withEcho(handler, async ({ connect, accepted }) => {
						const doomed = await connect();
						const survivor = await connect();
						await doomed.write(pattern(0, 1000));
						await readExactly(doomed, 1000);
						const victim = accepted.find((s) => s.bytesRead === 1000);
						check(victim !== undefined, "the server connection of the reset client was not found");
						doomed.close(new Error("test reset"));
						await within(victim.closed, 5000, "the server did not notice the reset");
						check(
							victim.error instanceof ConnectionError && victim.error.reason === "reset",
							`expected a ConnectionError with reason reset, got ${describe(victim.error)}`,
						);
						const payload = pattern(7, 256 * KiB);
						const reading = readAll(survivor);
						await survivor.write(payload);
						await survivor.end();
						assertBytes(await reading, payload, "the other connection");
					}),
			},
		] satisfies Omit<ConformanceCase, "gap">[];

	const cases: Omit<ConformanceCase, "gap">[] = [
		...echoCases(echo, ""),
		...echoCases(echoByReads, " (echo by read/write)"),
		...listenerCases(target, withEcho),
		{
			name: "a second concurrent read() and a write after end() throw named errors",
			timeout: 10_000,
			run: () =>
				withEcho(slowEcho, async ({ address }) => {
					// Misuse is a property of the driver's connections, so the driver's own client is used here.
					const c = await target.driver.connect(address, target.connect);
					const first = c.read();
					const second = await rejection(c.read());
					check(
						second instanceof MisuseError && second.reason === "concurrent-read",
						`expected MisuseError concurrent-read, got ${describe(second)}`,
					);
					await c.write(pattern(0, 10));
					const got = await first;
					check(got !== null && got.byteLength > 0, "the pending read got no data");
					assertBytes(got, pattern(0, got.byteLength), "the pending read");
					await c.end();
					const late = await rejection(c.write(pattern(0, 10)));
					check(
						late instanceof MisuseError && late.reason === "write-after-end",
						`expected MisuseError write-after-end, got ${describe(late)}`,
					);
					c.close();
				}),
		},
		{
			name: "a handler that throws ends its own connection only",
			timeout: 10_000,
			run: async () => {
				const listener = await target.driver.listen({ host: "127.0.0.1", port: 0, ...target.listen });
				const reported: unknown[] = [];
				const server = serve(
					listener,
					async (c) => {
						const first = await c.read();
						if (first?.[0] === 0xff) throw new Error("handler failure");
						if (first) await c.write(first);
						await echo(c);
					},
					{ onError: (e) => reported.push(e) },
				);
				try {
					const bad = await client.connect(listener.address);
					await bad.write(Uint8Array.of(0xff));
					const ended = await within(outcome(bad.read()), 5000, "the failing connection was not closed");
					check(
						ended === null || ended instanceof ConnectionError,
						`expected the connection to end, got ${describe(ended)}`,
					);
					check(reported.length === 1, `expected one reported handler error, got ${reported.length}`);
					const good = await client.connect(listener.address);
					const reading = readAll(good);
					await good.write(Uint8Array.of(1, 2, 3));
					await good.end();
					assertBytes(await reading, Uint8Array.of(1, 2, 3), "a connection after the failure");
				} finally {
					await server.abort();
				}
			},
		},
		...edgeCases(target, withEcho),
	];
	return cases.map((c) => ({ ...c, gap: target.gaps?.[c.name] }));
}

/** Echo that waits before reading, so that a client read stays pending. */
const slowEcho: Handler = async (c) => {
	await pause(20);
	await echo(c);
};

function allByteValues(): Uint8Array {
	return Uint8Array.from({ length: 256 }, (_, i) => i);
}
