import { afterEach, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { assertBytes, pattern } from "@echo-cli/core/testing";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const runtimes = { node: "node", bun: process.execPath } as const;
const children: ChildProcess[] = [];

afterEach(() => {
	for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** Starts an example server on a free port and resolves to that port. */
async function startExample(
	runtime: keyof typeof runtimes,
	file: string,
): Promise<{ port: number; child: ChildProcess }> {
	const child = spawn(runtimes[runtime], [here(`../${file}`)], {
		env: { ...process.env, PORT: "0" },
		stdio: ["ignore", "pipe", "inherit"],
	});
	children.push(child);
	const port = await new Promise<number>((resolve, reject) => {
		let out = "";
		child.stdout?.on("data", (d: Buffer) => {
			out += d;
			const match = /listening on \S*?:(\d+)/.exec(out);
			if (match) resolve(Number(match[1]));
		});
		child.once("exit", (code) => reject(new Error(`${file} exited with ${code}`)));
		setTimeout(() => reject(new Error(`${file} printed no port`)), 10_000);
	});
	return { port, child };
}

async function echoOnce(port: number, payload: Uint8Array): Promise<Uint8Array> {
	const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
	const chunks: Buffer[] = [];
	socket.on("data", (d: Buffer) => chunks.push(d));
	socket.end(payload);
	await new Promise((resolve, reject) => {
		socket.once("end", resolve);
		socket.once("error", reject);
	});
	socket.destroy();
	return new Uint8Array(Buffer.concat(chunks));
}

for (const runtime of ["node", "bun"] as const) {
	describe(`examples on ${runtime}`, () => {
		for (const file of ["basic-echo.mjs", "any-runtime.mjs"]) {
			test(`${file} echoes several clients at once`, async () => {
				const { port } = await startExample(runtime, file);
				const payloads = [0, 1, 2].map((i) => pattern(i, 100_000 * (i + 1)));
				const echoes = await Promise.all(payloads.map((p) => echoOnce(port, p)));
				for (const [i, e] of echoes.entries()) assertBytes(e, payloads[i] as Uint8Array, `client ${i}`);
			});
		}

		test("any-runtime.mjs drains and exits on SIGTERM", async () => {
			const { child } = await startExample(runtime, "any-runtime.mjs");
			const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
			child.kill("SIGTERM");
			expect(await exited).toBe(0);
		});
	});
}

/** The README usage examples run as written, and print what their comments say. */
describe("package README examples", () => {
	const readmes = [
		["core", ["node", "bun"]],
		["driver-node", ["node", "bun"]],
		["driver-bun", ["bun"]],
	] as const;
	for (const [pkg, runs] of readmes) {
		for (const runtime of runs) {
			test(`@echo-cli/${pkg} README on ${runtime}`, () => {
				const readme = readFileSync(here(`../../packages/${pkg}/README.md`), "utf8");
				const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
				expect(code).toBeDefined();
				const file = here(`../.readme-${pkg}.mjs`);
				writeFileSync(file, code as string);
				try {
					const result = spawnSync(runtimes[runtime], [file], { encoding: "utf8", timeout: 20_000 });
					expect(result.stderr).toBe("");
					expect(result.status).toBe(0);
					for (const [, expected] of (code as string).matchAll(/console\.log\(.*\); \/\/ (.+)$/gm)) {
						expect(result.stdout).toContain(expected as string);
					}
				} finally {
					rmSync(file);
				}
			});
		}
	}
});

describe("the fault injection example", () => {
	const file = here("../client-vs-faults.test.mjs");
	test("runs under node --test", () => {
		const result = spawnSync("node", ["--test", file], { encoding: "utf8", timeout: 60_000 });
		expect(result.stdout).toMatch(/# pass 3/);
		expect(result.status).toBe(0);
	}, 70_000);

	test("is what the README shows", () => {
		const readme = readFileSync(here("../../README.md"), "utf8");
		expect(readme).toContain(`\`\`\`js\n${readFileSync(file, "utf8")}\`\`\``);
	});
});
