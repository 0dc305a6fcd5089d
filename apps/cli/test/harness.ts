import { expect } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseUdpAddress } from "@echo-cli/core/datagram";
import { denoExecutable, readyFileAddress, readyFileRecord } from "@echo-cli/core/testing";

/** The built CLI: what `npx`/`bunx` run. */
export const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
/** The Bun running these tests, so no `bun` is needed on the PATH. */
export const BUN = process.execPath;

/** Deno from the `deno` devDependency, pinned in package.json. */
export const DENO = denoExecutable(import.meta.url);

export type Runtime = "node" | "bun" | "deno";

/** The command that runs the built CLI under `runtime`. */
export function cliCommand(runtime: Runtime): string[] {
	if (runtime === "bun") return [BUN, CLI];
	if (runtime === "deno") return [DENO, "run", "--allow-all", CLI];
	return ["node", CLI];
}

export interface Run {
	readonly child: ChildProcess;
	stdout(): string;
	stderr(): string;
	/** Resolves to the exit status (128 + n for a signal); rejects after `ms`. */
	exit(ms?: number): Promise<number>;
}

const running = new Set<ChildProcess>();

/** Starts the CLI under `runtime`. Every child is killed by PID in {@link killAll}. */
export function run(
	runtime: Runtime,
	args: readonly string[],
	env: Record<string, string> = {},
	/** A command that runs the CLI, such as `setpriv ...` or `sh -c 'ulimit -n 96 && exec "$0" "$@"'`. */
	prefix: readonly string[] = [],
): Run {
	const argv = [...prefix, ...cliCommand(runtime), ...args];
	const child = spawn(argv[0] as string, argv.slice(1), {
		env: { ...process.env, ECHO_CLI_DRIVER: "", NO_COLOR: "1", ...env },
		stdio: ["ignore", "pipe", "pipe"],
	});
	running.add(child);
	let out = "";
	let err = "";
	child.stdout?.on("data", (d: Buffer) => {
		out += d.toString();
	});
	child.stderr?.on("data", (d: Buffer) => {
		err += d.toString();
	});
	const exited = new Promise<number>((resolve) => {
		child.once("exit", (code, signal) => {
			running.delete(child);
			resolve(code ?? 128 + (signal === "SIGKILL" ? 9 : signal === "SIGINT" ? 2 : 15));
		});
	});
	return {
		child,
		stdout: () => out,
		stderr: () => err,
		exit: (ms = 10_000) => deadline(exited, ms, () => `the CLI did not exit within ${ms} ms; stderr: ${err}`),
	};
}

const readyFiles = new Set<string>();
let started = 0;

export function killAll(): void {
	for (const child of running) if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
	running.clear();
	for (const file of readyFiles) rmSync(file, { force: true });
	readyFiles.clear();
}

/** A fresh path for a `--ready-file`, removed in {@link killAll}. */
export function readyPath(): string {
	const file = join(tmpdir(), `echo-cli-test-${process.pid}-${started++}.ready`);
	readyFiles.add(file);
	return file;
}

/** Starts the CLI on a free port and learns the port from its `--ready-file`, never from the banner. */
export async function start(
	runtime: Runtime,
	args: readonly string[] = [],
	env: Record<string, string> = {},
	prefix: readonly string[] = [],
): Promise<Run & { port: number; host: string }> {
	const file = readyPath();
	const r = run(runtime, ["--port", "0", "--ready-file", file, ...args], env, prefix);
	const address = await readyAddress(file, r);
	// The ready file is written just before the banner: tests that read the banner wait for it, not for the port.
	if (!args.includes("--quiet") && !args.includes("-q")) {
		await eventually(
			() => /listening on |"event":"listening"/.test(r.stdout()),
			5000,
			() => `no banner after the ready file; stderr: ${r.stderr()}`,
		);
	}
	return { ...r, ...address };
}

/** Waits for the TCP address in the ready file of `r`, a CLI started with `--ready-file file`. */
export async function readyAddress(
	file: string,
	r: Pick<Run, "child" | "stderr">,
	ms = 10_000,
): Promise<{ host: string; port: number }> {
	const gone = () => (r.child.exitCode !== null ? `the CLI exited early: ${r.stderr()}` : undefined);
	const address = await readyFileAddress(file, { ms, gone }).catch((error: Error) => {
		throw new Error(`${error.message}; stderr: ${r.stderr()}`);
	});
	if (address.transport !== "tcp") throw new Error(`the CLI listens on ${JSON.stringify(address)}, not on TCP`);
	return { host: address.host, port: address.port };
}

/**
 * Starts the CLI with UDP (`args` has --udp or --udp-only) on a free port, and
 * learns the UDP port (and TCP's, when served) from its `--ready-file`.
 */
export async function startUdp(
	runtime: Runtime,
	args: readonly string[],
	env: Record<string, string> = {},
	prefix: readonly string[] = [],
): Promise<Run & { udpPort: number; tcpPort: number | undefined }> {
	const file = readyPath();
	const r = run(runtime, ["--port", "0", "--ready-file", file, ...args], env, prefix);
	const gone = () => (r.child.exitCode !== null ? `the CLI exited early: ${r.stderr()}` : undefined);
	const { address, fields } = await readyFileRecord(file, { gone }).catch((error: Error) => {
		throw new Error(`${error.message}; stderr: ${r.stderr()}`);
	});
	const udp = typeof fields.udp === "string" ? parseUdpAddress(fields.udp) : undefined;
	if (!udp) throw new Error(`the ready file names no UDP address: ${JSON.stringify(fields)}`);
	if (!args.includes("--quiet") && !args.includes("-q")) {
		await eventually(
			() => /try UDP: |"event":"listening"/.test(r.stdout()),
			5000,
			() => `no banner after the ready file; stderr: ${r.stderr()}`,
		);
	}
	return { ...r, udpPort: udp.port, tcpPort: address.transport === "tcp" ? address.port : undefined };
}

/** Starts the CLI with exactly `args` and waits until it says where it listens. */
export async function startWith(
	runtime: Runtime,
	args: readonly string[],
	env: Record<string, string> = {},
	prefix: readonly string[] = [],
): Promise<Run> {
	const r = run(runtime, args, env, prefix);
	const started = Date.now();
	for (;;) {
		if (/listening on \S+ \(driver|"event":"listening"/.test(r.stdout())) return r;
		if (r.child.exitCode !== null) throw new Error(`the CLI exited early: ${r.stderr()}`);
		if (Date.now() - started > 10_000) throw new Error(`no listening line after 10 s; stderr: ${r.stderr()}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** Polls `condition` every 20 ms for up to `ms`; rejects with `message` if it never holds. */
export async function eventually(condition: () => boolean, ms: number, message: () => string): Promise<void> {
	const started = Date.now();
	while (!condition()) {
		if (Date.now() - started > ms) throw new Error(message());
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** A raw node:net client, independent of the drivers under test. */
export async function connect(port: number | string, host = "127.0.0.1"): Promise<net.Socket> {
	const socket =
		typeof port === "string"
			? net.connect({ path: port, allowHalfOpen: true })
			: net.connect({ port, host, allowHalfOpen: true });
	await once(socket, "connect");
	return socket;
}

/** Collects everything until the server's FIN; rejects on error or after `ms`. */
export function readToEnd(socket: net.Socket, ms = 10_000): Promise<Uint8Array> {
	const chunks: Buffer[] = [];
	socket.on("data", (d: Buffer) => chunks.push(d));
	const ended = new Promise<Uint8Array>((resolve, reject) => {
		socket.once("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
		socket.once("error", reject);
	});
	return deadline(ended, ms, () => `no FIN after ${ms} ms (${chunks.reduce((n, c) => n + c.length, 0)} bytes read)`);
}

/** Resolves once `length` bytes have arrived, without consuming the socket's end. */
export function received(socket: net.Socket, length: number, ms = 10_000): Promise<void> {
	let got = 0;
	return deadline(
		new Promise<void>((resolve) => {
			const on = (d: Buffer) => {
				got += d.length;
				if (got >= length) {
					socket.off("data", on);
					resolve();
				}
			};
			socket.on("data", on);
		}),
		ms,
		() => `only ${got} of ${length} bytes echoed within ${ms} ms`,
	);
}

function deadline<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	return Promise.race([
		promise,
		new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(message())), ms);
		}),
	]).finally(() => clearTimeout(timer));
}

/** One line on stderr that starts with `echo-cli: ` and matches `pattern`, no stack trace, nothing on stdout. */
export function expectOneLineError(r: Pick<Run, "stdout" | "stderr">, pattern: RegExp): void {
	const lines = r.stderr().trimEnd().split("\n");
	expect(lines).toHaveLength(1);
	expect(lines[0]).toMatch(/^echo-cli: /);
	expect(lines[0]).toMatch(pattern);
	expect(r.stderr()).not.toMatch(/\n\s+at /);
	expect(r.stdout()).toBe("");
}

/** One value of a metric in Prometheus text, or undefined when it is not there. */
export function metric(text: string, name: string): number | undefined {
	const line = text.split("\n").find((l) => l.startsWith(`${name} `));
	return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
