import { describe, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { soak, spawnServer } from "@echo-cli/core/testing";

const server = fileURLToPath(new URL("./fixtures/echo-server.ts", import.meta.url));

describe(`BunDriver at volume, server on Bun ${Bun.version}`, () => {
	for (const c of soak({ start: () => spawnServer(process.execPath, [server]) })) test(c.name, c.run, c.timeout);
});
