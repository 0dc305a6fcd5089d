/**
 * `bun run release`: publishes what `bun run version-packages` prepared.
 * Refuses a tree with uncommitted changes and a tree whose tests fail; then
 * builds, publishes every package whose version is not on the registry yet
 * (`bun publish --recursive`, which rewrites `workspace:` ranges), and tags
 * the release, checking that the tags exist. Push the tags afterwards with
 * `git push --follow-tags` (or `git push origin --tags`).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { tagRelease } from "./tag.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

function step(what: string, command: string, args: readonly string[]): void {
	const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
	if (result.status !== 0) {
		process.stderr.write(`release: ${what} failed; nothing was published\n`);
		process.exit(result.status ?? 1);
	}
}

const dirty = spawnSync("git", ["status", "--porcelain"], { cwd: root, encoding: "utf8" }).stdout.trim();
if (dirty !== "") {
	process.stderr.write(`release: the working tree has uncommitted changes; commit or stash them first:\n${dirty}\n`);
	process.exit(1);
}
// The release test tier runs this script from inside a test run, whose result stands for this step.
// biome-ignore lint/suspicious/noUndeclaredEnvVars: read by this script only, never by a turbo task
if (process.env.ECHO_CLI_RELEASE_TESTED !== "1") step("the tests", "bun", ["run", "test"]);
step("the build", "bun", ["x", "turbo", "run", "build"]);
step("bun publish", "bun", ["publish", "--recursive", ...process.argv.slice(2)]);
process.exit(tagRelease(root));
