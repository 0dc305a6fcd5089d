import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * The Deno executable of the `deno` npm package that `from` (a module's
 * `import.meta.url`) resolves: the real binary, not the package's Node
 * launcher, so that signals sent to a spawned Deno reach Deno. The package
 * puts the binary in place on its first run (its postinstall, which package
 * managers may block, does the same), so this runs it once when it is not.
 */
export function denoExecutable(from: string | URL): string {
	const dir = dirname(createRequire(from).resolve("deno/package.json"));
	const executable = join(dir, process.platform === "win32" ? "deno.exe" : "deno");
	if (!existsSync(executable)) execFileSync(process.execPath, [join(dir, "bin.cjs"), "--version"], { stdio: "ignore" });
	return executable;
}
