declare const Bun: { version: string } | undefined;

export const onBun = typeof Bun !== "undefined";

/** Which runtime runs this file: on Bun, `node:net` is Bun's compatibility layer, not Node's libuv. */
export const runtime: string =
	typeof Bun !== "undefined" ? `Bun ${Bun.version} (Bun's node:net)` : `Node ${process.versions.node}`;
