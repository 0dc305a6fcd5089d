import type { Handler } from "../contract.ts";
import { echo } from "../echo.ts";
import { ConnectionError } from "../errors.ts";
import { serve } from "../serve.ts";
import { assertBytes, concat, pattern } from "./bytes.ts";
import type { ConformanceCase, ConformanceTarget, WithEcho } from "./cases.ts";
import { check, outcome, pause, readAll, readExactly, within } from "./checks.ts";
import { referenceClient } from "./reference-client.ts";

const MiB = 1024 * 1024;

/**
 * The cases where drivers have gone wrong before: a huge write to a paused
 * reader, writing after the peer's FIN, when `end()` settles, handlers that
 * fail, `echo` under a reset, and the driver's own client side.
 */
export function edgeCases(target: ConformanceTarget, withEcho: WithEcho): Omit<ConformanceCase, "gap">[] {
	return [
		{
			name: "one write far larger than the socket buffers reaches a paused client that then resumes, in order",
			timeout: 60_000,
			run: () =>
				withEcho(
					async (c) => {
						await c.write(pattern(0, 32 * MiB));
						await c.end();
					},
					async ({ connect }) => {
						const c = await connect();
						// The client reads nothing for a while, so the server's write is left mostly unsent.
						await pause(300);
						const got = await within(readAll(c), 30_000, "the large write did not arrive");
						assertBytes(got, pattern(0, 32 * MiB), "32 MiB written at once");
					},
				),
		},
		{
			name: "the server keeps writing after the peer's FIN, and the peer gets it all before the server's FIN",
			timeout: 30_000,
			run: () =>
				withEcho(
					async (c) => {
						const request = await readAll(c);
						// Half-open: the peer has finished sending, we have not.
						await pause(50);
						await c.write(pattern(0, 4 * MiB));
						await c.write(request);
						await c.end();
					},
					async ({ connect }) => {
						const c = await connect();
						const request = pattern(99, 1000);
						await c.write(request);
						await c.end();
						const got = await within(readAll(c), 20_000, "no reply after our FIN");
						assertBytes(got, concat([pattern(0, 4 * MiB), request]), "the reply written after our FIN");
					},
				),
		},
		{
			name: "end() settles only once queued bytes are handed over, and rejects when the peer resets first",
			timeout: 30_000,
			run: async () => {
				const endings: Promise<unknown>[] = [];
				await withEcho(
					(c) => {
						void c.write(pattern(0, 32 * MiB)).catch(() => {});
						endings.push(outcome(c.end()));
						return c.closed;
					},
					async ({ connect }) => {
						const reader = await connect();
						await pause(300);
						const first = await settledWithin(endings[0], 0);
						check(
							first === PENDING,
							"end() settled while most of 32 MiB was still queued for a client that read nothing",
						);
						assertBytes(
							await within(readAll(reader), 30_000, "the queued bytes did not arrive"),
							pattern(0, 32 * MiB),
							"queued before end()",
						);
						check(
							(await within(endings[0] as Promise<unknown>, 5000, "end() did not settle")) === undefined,
							"end() rejected after a full flush",
						);

						const resetter = await connect();
						await pause(300);
						resetter.close(new Error("reset before the flush"));
						const second = await within(
							endings[1] as Promise<unknown>,
							5000,
							"end() did not settle after the peer reset",
						);
						check(
							second instanceof ConnectionError,
							`end() after a reset with bytes still queued should reject with a ConnectionError, got ${String(second)}`,
						);
					},
				);
			},
		},
		{
			name: "a handler that throws synchronously or rejects loses its own connection and the server keeps accepting",
			timeout: 20_000,
			run: async () => {
				const listener = await target.driver.listen({ host: "127.0.0.1", port: 0, ...target.listen });
				const reported: unknown[] = [];
				let calls = 0;
				const handler: Handler = (c) => {
					calls++;
					if (calls === 1) throw new Error("synchronous handler failure");
					if (calls === 2) return Promise.reject(new Error("asynchronous handler failure"));
					return echo(c);
				};
				const server = serve(listener, handler, { onError: (e) => reported.push(e) });
				const client = target.client ?? referenceClient;
				try {
					for (const which of ["synchronous", "asynchronous"]) {
						// The reset can come before the client has seen its connect: either way the connection ended.
						const ending = client.connect(listener.address).then((c) => c.read());
						const ended = await within(outcome(ending), 5000, `the ${which} failure left its connection open`);
						check(
							ended === null || ended instanceof ConnectionError,
							`expected the connection to end, got ${String(ended)}`,
						);
					}
					check(reported.length === 2, `expected two reported handler errors, got ${reported.length}`);
					const good = await within(client.connect(listener.address), 5000, "the server stopped accepting");
					const reading = readAll(good);
					await good.write(Uint8Array.of(1, 2, 3));
					await good.end();
					assertBytes(
						await within(reading, 5000, "no echo after the failures"),
						Uint8Array.of(1, 2, 3),
						"a connection after the failures",
					);
				} finally {
					await server.abort();
				}
			},
		},
		{
			name: "await echo(connection) rejects with reset when the peer resets mid-stream",
			timeout: 20_000,
			run: async () => {
				const results: unknown[] = [];
				await withEcho(
					(c) =>
						echo(c).then(
							() => void results.push("resolved"),
							(error: unknown) => void results.push(error),
						),
					async ({ connect }) => {
						const c = await connect();
						await c.write(pattern(0, 1000));
						await readExactly(c, 1000);
						c.close(new Error("reset mid-stream"));
						for (let waited = 0; results.length === 0 && waited < 5000; waited += 10) await pause(10);
						const result = results[0];
						check(result !== undefined, "await echo(connection) did not settle after the peer reset");
						check(
							result instanceof ConnectionError && result.reason === "reset",
							`expected a ConnectionError with reason reset, got ${String(result)}`,
						);
					},
				);
			},
		},
		{
			name: "the driver's own client: exact echo, the server's FIN, and a reset seen as a typed error",
			timeout: 20_000,
			run: async () => {
				const listener = await target.driver.listen({ host: "127.0.0.1", port: 0, ...target.listen });
				let calls = 0;
				const server = serve(listener, async (c) => {
					calls++;
					if (calls === 2) {
						// After a first byte, so that over TLS the reset comes after the handshake.
						await c.read();
						c.close(new Error("server reset"));
						return c.closed;
					}
					return echo(c);
				});
				const connect = () => target.driver.connect(listener.address, target.connect);
				try {
					const c = await connect();
					const echoing = readAll(c);
					const payload = pattern(5, 3 * MiB);
					await c.write(payload);
					await c.end();
					assertBytes(
						await within(echoing, 10_000, "no echo to the driver's client"),
						payload,
						"echo to the driver's client",
					);
					const reading = connect().then(async (second) => {
						await second.write(new Uint8Array([1]));
						return readAll(second);
					});
					const error = await within(outcome(reading), 5000, "the driver's client did not see the reset");
					check(
						error instanceof ConnectionError && error.reason === "reset",
						`expected a ConnectionError with reason reset on the driver's client, got ${String(error)}`,
					);
				} finally {
					await server.abort();
				}
			},
		},
	];
}

const PENDING = Symbol("pending");

/** What `promise` settled with after `ms`, or {@link PENDING}. */
async function settledWithin(promise: Promise<unknown> | undefined, ms: number): Promise<unknown> {
	if (!promise) return PENDING;
	return Promise.race([promise, pause(ms).then(() => PENDING)]);
}
