/**
 * `bun scripts/tag.ts`: `changeset tag`, then a check that every tag it
 * announced exists. Without a git identity changeset prints "New tag" for
 * each package, creates none and exits 0; this exits 1 and says why.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export function tagRelease(cwd: string): number {
	const result = spawnSync("bun", ["x", "changeset", "tag"], { cwd, encoding: "utf8" });
	process.stdout.write(result.stdout);
	process.stderr.write(result.stderr);
	if (result.status !== 0) return result.status ?? 1;
	const announced = [...`${result.stdout}${result.stderr}`.matchAll(/New tag:\s+(\S+)/g)].map((m) => m[1] as string);
	const missing = announced.filter(
		(tag) => spawnSync("git", ["tag", "--list", tag], { cwd, encoding: "utf8" }).stdout.trim() !== tag,
	);
	if (missing.length > 0) {
		process.stderr.write(
			`release: changeset announced ${missing.join(", ")} but git created no such tag; ` +
				"set a git identity (git config user.name and user.email) and run bun scripts/tag.ts again\n",
		);
		return 1;
	}
	return 0;
}

if (import.meta.main) process.exit(tagRelease(fileURLToPath(new URL("..", import.meta.url))));
