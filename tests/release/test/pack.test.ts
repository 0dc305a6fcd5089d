/**
 * What a user gets from npm, offline: every package packed with `bun pm pack`
 * (which rewrites `workspace:` ranges) and installed with npm into an empty
 * folder with no registry; only third-party dependencies come from npm's
 * cache, filled from the npm registry first. Installs from a registry, with npx and bunx, are
 * in registry.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { denoExecutable } from "@echo-cli/core/testing";
import { denoEchoScript } from "./deno-app.ts";
import { readyPort } from "./ready.ts";

const DENO = denoExecutable(import.meta.url);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const packages = ["packages/core", "packages/driver-node", "packages/driver-bun", "packages/driver-deno", "apps/cli"];
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
	// Third-party dependencies (the CLI's prom-client) come from npm, as for any user: fetched into
	// npm's cache first, so that the install below can stay offline for everything of ours.
	const external: Record<string, string> = {};
	for (const file of files) {
		const manifest = JSON.parse(run("tar", ["-xOzf", file, "package/package.json"], work)) as {
			dependencies?: Record<string, string>;
		};
		for (const [name, range] of Object.entries(manifest.dependencies ?? {}))
			if (!name.startsWith("@echo-cli/")) external[name] = range;
	}
	const deps = join(work, "deps");
	mkdirSync(deps);
	writeFileSync(join(deps, "package.json"), JSON.stringify({ private: true, dependencies: external }));
	run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--package-lock=false"], deps);
	// Offline, npm reaches no registry: everything of ours comes from the tarballs, the rest from the cache.
	run("npm", ["install", "--no-audit", "--no-fund", "--offline", ...files], consumer);
}, 180_000);

afterAll(() => {
	for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
	rmSync(work, { recursive: true, force: true });
});

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

	test("the installed echo-cli prints its version", () => {
		const { version } = JSON.parse(readFileSync(join(root, "apps/cli/package.json"), "utf8")) as { version: string };
		expect(run(join(consumer, "node_modules/.bin/echo-cli"), ["--version"], consumer).trim()).toBe(version);
	});

	for (const [runtime, args] of [
		["node", ["node_modules/.bin/echo-cli"]],
		["bun", [process.execPath, "node_modules/@echo-cli/cli/dist/cli.js", "--driver", "bun"]],
		["deno", [DENO, "run", "--allow-all", "node_modules/@echo-cli/cli/dist/cli.js"]],
	] as const) {
		test(`the installed echo-cli serves echo on ${runtime}`, async () => {
			const [command, ...rest] = args;
			const ready = join(work, `${runtime}.ready`);
			const child = spawn(command, [...rest, "--port", "0", "--ready-file", ready], {
				cwd: consumer,
				stdio: ["ignore", "pipe", "pipe"],
			});
			children.push(child);
			let out = "";
			child.stdout.on("data", (d: Buffer) => {
				out += d;
			});
			const port = await readyPort(ready, child, "echo-cli", 10_000);
			const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
			const chunks: Buffer[] = [];
			socket.on("data", (d: Buffer) => chunks.push(d));
			socket.end(Buffer.from([0, 1, 2, 253, 254, 255]));
			await new Promise((resolve) => socket.once("end", resolve));
			expect([...Buffer.concat(chunks)]).toEqual([0, 1, 2, 253, 254, 255]);
			expect(out).toContain(
				{ node: "(driver node, Node", bun: "(driver bun, Bun", deno: "(driver deno, Deno" }[runtime],
			);
			const exited = new Promise((resolve) => child.once("exit", resolve));
			child.kill("SIGTERM");
			expect(await exited).toBe(0);
		});
	}
});

describe("a Deno consumer of the packed packages", () => {
	test("deno check type-checks, and deno run runs, a script on core and the deno driver", () => {
		const dir = join(consumer, "deno-app");
		mkdirSync(dir, { recursive: true });
		writeFileSync(join(dir, "app.ts"), denoEchoScript([0, 1, 255]));
		// The packages are installed one level up, in node_modules: Deno resolves bare specifiers there.
		const env = { ...process.env, DENO_DIR: join(work, "deno-dir"), NO_COLOR: "1" };
		const check = spawnSync(DENO, ["check", "app.ts"], { cwd: dir, encoding: "utf8", env, timeout: 120_000 });
		expect(`${check.stdout}${check.stderr}`.replace(/^Check .*\n/m, "")).toBe("");
		expect(check.status).toBe(0);
		const ran = spawnSync(DENO, ["run", "--allow-net", "app.ts"], { cwd: dir, encoding: "utf8", env, timeout: 60_000 });
		expect(ran.stdout.trim()).toBe("[0,1,255]");
	}, 120_000);
});

describe("a strict TypeScript consumer of the packed packages, without skipLibCheck", () => {
	const compilers = [
		["TypeScript 7", join(root, "node_modules/.bin/tsc")],
		["TypeScript 5.9", join(root, "tests/release/node_modules/typescript5/bin/tsc")],
	] as const;
	for (const [name, tsc] of compilers) {
		test(`${name} type-checks an application on core, the node driver and faults`, () => {
			const dir = join(consumer, `types-${name.replace(/\W+/g, "")}`);
			mkdirSync(dir, { recursive: true });
			writeFileSync(
				join(dir, "tsconfig.json"),
				JSON.stringify({
					compilerOptions: {
						strict: true,
						target: "es2022",
						lib: ["es2022"],
						module: "nodenext",
						moduleResolution: "nodenext",
						types: [],
						noEmit: true,
						skipLibCheck: false,
					},
					include: ["app.ts"],
				}),
			);
			writeFileSync(
				join(dir, "app.ts"),
				[
					'import { echo, type Listener, serve, type TcpAddress, withFaults } from "@echo-cli/core";',
					'import { NodeDriver } from "@echo-cli/driver-node";',
					"export async function start(): Promise<number> {",
					"\tconst listener: Listener<TcpAddress> = await new NodeDriver().listen({ port: 0 });",
					'\tconst server = serve(listener, withFaults(echo, [{ kind: "latency", delay: 1 }]));',
					"\tawait server.shutdown();",
					"\treturn listener.address.port;",
					"}",
					"",
				].join("\n"),
			);
			writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
			// The packages are installed one level up; Node resolution finds them from here.
			const result = spawnSync(tsc, ["-p", dir], { cwd: dir, encoding: "utf8", timeout: 120_000 });
			expect(`${result.stdout}${result.stderr}`).toBe("");
			expect(result.status).toBe(0);
		}, 120_000);
	}
});

test("every source map in the tarballs carries its sources, so stack traces resolve", () => {
	let maps = 0;
	for (const file of readdirSync(tarballs)) {
		const listing = run("tar", ["-tzf", join(tarballs, file)], work).split("\n");
		for (const entry of listing.filter((e) => e.endsWith(".js.map"))) {
			const map = JSON.parse(run("tar", ["-xOzf", join(tarballs, file), entry], work)) as {
				sources: string[];
				sourcesContent?: (string | null)[];
			};
			maps++;
			expect(map.sourcesContent?.length).toBe(map.sources.length);
			for (const content of map.sourcesContent ?? []) expect(typeof content).toBe("string");
		}
	}
	expect(maps).toBeGreaterThan(10);
});
