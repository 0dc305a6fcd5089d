import { readFileSync } from "node:fs";
import type { Address } from "../contract.ts";
import { formatUdpAddress } from "../datagram/base-socket.ts";
import type { UdpAddress } from "../datagram/contract.ts";
import { parseListeningRecord } from "../listening.ts";

export interface ReadyFileOptions {
	/** Give up after this many milliseconds. Default 10 000. */
	readonly ms?: number;
	/** Says why the server will never write the file (it exited), or undefined while it may. */
	readonly gone?: () => string | undefined;
}

/**
 * The address in a server's ready file (`echo-cli --ready-file FILE`): the
 * one listening line, written whole by a rename, so a file that parses is
 * complete. Polls until it is there; rejects when `gone` says the server
 * exited, or after `ms`. The same record may carry more (`metrics`);
 * {@link readyFileRecord} returns all of it.
 */
export async function readyFileAddress(file: string, options: ReadyFileOptions = {}): Promise<Address> {
	const { address } = await readyFileRecord(file, options);
	if (address.transport === "udp")
		throw new Error(`the server in ${file} serves UDP only, at ${formatUdpAddress(address)}`);
	return address;
}

/**
 * Like {@link readyFileAddress}, with every field of the record. A server
 * that serves UDP too names it in `fields.udp`; one that serves UDP only
 * has a UDP `address`.
 */
export async function readyFileRecord(
	file: string,
	options: ReadyFileOptions = {},
): Promise<{ readonly address: Address | UdpAddress; readonly fields: Readonly<Record<string, unknown>> }> {
	const ms = options.ms ?? 10_000;
	const started = Date.now();
	for (;;) {
		let text = "";
		try {
			text = readFileSync(file, "utf8").trim();
		} catch {
			// Not there yet.
		}
		const record = parseListeningRecord(text);
		if (record) return record;
		const why = options.gone?.();
		if (why !== undefined) throw new Error(`no ready file in ${file}: ${why}`);
		if (Date.now() - started > ms) throw new Error(`no ready file in ${file} after ${ms} ms`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}
