// Part of `version-packages`: changesets versions package.json files only,
// so every jsr.json gets its package's version, and its npm: imports of
// sibling packages the range `^version` (the packages are versioned together).
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

for (const dir of readdirSync("packages").map((name) => join("packages", name))) {
	const jsrPath = join(dir, "jsr.json");
	if (!existsSync(jsrPath)) continue;
	const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
	const jsr = JSON.parse(readFileSync(jsrPath, "utf8"));
	jsr.version = version;
	for (const [name, target] of Object.entries(jsr.imports ?? {}))
		jsr.imports[name] = target.replace(/^npm:(@echo-cli\/[^@/]+)@[^/]+/, `npm:$1@^${version}`);
	writeFileSync(jsrPath, `${JSON.stringify(jsr, null, "\t")}\n`);
}
