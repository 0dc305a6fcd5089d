import type { Address, Connection, Listener } from "../contract.ts";
import { echo } from "../echo.ts";
import { ConnectionError, ListenError, MisuseError } from "../errors.ts";
import { assertBytes, pattern } from "./bytes.ts";
import type { ConformanceCase, ConformanceTarget, WithEcho } from "./cases.ts";
import { check, describe, outcome, pause, readAll, readExactly, rejection, within } from "./checks.ts";
import { referenceClient } from "./reference-client.ts";

const KiB = 1024;

/**
 * The listener's side of the contract: both ways of accepting (`accept()`
 * and `acceptEach()`), one acceptor at a time, closing, and binding an
 * address in use.
 */
export function listenerCases(target: ConformanceTarget, withEcho: WithEcho): Omit<ConformanceCase, "gap">[] {
	const client = target.client ?? referenceClient;
	const listen = () => target.driver.listen({ host: "127.0.0.1", port: 0, ...target.listen });
	/** Runs `body` on a fresh listener; what it puts in `opened` and the listener are closed after. */
	const withListener = async (body: (listener: Listener, opened: { close(): void }[]) => Promise<void>) => {
		const listener = await listen();
		const opened: { close(): void }[] = [];
		try {
			await body(listener, opened);
		} finally {
			for (const c of opened) c.close();
			await listener.close();
		}
	};
	const checkRefused = async (address: Address) => {
		const refused = await client.connect(address).then(
			(c) => {
				c.close();
				return undefined;
			},
			(error: unknown) => error,
		);
		check(
			refused instanceof ConnectionError && refused.reason === "refused",
			`expected a refused ConnectionError, got ${describe(refused)}`,
		);
	};
	return [
		{
			name: "closing the listener resolves a pending accept() to null and refuses new connections",
			timeout: 10_000,
			run: async () => {
				const listener = await listen();
				const pending = listener.accept();
				await listener.close();
				check((await within(pending, 5000, "accept() did not settle")) === null, "accept() did not resolve to null");
				check((await listener.accept()) === null, "accept() after close did not resolve to null");
				await checkRefused(listener.address);
			},
		},
		{
			name: "closing the listener keeps open connections serving",
			timeout: 10_000,
			run: () =>
				withEcho(echo, async ({ connect, server }) => {
					const c = await connect();
					await c.write(pattern(0, 100));
					await readExactly(c, 100);
					await server.listener.close();
					const payload = pattern(100, 64 * KiB);
					const reading = readAll(c);
					await c.write(payload);
					await c.end();
					assertBytes(await reading, payload, "echo after the listener closed");
				}),
		},
		{
			name: "listening on an address in use fails with a typed error",
			timeout: 10_000,
			run: async () => {
				const first = await listen();
				try {
					const error = await target.driver.listen({ ...target.listen, ...first.address }).then(
						async (second) => {
							await second.close();
							return undefined;
						},
						(e: unknown) => e,
					);
					check(
						error instanceof ListenError && error.reason === "address-in-use",
						`expected ListenError address-in-use, got ${describe(error)}`,
					);
				} finally {
					await first.close();
				}
			},
		},
		{
			name: "reusePort lets two listeners share a port and both get connections, or is refused as unavailable",
			timeout: 20_000,
			run: async () => {
				const first = await target.driver
					.listen({ ...target.listen, host: "127.0.0.1", port: 0, reusePort: true })
					.then(
						(l) => l,
						(e: unknown) => e,
					);
				if (!("acceptEach" in (first as object))) {
					check(
						first instanceof ListenError && first.reason === "unavailable" && /SO_REUSEPORT/.test(first.message),
						`expected a listener or an unavailable ListenError naming SO_REUSEPORT, got ${describe(first)}`,
					);
					return;
				}
				const a = first as Listener;
				const b = await target.driver.listen({ ...target.listen, ...a.address, reusePort: true });
				const served = [0, 0];
				const serveEach = (listener: Listener, i: number) =>
					listener.acceptEach((c) => {
						served[i] = (served[i] ?? 0) + 1;
						c.receive(echo);
					});
				serveEach(a, 0);
				serveEach(b, 1);
				try {
					// The kernel hashes each connection's addresses: 64 connections miss one listener with odds of 2^-63.
					for (let i = 0; i < 64; i++) {
						const c = await client.connect(a.address);
						await c.write(pattern(16, i));
						await c.end();
						assertBytes(await within(readAll(c), 5000, "no echo"), pattern(16, i), `connection ${i}`);
						c.close();
					}
					check((served[0] ?? 0) > 0 && (served[1] ?? 0) > 0, `connections were not shared: ${served.join(" and ")}`);
				} finally {
					await a.close();
					await b.close();
				}
			},
		},
		{
			name: "acceptEach() hands over queued connections first, in order, then each new one as it arrives",
			timeout: 10_000,
			run: () =>
				withListener(async (listener, opened) => {
					for (const id of [1, 2]) {
						const c = await client.connect(listener.address);
						opened.push(c);
						await c.write(Uint8Array.of(id));
					}
					await until(() => listener.connectionCount === 2, 5000, "the listener did not accept two connections");
					const got: Connection[] = [];
					listener.acceptEach((c) => {
						got.push(c);
						opened.push(c);
					});
					check(got.length === 2, `acceptEach() handed over ${got.length} queued connections at once, expected 2`);
					opened.push(await client.connect(listener.address));
					await until(() => got.length === 3, 5000, "a connection made after acceptEach() was not handed over");
					for (const [i, c] of got.slice(0, 2).entries()) {
						assertBytes(await readExactly(c, 1), Uint8Array.of(i + 1), `queued connection ${i + 1}`);
					}
				}),
		},
		{
			name: "acceptEach() is the one acceptor: accept() rejects and a second acceptEach() throws, both concurrent-accept",
			timeout: 10_000,
			run: async () => {
				const first = await listen();
				const second = await listen();
				try {
					first.acceptEach(() => {});
					const pulled = await rejection(first.accept());
					check(
						pulled instanceof MisuseError && pulled.reason === "concurrent-accept",
						`accept() after acceptEach(): expected MisuseError concurrent-accept, got ${describe(pulled)}`,
					);
					const again = thrown(() => first.acceptEach(() => {}));
					check(
						again instanceof MisuseError && again.reason === "concurrent-accept",
						`a second acceptEach(): expected MisuseError concurrent-accept, got ${describe(again)}`,
					);
					const pending = second.accept();
					const whilePending = thrown(() => second.acceptEach(() => {}));
					check(
						whilePending instanceof MisuseError && whilePending.reason === "concurrent-accept",
						`acceptEach() while accept() is pending: expected MisuseError concurrent-accept, got ${describe(whilePending)}`,
					);
					await second.close();
					check((await within(pending, 5000, "accept() did not settle")) === null, "accept() did not resolve to null");
				} finally {
					await Promise.all([first.close(), second.close()]);
				}
			},
		},
		{
			name: "a connection whose acceptEach() callback throws is closed with that error; the next is handed over",
			timeout: 10_000,
			run: () =>
				withListener(async (listener, opened) => {
					const failure = new Error("acceptor failure");
					const got: Connection[] = [];
					listener.acceptEach((c) => {
						got.push(c);
						opened.push(c);
						if (got.length === 1) throw failure;
						c.receive(echo);
					});
					// The reset may come before the client sees its connect complete.
					const failing = client.connect(listener.address).then((bad) => {
						opened.push(bad);
						return bad.read();
					});
					const ended = await within(outcome(failing), 5000, "the failed connection was not closed");
					check(
						ended === null || ended instanceof ConnectionError,
						`expected the connection to end, got ${describe(ended)}`,
					);
					check(
						got[0]?.error?.cause === failure,
						`expected the server side to fail with the thrown error, got ${describe(got[0]?.error)}`,
					);
					const good = await client.connect(listener.address);
					opened.push(good);
					const reading = readAll(good);
					await good.write(Uint8Array.of(1, 2, 3));
					await good.end();
					assertBytes(await reading, Uint8Array.of(1, 2, 3), "a connection after the failure");
				}),
		},
	];
}

/** Waits until `condition` holds, checking every 5 ms, for at most `ms`. */
async function until(condition: () => boolean, ms: number, message: string): Promise<void> {
	const deadline = performance.now() + ms;
	while (!condition()) {
		if (performance.now() > deadline) throw new Error(`${message} (after ${ms} ms)`);
		await pause(5);
	}
}

function thrown(run: () => void): unknown {
	try {
		run();
		return undefined;
	} catch (error) {
		return error;
	}
}
