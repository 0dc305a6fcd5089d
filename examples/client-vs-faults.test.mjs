// A client's timeout and retry, tested against an echo server that misbehaves on purpose.
// Runs as is with `node --test` and with `bun test`.
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { echo, serve, withFaults } from "@echo-cli/core";
import { NodeDriver } from "@echo-cli/driver-node";

/** The client under test: sends a request, gives up after `ms` without a reply. */
function request(port, bytes, ms) {
	return new Promise((resolve) => {
		const socket = net.connect(port, "127.0.0.1", () => socket.end(bytes));
		const chunks = [];
		socket.setTimeout(ms, () => {
			socket.destroy();
			resolve("timeout");
		});
		socket.on("data", (chunk) => chunks.push(chunk));
		socket.on("end", () => resolve(Buffer.concat(chunks)));
		socket.on("error", (error) => resolve(error.code));
	});
}

async function faultyEcho(faults) {
	const listener = await new NodeDriver().listen({ host: "127.0.0.1", port: 0 });
	const server = serve(listener, withFaults(echo, faults, { seed: 1 }));
	return { port: listener.address.port, stop: () => server.abort() };
}

test("a stalled server makes the client time out", async () => {
	const server = await faultyEcho([{ kind: "stall", after: 0 }]);
	try {
		assert.equal(await request(server.port, Buffer.from("ping"), 200), "timeout");
	} finally {
		await server.stop();
	}
});

test("a reply slower than the timeout is a timeout, a faster one is not", async () => {
	const server = await faultyEcho([{ kind: "latency", delay: 300 }]);
	try {
		assert.equal(await request(server.port, Buffer.from("ping"), 100), "timeout");
		assert.deepEqual(await request(server.port, Buffer.from("ping"), 1000), Buffer.from("ping"));
	} finally {
		await server.stop();
	}
});

test("a reset is reported as one", async () => {
	const server = await faultyEcho([{ kind: "refuse", how: "rst" }]);
	try {
		assert.equal(await request(server.port, Buffer.from("ping"), 1000), "ECONNRESET");
	} finally {
		await server.stop();
	}
});
