/**
 * What a user gets from npm: every package packed with `bun pm pack` (which
 * rewrites `workspace:` ranges), installed with npm into an empty folder with
 * no registry, then used under plain Node and under Bun.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
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

test("npx echo-cli stops, with its summary, when npx is sent SIGTERM by its PID", async () => {
	// npx runs the bin as npm exec -> sh -c echo-cli -> node: the server must not outlive npx.
	const npx = spawn("npx", ["--no-install", "echo-cli", "--port", "0"], {
		cwd: consumer,
		stdio: ["ignore", "pipe", "pipe"],
	});
	children.push(npx);
	let out = "";
	npx.stdout.on("data", (d: Buffer) => {
		out += d;
	});
	// The server holds the pipe too: its end means every process of the command is gone.
	const gone = new Promise<void>((resolve) => npx.stdout.once("close", () => resolve()));
	const port = await new Promise<number>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no banner from npx echo-cli: ${out}`)), 30_000);
		npx.stdout.on("data", () => {
			const match = /listening on tcp:\/\/127\.0\.0\.1:(\d+)/.exec(out);
			if (!match) return;
			clearTimeout(timer);
			resolve(Number(match[1]));
		});
	});
	npx.kill("SIGTERM");
	await Promise.race([
		gone,
		new Promise((_, reject) => setTimeout(() => reject(new Error("the server outlived npx")), 15_000)),
	]);
	expect(out).toMatch(/served 0 connections/);
	const refused = await new Promise<string>((resolve) => {
		const probe = net.connect({ port, host: "127.0.0.1" });
		probe.once("connect", () => {
			probe.destroy();
			resolve("connected");
		});
		probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
	});
	expect(refused).toBe("ECONNREFUSED");
}, 60_000);

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
