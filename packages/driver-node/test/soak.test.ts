import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { soak, spawnServer } from "@echo-cli/core/testing";
import { onBun, runtime } from "./runtime.ts";

// This file runs from test/ and, compiled for Node 20, from .test-dist/test/.
const compiled = import.meta.url.includes("/.test-dist/");
const server = fileURLToPath(new URL(`${compiled ? "../../test/" : "./"}fixtures/echo-server.mjs`, import.meta.url));

describe(`NodeDriver at volume, server on ${runtime}`, () => {
	const target = {
		start: () => spawnServer(onBun ? process.execPath : "node", [server]),
	};
	for (const c of soak(target)) test(c.name, { timeout: c.timeout }, c.run);
});
