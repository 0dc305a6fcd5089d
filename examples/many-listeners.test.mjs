// Serving one port from many listeners, as `echo-cli --workers` does across processes.
// Runs as is with `bun test` and with `node --test` (Node >= 22.12 for reusePort).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import net from "node:net";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { echo, ListenError, serve } from "@echo-cli/core";
import { spawnServer } from "@echo-cli/core/testing";
import { NodeDriver } from "@echo-cli/driver-node";

/** Sends `bytes`, half-closes, resolves to the echo. */
function exchange(port, bytes) {
	return new Promise((resolve, reject) => {
		const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () => socket.end(bytes));
		const chunks = [];
		socket.on("data", (chunk) => chunks.push(chunk));
		socket.on("end", () => {
			socket.end();
			resolve(Buffer.concat(chunks));
		});
		socket.on("error", reject);
	});
}

test("four listeners in one process share a port with reusePort, and the kernel spreads connections over them", async (t) => {
	const driver = new NodeDriver();
	const first = await driver.listen({ host: "127.0.0.1", port: 0, reusePort: true }).catch((error) => error);
	if (first instanceof ListenError && first.reason === "unavailable") {
		t.skip(`reusePort: ${first.message}`);
		return;
	}
	const rest = await Promise.all([1, 2, 3].map(() => driver.listen({ ...first.address, reusePort: true })));
	const servers = [first, ...rest].map((listener) => serve(listener, echo));
	try {
		for (let i = 0; i < 64; i++) {
			const bytes = Buffer.from([i, 0, 255, 10, 13]);
			assert.deepEqual(await exchange(first.address.port, bytes), bytes);
		}
		// 64 connections miss one of four listeners with odds of about 4 in 100 million.
		for (const server of servers) assert.ok(server.stats.accepted > 0, "a listener got no connection");
		assert.equal(
			servers.reduce((sum, server) => sum + server.stats.accepted, 0),
			64,
		);
	} finally {
		await Promise.all(servers.map((server) => server.shutdown({ timeout: 0 })));
	}
});

test("a test starts echo-cli with two workers and learns the port from its one listening line", async () => {
	const cli = join(dirname(createRequire(import.meta.url).resolve("@echo-cli/cli/package.json")), "dist/cli.js");
	const server = await spawnServer(process.execPath, [cli, "--port", "0", "--workers", "2", "--log-format", "json"]);
	try {
		assert.equal(server.address.transport, "tcp");
		for (let i = 0; i < 8; i++) {
			const bytes = Buffer.alloc(10_000, i);
			assert.deepEqual(await exchange(server.address.port, bytes), bytes);
		}
	} finally {
		await server.stop();
	}
});
