import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import type { Address, Connection } from "../contract.ts";
import { parseListening } from "../listening.ts";
import { assertBytes, pattern } from "./bytes.ts";
import type { KitCase } from "./cases.ts";
import { check, pause, readAll, within } from "./checks.ts";
import { type Client, referenceClient } from "./reference-client.ts";

/** An echo server running in its own process, so that its memory can be measured alone. */
export interface ServerProcess {
	readonly address: Address;
	readonly pid: number;
	stop(): Promise<void>;
}

export interface SoakTarget {
	/** Starts a fresh echo server process. */
	start(): Promise<ServerProcess>;
	/** What opens client connections. Default: the {@link referenceClient}. */
	readonly client?: Client;
}

/** A soak check as a case of the kit. */
export type SoakCase = KitCase;

const MiB = 1024 * 1024;

/** Resident set size of a process in bytes, from /proc (Linux). */
export async function rss(pid: number): Promise<number> {
	const status = await readFile(`/proc/${pid}/status`, "utf8");
	const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
	if (!match) throw new Error(`no VmRSS for process ${pid}`);
	return Number(match[1]) * 1024;
}

/**
 * Large-volume checks against a server in another process: a 1 GiB echo, a
 * client that sends 256 MiB without reading (the server's RSS must stay
 * within `rssSlack` bytes of where it started), and a reset in the middle of
 * a 100 MiB echo that must end that connection only.
 */
export function soak(target: SoakTarget, rssSlack = 16 * MiB): SoakCase[] {
	const client = target.client ?? referenceClient;
	const withServer = async (body: (server: ServerProcess) => Promise<void>) => {
		const server = await target.start();
		try {
			await body(server);
		} finally {
			await server.stop();
		}
	};
	return [
		{
			name: "a 1 GiB echo is byte-exact",
			timeout: 180_000,
			run: () =>
				withServer(async (server) => {
					const c = await client.connect(server.address);
					const total = 1024 * MiB;
					const verified = verify(c, total);
					const piece = 256 * 1024;
					for (let offset = 0; offset < total; offset += piece) await c.write(pattern(offset, piece));
					await c.end();
					check((await verified) === total, "the echo was short");
				}),
		},
		{
			name: "a client that sends 256 MiB without reading leaves the server's RSS where it was",
			timeout: 60_000,
			run: () =>
				withServer(async (server) => {
					// Warm up, so that code and buffers the server needs anyway count in the baseline.
					for (let i = 0; i < 3; i++) {
						const warm = await client.connect(server.address);
						const reading = readAll(warm);
						await warm.write(pattern(0, 16 * MiB));
						await warm.end();
						await reading;
					}
					await pause(200);
					const before = await rss(server.pid);
					let peak = before;
					const c = await client.connect(server.address);
					const limit = 256 * MiB;
					let sent = 0;
					while (sent < limit) {
						const piece = pattern(sent, 256 * 1024);
						const stalled = await Promise.race([c.write(piece).then(() => false), pause(500).then(() => true)]);
						sent += piece.byteLength;
						if (sent % (8 * MiB) === 0 || stalled) peak = Math.max(peak, await rss(server.pid));
						if (stalled) break;
					}
					await pause(300);
					peak = Math.max(peak, await rss(server.pid));
					c.close();
					console.log(
						`server RSS ${(before / MiB).toFixed(1)} -> ${(peak / MiB).toFixed(1)} MiB while a client sent ` +
							`${(sent / MiB).toFixed(1)} MiB without reading`,
					);
					check(sent < limit, `the server took all ${limit} bytes from a client that never read`);
					check(
						peak - before <= rssSlack,
						`server RSS grew by ${((peak - before) / MiB).toFixed(1)} MiB (from ${(before / MiB).toFixed(1)} MiB), ` +
							`more than ${(rssSlack / MiB).toFixed(1)} MiB`,
					);
				}),
		},
		{
			name: "a reset in the middle of a 100 MiB echo ends that connection only",
			timeout: 120_000,
			run: () =>
				withServer(async (server) => {
					const doomed = await client.connect(server.address);
					const survivor = await client.connect(server.address);
					const survivorDone = (async () => {
						const verified = verify(survivor, 100 * MiB);
						for (let offset = 0; offset < 100 * MiB; offset += 256 * 1024) {
							await survivor.write(pattern(offset, 256 * 1024));
						}
						await survivor.end();
						return verified;
					})();
					const doomedRead = verify(doomed, 100 * MiB).catch(() => undefined);
					for (let offset = 0; offset < 50 * MiB; offset += 256 * 1024) {
						await doomed.write(pattern(offset, 256 * 1024));
					}
					doomed.close(new Error("reset in the middle"));
					await doomedRead;
					// What a reset must not do: take the server process down with it.
					check(isAlive(server.pid), "the server process exited after one client reset");
					check((await within(survivorDone, 60_000, "the other echo stalled")) === 100 * MiB, "short echo");
					// The server still accepts and echoes.
					const after = await client.connect(server.address);
					const reading = readAll(after);
					await after.write(pattern(1, 1000));
					await after.end();
					assertBytes(await reading, pattern(1, 1000), "a connection after the reset");
				}),
		},
	];
}

/** Reads until EOF, checking every byte against the pattern; resolves to the byte count. */
async function verify(c: Pick<Connection, "read">, expected: number): Promise<number> {
	let offset = 0;
	for (let chunk = await c.read(); chunk !== null; chunk = await c.read()) {
		assertBytes(chunk, pattern(offset, chunk.byteLength), `echo at offset ${offset}`);
		offset += chunk.byteLength;
	}
	if (offset !== expected) throw new Error(`echo ended after ${offset} of ${expected} bytes`);
	return offset;
}

/**
 * Starts `command args...` as an echo server process that writes its
 * `listeningLine` first on stdout (as `echo-cli --log-format json` does),
 * and stops it by PID.
 */
export async function spawnServer(command: string, args: readonly string[]): Promise<ServerProcess> {
	const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	const address = await within(
		new Promise<Address>((resolve, reject) => {
			let out = "";
			child.stdout.on("data", (d: Uint8Array) => {
				out += new TextDecoder().decode(d);
				const newline = out.indexOf("\n");
				if (newline === -1) return;
				const found = parseListening(out.slice(0, newline));
				if (found) resolve(found);
				else reject(new Error(`the server's first line is not a listening event: ${out.slice(0, newline)}`));
			});
			child.once("exit", (code) => reject(new Error(`the server exited with status ${code} before listening`)));
		}),
		10_000,
		"the server did not say where it listens",
	);
	return {
		address,
		pid: child.pid as number,
		async stop() {
			if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
			await exited;
		},
	};
}

/** Whether a process with this PID is still running. */
export function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}
