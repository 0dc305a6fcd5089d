import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { assertBytes, pattern, readAll, spawnServer } from "@echo-cli/core/testing";
import { NodeDriver } from "@echo-cli/driver-node";

const compiled = import.meta.url.includes("/.test-dist/");
const fixture = fileURLToPath(new URL(`${compiled ? "../../test/" : "./"}fixtures/echo-server.mjs`, import.meta.url));

test("the built package imports by name and serves echo under plain Node, with no Bun on the PATH", async () => {
	const node = execFileSync("sh", ["-c", "command -v node"]).toString().trim();
	const bin = mkdtempSync(join(tmpdir(), "echo-cli-node-only-"));
	symlinkSync(node, join(bin, "node"));
	const server = await spawnServer("env", [`PATH=${bin}`, "node", fixture]);
	try {
		assert.equal(
			execFileSync("/bin/sh", ["-c", "command -v node"], { env: { PATH: bin } })
				.toString()
				.trim(),
			join(bin, "node"),
		);
		assert.throws(
			() => execFileSync("/bin/sh", ["-c", "command -v bun"], { env: { PATH: bin } }),
			"bun must not be on the PATH",
		);
		const c = await new NodeDriver().connect(server.address);
		const reading = readAll(c);
		await c.write(pattern(0, 100_000));
		await c.end();
		assertBytes(await reading, pattern(0, 100_000), "echo from the built package");
	} finally {
		await server.stop();
	}
});
