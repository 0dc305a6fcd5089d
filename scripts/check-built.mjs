// `prepack` of every published package: refuses to pack one whose `bin` or
// `exports` point at files that are not built, instead of publishing a
// package.json, a license and a README.
import { existsSync, readFileSync } from "node:fs";

const manifest = JSON.parse(readFileSync("package.json", "utf8"));
const targets = new Set();
const collect = (value) => {
	if (typeof value === "string") targets.add(value);
	else if (value && typeof value === "object") for (const inner of Object.values(value)) collect(inner);
};
collect(manifest.bin);
collect(manifest.exports);
const missing = [...targets].filter((path) => !existsSync(path));
if (missing.length > 0) {
	console.error(`${manifest.name}: ${missing.join(", ")} missing; run bun run build before packing or publishing`);
	process.exit(1);
}
