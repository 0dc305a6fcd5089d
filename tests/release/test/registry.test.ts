/**
 * The release flow against a real registry on loopback (verdaccio from npm):
 * the real `version-packages` and `release` scripts publish from a scratch
 * copy, then the packages are installed and run as users do.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { collect, denoExecutable, freePort, tryConnect } from "@echo-cli/core/testing";
import { denoEchoScript } from "./deno-app.ts";
import { readyPort } from "./ready.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "echo-cli-registry-"));
const scratch = join(work, "repo");
const verdaccio = join(process.env.HOME ?? homedir(), ".cache/echo-cli/verdaccio-6.8.0");
const children: ChildProcess[] = [];
const identity = {
	GIT_AUTHOR_NAME: "Release Test",
	GIT_AUTHOR_EMAIL: "release@test.invalid",
	GIT_COMMITTER_NAME: "Release Test",
	GIT_COMMITTER_EMAIL: "release@test.invalid",
};
let registry = "";
let token = "";
let version = "";

function sh(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
	const result = spawnSync(command, args, {
		cwd,
		env: { ...process.env, ...env },
		encoding: "utf8",
		timeout: 240_000,
	});
	if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
	return result.stdout;
}

beforeAll(async () => {
	// verdaccio 6.8.0 runs on Node 20 with node-fetch 2.7.0; it is installed once and kept.
	if (!existsSync(join(verdaccio, "node_modules/verdaccio/bin/verdaccio"))) {
		mkdirSync(verdaccio, { recursive: true });
		writeFileSync(
			join(verdaccio, "package.json"),
			JSON.stringify({ private: true, dependencies: { verdaccio: "6.8.0" }, overrides: { "node-fetch": "2.7.0" } }),
		);
		sh("npm", ["install", "--no-audit", "--no-fund", "--silent"], verdaccio);
	}
	const port = await freePort();
	registry = `http://127.0.0.1:${port}/`;
	writeFileSync(
		join(work, "config.yaml"),
		[
			`storage: ${join(work, "storage")}`,
			`auth: { htpasswd: { file: ${join(work, "htpasswd")}, max_users: 10 } }`,
			// The CLI's own dependencies (prom-client) come from npm through the registry, as for a user.
			"uplinks: { npmjs: { url: 'https://registry.npmjs.org/' } }",
			"packages: { '@echo-cli/*': { access: $all, publish: $authenticated }, '**': { access: $all, proxy: npmjs } }",
			"log: { type: stdout, format: pretty, level: error }",
		].join("\n"),
	);
	const server = spawn(
		"node",
		[
			join(verdaccio, "node_modules/verdaccio/bin/verdaccio"),
			"--config",
			join(work, "config.yaml"),
			"--listen",
			`127.0.0.1:${port}`,
		],
		{ stdio: "ignore" },
	);
	children.push(server);
	for (let i = 0; i < 100; i++) {
		if ((await fetch(`${registry}-/ping`).catch(() => undefined))?.ok) break;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	const user = await fetch(`${registry}-/user/org.couchdb.user:release`, {
		method: "PUT",
		headers: { "content-type": "application/json" },
		body: JSON.stringify({ name: "release", password: "release-password" }),
	});
	token = ((await user.json()) as { token: string }).token;

	// A scratch copy of the repository as committed, with its own git history.
	const tracked = sh("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], root).split("\0");
	for (const file of tracked.filter(Boolean)) {
		if (existsSync(join(root, file))) cpSync(join(root, file), join(scratch, file), { recursive: true });
	}
	const bun = process.execPath;
	const env = { ...identity, PATH: `${dirname(bun)}:${process.env.PATH}`, TURBO_TELEMETRY_DISABLED: "1" };
	sh(bun, ["install", "--frozen-lockfile"], scratch, env);
	sh("git", ["init", "-q"], scratch, env);
	sh("git", ["add", "-A"], scratch, env);
	sh("git", ["commit", "-qm", "scratch"], scratch, env);
	sh(bun, ["run", "version-packages"], scratch, env);
	sh("git", ["add", "-A"], scratch, env);
	sh("git", ["commit", "-qm", "version packages"], scratch, env);
	version = JSON.parse(
		sh("node", ["-p", "JSON.stringify(require('./apps/cli/package.json').version)"], scratch),
	) as string;
	sh(bun, ["run", "release", "--registry", registry], scratch, {
		...env,
		NPM_CONFIG_TOKEN: token,
		ECHO_CLI_RELEASE_TESTED: "1",
	});
	// The CLI's third-party dependencies reach the registry from npm through its uplink; one install
	// first puts them in the registry's storage, retried, so a slow first fetch from npm is not
	// taken for a broken release.
	const warm = join(work, "warm");
	mkdirSync(warm, { recursive: true });
	let failure = "";
	for (let attempt = 0; attempt < 3; attempt++) {
		const result = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "@echo-cli/cli"], {
			cwd: warm,
			env: { ...process.env, ...userEnv(), npm_config_cache: join(work, "warm-cache") },
			encoding: "utf8",
			timeout: 240_000,
		});
		if (result.status === 0) {
			failure = "";
			break;
		}
		failure = `${result.stdout}\n${result.stderr}`;
	}
	if (failure) throw new Error(`@echo-cli/cli does not install from the registry:\n${failure}`);
}, 600_000);

afterAll(() => {
	for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
	rmSync(work, { recursive: true, force: true });
});

/** Everything a child writes to stdout, as it arrives. */
function stdoutOf(child: ChildProcess): { text: string; child: ChildProcess } {
	const output = { text: "", child };
	child.stdout?.on("data", (d: Buffer) => {
		output.text += d;
	});
	return output;
}

/** Sends `bytes` and our FIN, and resolves to what came back before the server's FIN. */
async function echoOnce(port: number, bytes: number[]): Promise<number[]> {
	const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
	const reply = collect(socket);
	socket.end(Uint8Array.from(bytes));
	return [...(await reply)];
}

const userEnv = () => ({ npm_config_registry: registry, NPM_CONFIG_REGISTRY: registry, BUN_CONFIG_REGISTRY: registry });

/** `npx -y @echo-cli/cli --port 0 ...args` from a home of its own, once it is listening; `gone` settles when its stdout closes. */
async function npxCli(name: string, args: readonly string[]) {
	const home = join(work, `${name}-home`);
	mkdirSync(home, { recursive: true });
	const ready = join(work, `${name}.ready`);
	const npx = spawn("npx", ["-y", "@echo-cli/cli", ...args, "--port", "0", "--ready-file", ready], {
		cwd: home,
		env: { ...process.env, ...userEnv(), npm_config_cache: join(work, "npm-cache") },
		stdio: ["ignore", "pipe", "pipe"],
	});
	children.push(npx);
	const output = stdoutOf(npx);
	const gone = new Promise<void>((resolve) => npx.stdout.once("close", () => resolve()));
	const port = await readyPort(ready, npx, `npx ${args.join(" ")}`.trim());
	return { npx, output, gone, port };
}

describe("published to a registry on loopback", () => {
	test("release published all five packages at the same version and tagged them", async () => {
		for (const name of [
			"@echo-cli/core",
			"@echo-cli/driver-node",
			"@echo-cli/driver-bun",
			"@echo-cli/driver-deno",
			"@echo-cli/cli",
		]) {
			const manifest = (await (await fetch(`${registry}${name.replace("/", "%2f")}`)).json()) as {
				versions: Record<string, { dependencies?: Record<string, string> }>;
			};
			expect(Object.keys(manifest.versions)).toContain(version);
			expect(JSON.stringify(manifest.versions[version]?.dependencies ?? {})).not.toContain("workspace:");
		}
		expect(sh("git", ["tag", "--list"], scratch)).toContain(`@echo-cli/cli@${version}`);
	});

	test("npx -y @echo-cli/cli serves echo, and a SIGTERM to npx drains it and frees the port", async () => {
		const { npx, output, gone, port } = await npxCli("npx", []);
		expect(await echoOnce(port, [0, 255, 7])).toEqual([0, 255, 7]);
		expect(output.text).toContain(`listening on tcp://127.0.0.1:${port} (driver node, Node`);
		npx.kill("SIGTERM");
		await gone;
		expect(output.text).toMatch(/served 1 connection, echoed 3 B/);
		expect(await tryConnect(port)).toBe("ECONNREFUSED");
	}, 120_000);

	test("npx -y @echo-cli/cli --tls makes a certificate (selfsigned installed as an ordinary dependency) and serves TLS verified against --cert-out", async () => {
		const certificate = join(work, "npx-tls.pem");
		const { npx, output, gone, port } = await npxCli("npx-tls", ["--tls", "--cert-out", certificate]);
		const echoed = await new Promise<number[]>((resolve, reject) => {
			const socket = tls.connect({
				port,
				host: "127.0.0.1",
				ca: readFileSync(certificate, "utf8"),
				allowHalfOpen: true,
			});
			const reply = collect(socket);
			socket.once("error", reject);
			socket.once("secureConnect", () => {
				socket.end(Uint8Array.from([0, 255, 7]));
				reply.then((bytes) => resolve([...bytes]), reject);
			});
		});
		expect(echoed).toEqual([0, 255, 7]);
		expect(output.text).toMatch(/TLS certificate \(made at start\) SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
		npx.kill("SIGTERM");
		await gone;
		expect(output.text).toMatch(/served 1 connection, echoed 3 B/);
	}, 120_000);

	test("bunx --bun @echo-cli/cli --driver bun serves echo on Bun", async () => {
		const ready = join(work, "bunx.ready");
		const bunx = spawn(
			process.execPath,
			["x", "--bun", "@echo-cli/cli", "--driver", "bun", "--port", "0", "--ready-file", ready],
			{
				cwd: work,
				env: { ...process.env, ...userEnv(), BUN_INSTALL_CACHE_DIR: join(work, "bun-cache") },
				stdio: ["ignore", "pipe", "pipe"],
			},
		);
		children.push(bunx);
		const output = stdoutOf(bunx);
		const port = await readyPort(ready, bunx, "bunx");
		expect(await echoOnce(port, [9, 8, 7])).toEqual([9, 8, 7]);
		expect(output.text).toContain(`listening on tcp://127.0.0.1:${port} (driver bun, Bun`);
		const exited = new Promise((resolve) => bunx.once("exit", resolve));
		bunx.kill("SIGTERM");
		expect(await exited).toBe(0);
		expect(output.text).toMatch(/served 1 connection/);
	}, 120_000);

	test("deno run -A npm:@echo-cli/cli serves echo on Deno with the deno driver, and a SIGTERM drains it", async () => {
		const ready = join(work, "deno.ready");
		const env = { ...process.env, ...userEnv(), DENO_DIR: join(work, "deno-dir"), NO_COLOR: "1" };
		const deno = spawn(
			denoExecutable(import.meta.url),
			// Deno takes no npm version younger than a day unless told (its minimum dependency age); this one is minutes old.
			["run", "-A", "--minimum-dependency-age=0", `npm:@echo-cli/cli@${version}`, "--port", "0", "--ready-file", ready],
			{ cwd: work, env, stdio: ["ignore", "pipe", "pipe"] },
		);
		children.push(deno);
		const output = stdoutOf(deno);
		const port = await readyPort(ready, deno, "deno run npm:@echo-cli/cli");
		expect(await echoOnce(port, [0, 255, 7])).toEqual([0, 255, 7]);
		expect(output.text).toContain(`listening on tcp://127.0.0.1:${port} (driver deno, Deno`);
		const exited = new Promise((resolve) => deno.once("exit", resolve));
		deno.kill("SIGTERM");
		expect(await exited).toBe(0);
		expect(output.text).toMatch(/served 1 connection, echoed 3 B/);
	}, 180_000);

	test("a Deno script importing npm:@echo-cli/core and npm:@echo-cli/driver-deno from the registry type-checks and runs", () => {
		const dir = join(work, "deno-app");
		mkdirSync(dir, { recursive: true });
		writeFileSync(join(dir, "app.ts"), denoEchoScript([3, 2, 1], "npm:", `@${version}`));
		const deno = denoExecutable(import.meta.url);
		const env = { ...userEnv(), DENO_DIR: join(work, "deno-dir"), NO_COLOR: "1" };
		const checked = sh(deno, ["check", "--minimum-dependency-age=0", "app.ts"], dir, env);
		expect(checked).toBe("");
		expect(sh(deno, ["run", "--allow-net", "--minimum-dependency-age=0", "app.ts"], dir, env).trim()).toBe("[3,2,1]");
	}, 180_000);

	test("driver-deno's jsr.json carries the release's version and passes deno publish --dry-run against the released core", () => {
		const dir = join(scratch, "packages/driver-deno");
		const jsr = JSON.parse(readFileSync(join(dir, "jsr.json"), "utf8")) as {
			version: string;
			imports: Record<string, string>;
		};
		expect(jsr.version).toBe(version);
		expect(jsr.imports["@echo-cli/core"]).toBe(`npm:@echo-cli/core@^${version}`);
		// From a folder of what jsr.json publishes: inside the Bun workspace, Deno resolves @echo-cli/core to the
		// workspace's own files instead of the npm: import.
		const copy = join(work, "jsr-driver-deno");
		for (const entry of ["src", "README.md", "LICENSE"])
			cpSync(join(dir, entry), join(copy, entry), { recursive: true });
		// As deno.json, to add what the publish flag cannot set: core is minutes old, and Deno takes no npm
		// version younger than a day unless told (its minimum dependency age).
		writeFileSync(join(copy, "deno.json"), JSON.stringify({ ...jsr, minimumDependencyAge: "0" }));
		const env = { ...userEnv(), DENO_DIR: join(work, "deno-dir"), NO_COLOR: "1" };
		const result = spawnSync(denoExecutable(import.meta.url), ["publish", "--dry-run", "--allow-dirty"], {
			cwd: copy,
			env: { ...process.env, ...env },
			encoding: "utf8",
			timeout: 120_000,
		});
		expect(`${result.stdout}${result.stderr}`).toContain("Success Dry run complete");
		expect(result.status).toBe(0);
	}, 180_000);

	test("a Node ESM script on core and the node driver, a Bun script on the bun driver, and a strict TypeScript consumer, installed from the registry", () => {
		const app = join(work, "app");
		mkdirSync(app, { recursive: true });
		writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
		sh(
			"npm",
			[
				"install",
				"--no-audit",
				"--no-fund",
				`@echo-cli/core@${version}`,
				`@echo-cli/driver-node@${version}`,
				`@echo-cli/driver-bun@${version}`,
			],
			app,
			userEnv(),
		);
		const script = (driver: string, cls: string) => `
import { echo, serve } from "@echo-cli/core";
import { ${cls} } from "${driver}";
const listener = await new ${cls}().listen({ host: "127.0.0.1", port: 0 });
const server = serve(listener, echo);
const client = await new ${cls}().connect(listener.address);
await client.write(Uint8Array.of(1, 2, 3));
await client.end();
const got = [];
for await (const chunk of client) got.push(...chunk);
await server.shutdown();
console.log(JSON.stringify(got));
`;
		writeFileSync(join(app, "node.mjs"), script("@echo-cli/driver-node", "NodeDriver"));
		writeFileSync(join(app, "bun.mjs"), script("@echo-cli/driver-bun", "BunDriver"));
		expect(sh("node", ["node.mjs"], app).trim()).toBe("[1,2,3]");
		expect(sh(process.execPath, ["bun.mjs"], app).trim()).toBe("[1,2,3]");
		// And a strict TypeScript consumer of what was installed, without skipLibCheck.
		writeFileSync(
			join(app, "tsconfig.json"),
			JSON.stringify({
				compilerOptions: {
					strict: true,
					target: "es2022",
					lib: ["es2022"],
					module: "nodenext",
					types: [],
					noEmit: true,
				},
				include: ["app.ts"],
			}),
		);
		writeFileSync(
			join(app, "app.ts"),
			'import { echo, serve } from "@echo-cli/core";\nimport { NodeDriver } from "@echo-cli/driver-node";\n' +
				"export const port: number = (await new NodeDriver().listen({ port: 0 })).address.port;\nexport { echo, serve };\n",
		);
		sh(join(root, "node_modules/.bin/tsc"), ["-p", app], app);
	}, 120_000);
});
