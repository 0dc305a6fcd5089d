// `build` of every package: a fresh dist from tsc -p tsconfig.build.json,
// then relative imports in its declarations pointed at the emitted `.js`
// files. tsc rewrites `./x.ts` to `./x.js` in JavaScript only
// (rewriteRelativeImportExtensions; microsoft/TypeScript#61037), so a
// declaration would name a `./x.ts` that is not shipped: tsc maps it to
// `./x.d.ts`, Deno's type checker does not and fails to find the module.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

rmSync("dist", { recursive: true, force: true });
const tsc = spawnSync("tsc", ["-p", "tsconfig.build.json"], { stdio: "inherit", shell: process.platform === "win32" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// `from "./x.ts"`, `import("./x.ts")` and `declare module "./x.ts"`: relative specifiers only.
const relative = /((?:from|import\(|module)\s*["'])(\.{1,2}\/[^"']+?)\.ts(["'])/g;
for (const entry of readdirSync("dist", { recursive: true, withFileTypes: true })) {
	if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
	const path = join(entry.parentPath, entry.name);
	const text = readFileSync(path, "utf8");
	const fixed = text.replace(relative, "$1$2.js$3");
	if (fixed !== text) writeFileSync(path, fixed);
}
