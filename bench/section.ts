import { readFileSync, writeFileSync } from "node:fs";

/** Replaces what lies between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in `file` with `output`. */
export function writeSection(file: string, name: string, output: string): void {
	const text = readFileSync(file, "utf8");
	const open = `<!-- bench:${name} -->`;
	const close = `<!-- /bench:${name} -->`;
	const [head, rest] = text.split(open);
	const tail = rest?.split(close)[1];
	if (head === undefined || tail === undefined) throw new Error(`${file} has no ${open} ... ${close} section`);
	writeFileSync(file, `${head}${open}\n\n${output}\n\n${close}${tail}`);
}
