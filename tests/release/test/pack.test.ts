/**
 * What a user gets from npm: every package packed with `bun pm pack` (which
 * rewrites `workspace:` ranges), installed with npm into an empty folder with
 * no registry, then used under plain Node and under Bun.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const packages = ["packages/core", "packages/driver-node", "packages/driver-bun", "apps/cli"];
const work = mkdtempSync(join(tmpdir(), "echo-cli-pack-"));
const tarballs = join(work, "tarballs");
const consumer = join(work, "consumer");
const children: ChildProcess[] = [];

const run = (command: string, args: string[], cwd: string) =>
	execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });

beforeAll(() => {
	mkdirSync(tarballs);
	mkdirSync(consumer);
	for (const pkg of packages)
		run(process.execPath, ["pm", "pack", "--destination", tarballs, "--quiet"], join(root, pkg));
	writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
	const files = readdirSync(tarballs).map((f) => join(tarballs, f));
	// An unreachable registry proves that everything comes from the tarballs.
	run(
		"npm",
		["install", "--registry", "http://127.0.0.1:9/", "--no-audit", "--no-fund", "--offline", ...files],
		consumer,
	);
}, 180_000);

afterAll(() => {
	for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
	rmSync(work, { recursive: true, force: true });
});

const roundTrip = (driverImport: string, driverClass: string) => `
import { echo, serve } from "@echo-cli/core";
import { ${driverClass} } from "${driverImport}";
const driver = new ${driverClass}();
const listener = await driver.listen({ host: "127.0.0.1", port: 0 });
const server = serve(listener, echo);
const client = await driver.connect(listener.address);
const sent = new Uint8Array(300000).map((_, i) => (i * 7) % 256);
await client.write(sent);
await client.end();
const got = [];
for await (const chunk of client) got.push(...chunk);
await server.shutdown();
if (got.length !== sent.length || got.some((b, i) => b !== sent[i])) throw new Error("echo mismatch");
console.log("round trip ok", got.length);
`;

describe("packed packages", () => {
	test("no packed package.json keeps a workspace: range", () => {
		for (const file of readdirSync(tarballs)) {
			const manifest = run("tar", ["-xOzf", join(tarballs, file), "package/package.json"], work);
			expect(manifest).not.toContain("workspace:");
			const { dependencies = {} } = JSON.parse(manifest) as { dependencies?: Record<string, string> };
			for (const range of Object.values(dependencies)) expect(range).toMatch(/^\^?\d+\.\d+\.\d+/);
		}
	});

	test("each tarball holds dist, types, the README and the license, and no tests", () => {
		for (const file of readdirSync(tarballs)) {
			const listing = run("tar", ["-tzf", join(tarballs, file)], work);
			expect(listing).toContain("package/README.md");
			expect(listing).toContain("package/LICENSE");
			expect(listing).toMatch(/package\/dist\/\S+\.js/);
			expect(listing).not.toMatch(/package\/(test|src)\//);
			if (!file.includes("cli")) expect(listing).toMatch(/package\/dist\/index\.d\.ts/);
		}
	});

	test("under plain Node: core and the node driver import and echo a round trip", () => {
		writeFileSync(join(consumer, "node-round-trip.mjs"), roundTrip("@echo-cli/driver-node", "NodeDriver"));
		expect(run("node", ["node-round-trip.mjs"], consumer)).toContain("round trip ok 300000");
	});

	test("under Bun: core and the bun driver import and echo a round trip", () => {
		writeFileSync(join(consumer, "bun-round-trip.mjs"), roundTrip("@echo-cli/driver-bun", "BunDriver"));
		expect(run(process.execPath, ["bun-round-trip.mjs"], consumer)).toContain("round trip ok 300000");
	});

	test("the installed echo-cli prints its version", () => {
		const { version } = JSON.parse(readFileSync(join(root, "apps/cli/package.json"), "utf8")) as { version: string };
		expect(run(join(consumer, "node_modules/.bin/echo-cli"), ["--version"], consumer).trim()).toBe(version);
	});

	for (const [runtime, args] of [
		["node", ["node_modules/.bin/echo-cli"]],
		["bun", [process.execPath, "node_modules/@echo-cli/cli/dist/cli.js", "--driver", "bun"]],
	] as const) {
		test(`the installed echo-cli serves echo on ${runtime}`, async () => {
			const [command, ...rest] = args;
			const child = spawn(command, [...rest, "--port", "0"], { cwd: consumer, stdio: ["ignore", "pipe", "pipe"] });
			children.push(child);
			let out = "";
			const port = await new Promise<number>((resolve, reject) => {
				child.stdout.on("data", (d: Buffer) => {
					out += d;
					const match = /listening on tcp:\/\/127\.0\.0\.1:(\d+)/.exec(out);
					if (match) resolve(Number(match[1]));
				});
				child.once("exit", (code) => reject(new Error(`echo-cli exited with ${code}`)));
				setTimeout(() => reject(new Error("echo-cli printed no port")), 10_000);
			});
			expect(out).toContain(runtime === "bun" ? "(driver bun, Bun" : "(driver node, Node");
			const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
			const chunks: Buffer[] = [];
			socket.on("data", (d: Buffer) => chunks.push(d));
			socket.end(Buffer.from([0, 1, 2, 253, 254, 255]));
			await new Promise((resolve) => socket.once("end", resolve));
			expect([...Buffer.concat(chunks)]).toEqual([0, 1, 2, 253, 254, 255]);
			const exited = new Promise((resolve) => child.once("exit", resolve));
			child.kill("SIGTERM");
			expect(await exited).toBe(0);
		});
	}
});
