// Type tests: this file must typecheck (`bun run typecheck`); each @ts-expect-error must stay an error.
import { test } from "node:test";
import type { ConnectionOutcome, Listener, TcpAddress, UnixAddress } from "../src/index.ts";
import { MemoryDriver } from "../src/index.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_: T) => {};

test("a TCP listener's address has a port, a unix listener's a path", async () => {
	const driver = new MemoryDriver();
	const listener = await driver.listen({ port: 0 });
	const port: number = listener.address.port;
	assertType<Equal<typeof listener, Listener<TcpAddress>>>(true);
	// @ts-expect-error a TCP address has no path
	void listener.address.path;
	const unix = driver.listen({ path: "/tmp/x.sock" }).catch(() => undefined);
	assertType<Equal<Awaited<typeof unix>, Listener<UnixAddress> | undefined>>(true);
	await listener.close();
	if (port <= 0) throw new Error("expected a real port");
});

test("ConnectionSummary.outcome can be switched on exhaustively", () => {
	const describe = (outcome: ConnectionOutcome): string => {
		switch (outcome) {
			case "closed":
			case "idle":
			case "stalled":
			case "shutdown":
			case "handler-error":
			case "reset":
			case "aborted":
			case "refused":
			case "unreachable":
			case "timeout":
			case "protocol":
			case "tls":
				return outcome;
			default: {
				const never: never = outcome;
				return never;
			}
		}
	};
	if (describe("idle") !== "idle") throw new Error("switch broke");
});
