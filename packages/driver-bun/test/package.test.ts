import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("importing the package on Node fails at once with a sentence that names the way out", () => {
	const cwd = fileURLToPath(new URL("..", import.meta.url));
	const result = spawnSync(
		"node",
		[
			"--input-type=module",
			"-e",
			'import("@echo-cli/driver-bun").catch((e) => { console.log(e.message); process.exit(3) })',
		],
		{ cwd, encoding: "utf8" },
	);
	expect(result.status).toBe(3);
	expect(result.stdout.trim()).toBe(
		"@echo-cli/driver-bun runs on Bun only (it is built on Bun.listen); on Node.js use @echo-cli/driver-node, which works on Bun too",
	);
});

test("Bun resolves the package by name to the built driver", async () => {
	const { BunDriver } = await import("@echo-cli/driver-bun");
	expect(new BunDriver().name).toBe("bun");
});
