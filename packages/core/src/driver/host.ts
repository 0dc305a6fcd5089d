import { lookup } from "node:dns/promises";
import { listenErrorFrom } from "../errors.ts";
import { hostPort } from "../format.ts";

/**
 * The numeric address to bind for `host`, as `node:net` on Node picks it
 * (`dns.lookup`): drivers bind that, so `localhost` binds and reports the
 * same address on every driver and runtime. Rejects with a `ListenError`.
 */
export async function bindAddress(host: string, port: number): Promise<{ host: string; family: "IPv4" | "IPv6" }> {
	try {
		const found = await lookup(host);
		return { host: found.address, family: found.family === 6 ? "IPv6" : "IPv4" };
	} catch (error) {
		throw listenErrorFrom(error, hostPort(host, port));
	}
}
