declare const Bun: { version: string } | undefined;
declare const Deno: { version: { deno: string } } | undefined;

export const onBun = typeof Bun !== "undefined";
export const onDeno = typeof Deno !== "undefined";

/** Which runtime runs this file: on Bun and Deno, `node:net` is the runtime's compatibility layer, not Node's libuv. */
export const runtime: string =
	typeof Bun !== "undefined"
		? `Bun ${Bun.version} (Bun's node:net)`
		: typeof Deno !== "undefined"
			? `Deno ${Deno.version.deno} (Deno's node:net)`
			: `Node ${process.versions.node}`;

/**
 * On Deno, accepted `node:net` sockets push back (write() returns false) at
 * 64 KiB whatever `highWaterMark` the server was given, so the driver's own
 * mark is never reached.
 */
export const DENO_NODE_NET_MARK =
	"DENO_NODE_NET_MARK: Deno's node:net sockets push back at 64 KiB, below the server's highWaterMark";
