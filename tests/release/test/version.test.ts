/**
 * `changeset version` in a scratch copy of the repository: versions move
 * together, changelogs are written, and after `bun install` the lockfile is
 * in step (a frozen install passes).
 */
import { afterAll, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "echo-cli-version-"));
const released = ["packages/core", "packages/driver-node", "packages/driver-bun", "apps/cli"];

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
