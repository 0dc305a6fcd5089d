/**
 * `changeset version` in a scratch copy of the repository: versions move
 * together, changelogs are written, and after `bun install` the lockfile is
 * in step (a frozen install passes).
 */
import { afterAll, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "echo-cli-version-"));
const released = ["packages/core", "packages/driver-node", "packages/driver-bun", "packages/driver-deno", "apps/cli"];

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const read = (path: string) => readFileSync(join(scratch, path), "utf8");
const version = (pkg: string) => (JSON.parse(read(`${pkg}/package.json`)) as { version: string }).version;

test("changeset version bumps every package together, writes changelogs and keeps the lockfile in step", () => {
	const tracked = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
		cwd: root,
		encoding: "utf8",
	})
		.split("\0")
		.filter(Boolean);
	for (const file of tracked) {
		if (existsSync(join(root, file))) cpSync(join(root, file), join(scratch, file), { recursive: true });
	}
	const changesets = execFileSync("ls", [join(scratch, ".changeset")], { encoding: "utf8" });
	expect(changesets).toMatch(/\.md/);
	const before = Object.fromEntries(released.map((p) => [p, version(p)]));
	const bin = join(root, "node_modules/.bin");
	const env = { ...process.env, PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH}` };
	execFileSync(join(bin, "changeset"), ["version"], { cwd: scratch, env, stdio: "pipe" });
	const after = released.map(version);
	expect(new Set(after).size).toBe(1);
	expect(after[0]).not.toBe(before["packages/core"]);
	for (const pkg of released) {
		const changelog = read(`${pkg}/CHANGELOG.md`);
		expect(changelog).toContain(`## ${after[0]}`);
		// Internal ranges stay workspace ranges; `bun publish` rewrites them when packing.
		expect(read(`${pkg}/package.json`)).not.toMatch(/"@echo-cli\/[^"]+": "\^?\d/);
	}
	expect(read("packages/core/CHANGELOG.md")).toContain("First release");
	for (const internal of ["examples", "tests/release"]) {
		expect(version(internal)).toBe("0.0.0");
		expect(existsSync(join(scratch, internal, "CHANGELOG.md"))).toBe(false);
	}
	execFileSync(process.execPath, ["install"], { cwd: scratch, env, stdio: "pipe", timeout: 120_000 });
	expect(read("bun.lock")).toContain(`"version": "${after[0]}"`);
	execFileSync(process.execPath, ["install", "--frozen-lockfile"], {
		cwd: scratch,
		env,
		stdio: "pipe",
		timeout: 120_000,
	});
}, 240_000);

/** Runs a command in the scratch copy; resolves to its status and output. */
function inScratch(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = scratch) {
	const result = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 120_000 });
	return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test("packing an unbuilt package fails and says to build; a built one ships its changelog", () => {
	const unbuilt = inScratch(process.execPath, ["pm", "pack", "--dry-run"], process.env, join(scratch, "packages/core"));
	expect(unbuilt.status).not.toBe(0);
	expect(unbuilt.output).toMatch(/dist\/index\.js.*missing; run bun run build before packing or publishing/);
	for (const pkg of released) {
		cpSync(join(root, pkg, "dist"), join(scratch, pkg, "dist"), { recursive: true });
		const packed = inScratch(process.execPath, ["pm", "pack", "--dry-run"], process.env, join(scratch, pkg));
		expect(packed.status).toBe(0);
		expect(packed.output).toContain("CHANGELOG.md");
	}
}, 120_000);

test("release refuses a tree with uncommitted changes; tagging fails loudly without a git identity", () => {
	const identity = {
		GIT_AUTHOR_NAME: "Release Test",
		GIT_AUTHOR_EMAIL: "release@test.invalid",
		GIT_COMMITTER_NAME: "Release Test",
		GIT_COMMITTER_EMAIL: "release@test.invalid",
	};
	const isolated = { ...process.env, HOME: scratch, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };
	expect(inScratch("git", ["init", "-q"], isolated).status).toBe(0);
	expect(inScratch("git", ["add", "-A"], isolated).status).toBe(0);
	expect(inScratch("git", ["commit", "-qm", "release"], { ...isolated, ...identity }).status).toBe(0);

	writeFileSync(join(scratch, "stray.txt"), "not committed");
	const dirty = inScratch(process.execPath, ["scripts/release.ts"], isolated);
	expect(dirty.status).toBe(1);
	expect(dirty.output).toMatch(/uncommitted changes; commit or stash them first/);
	rmSync(join(scratch, "stray.txt"));

	const bin = join(root, "node_modules/.bin");
	const path = `${bin}:${dirname(process.execPath)}:${process.env.PATH}`;
	const anonymous = inScratch(process.execPath, ["scripts/tag.ts"], { ...isolated, PATH: path, EMAIL: "" });
	expect(anonymous.status).toBe(1);
	expect(anonymous.output).toMatch(/announced .* but git created no such tag; set a git identity/);

	const named = inScratch(process.execPath, ["scripts/tag.ts"], { ...isolated, ...identity, PATH: path });
	expect(named.status).toBe(0);
	expect(inScratch("git", ["tag", "--list"], isolated).output).toMatch(/@echo-cli\/core@\d+\.\d+\.\d+/);
}, 120_000);
