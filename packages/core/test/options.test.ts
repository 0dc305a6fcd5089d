import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Address, echo, MemoryDriver, serve } from "../src/index.ts";
import { assertBytes, concat, pattern, readAll, within } from "../src/testing/index.ts";

describe("listener and serve options over MemoryDriver", () => {
	test("maxConnections closes connections above the cap at once and counts them", async () => {
		const driver = new MemoryDriver();
		const refused: (Address | undefined)[] = [];
		const listener = await driver.listen({ maxConnections: 2, onRefuse: (remote) => refused.push(remote) });
		const server = serve(listener, echo);
		const kept = [await driver.connect(listener.address), await driver.connect(listener.address)];
		const extra = await driver.connect(listener.address);
		assert.equal((await within(readAll(extra), 2000, "the refused connection stayed open")).byteLength, 0);
		assert.equal(listener.refusedCount, 1);
		assert.equal(refused.length, 1);
		assert.equal(listener.connectionCount, 2);
		kept[0]?.close();
		await kept[0]?.closed;
		await within(
			(async () => {
				while (listener.connectionCount > 1) await new Promise((r) => setTimeout(r, 5));
			})(),
			2000,
			"the count did not drop",
		);
		const later = await driver.connect(listener.address);
		const reading = readAll(later);
		await later.write(pattern(0, 10));
		await later.end();
		assert.equal((await reading).byteLength, 10);
		await server.abort();
	});

	test("an onConnection that throws aborts that connection only, reports the error, and the server goes on", async () => {
		const driver = new MemoryDriver();
		const listener = await driver.listen({});
		const failure = new Error("onConnection failure");
		const reported: unknown[] = [];
		const outcomes: string[] = [];
		let seen = 0;
		const server = serve(listener, echo, {
			onConnection() {
				if (++seen === 1) throw failure;
			},
			onError: (error) => reported.push(error),
			onClose: (_, info) => outcomes.push(info.outcome),
		});
		const bad = await driver.connect(listener.address);
		await within(bad.closed, 2000, "the connection whose onConnection threw stayed open");
		assert.deepEqual(reported, [failure]);
		const good = await driver.connect(listener.address);
		const reading = readAll(good);
		await good.write(pattern(0, 10));
		await good.end();
		assertBytes(await reading, pattern(0, 10), "the echo after the failure");
		await within(good.closed, 2000, "the good connection did not close");
		assert.deepEqual(outcomes, ["handler-error", "closed"]);
		assert.equal(server.stats.errors, 1);
		await server.abort();
	});

	test("idleTimeout half-closes an idle connection, then closes it without a reset if the peer stays", async () => {
		const driver = new MemoryDriver();
		const listener = await driver.listen({});
		const outcomes: string[] = [];
		const server = serve(listener, echo, { idleTimeout: 50, onClose: (_, info) => outcomes.push(info.outcome) });
		const c = await driver.connect(listener.address);
		await c.write(pattern(0, 5));
		// The echo, then the server's FIN, without our own end().
		assert.equal((await within(readAll(c), 2000, "no FIN after the idle timeout")).byteLength, 5);
		// A half-close, not a close: the peer may still send (the server discards it) until the abort.
		await c.write(pattern(0, 1));
		await within(c.closed, 2000, "the idle connection was not closed");
		// An orderly close: whatever the OS had already taken still reaches the peer.
		assert.equal(c.error, undefined);
		assert.deepEqual(outcomes, ["idle"]);
		assert.equal(server.stats.errors, 0);
		await server.abort();
	});

	test("idleTimeout spares a connection whose queued reply a slow peer is still reading", async () => {
		// 4 KiB per delivery, read every 10 ms: the server's counters stand still while its queue drains.
		const driver = new MemoryDriver({ chunkSize: 4096 });
		const listener = await driver.listen({});
		const outcomes: string[] = [];
		const reply = pattern(0, 256 * 1024);
		const server = serve(
			listener,
			async (connection) => {
				await connection.write(reply);
				await connection.end();
			},
			{ idleTimeout: 100, onClose: (_, info) => outcomes.push(info.outcome) },
		);
		const c = await driver.connect(listener.address, { highWaterMark: 4096 });
		const chunks: Uint8Array[] = [];
		for (let chunk = await c.read(); chunk !== null; chunk = await c.read()) {
			chunks.push(chunk);
			await new Promise((r) => setTimeout(r, 10));
		}
		assertBytes(concat(chunks), reply, "the reply to a slow reader");
		c.close();
		await within(c.closed, 2000, "the connection did not close");
		await within(server.shutdown({ timeout: 100 }), 2000, "the server did not stop");
		assert.deepEqual(outcomes, ["closed"]);
	});
	test("idleTimeout never cuts a connection whose echo is queued for a peer that does not read", async () => {
		// 1 KiB per delivery: the peer's 4 KiB fill up and the rest of the echo stays queued at the server.
		const driver = new MemoryDriver({ chunkSize: 1024 });
		const listener = await driver.listen({ highWaterMark: 4096 });
		const outcomes: string[] = [];
		const server = serve(listener, echo, { idleTimeout: 50, onClose: (_, info) => outcomes.push(info.outcome) });
		const c = await driver.connect(listener.address, { highWaterMark: 4096 });
		const payload = pattern(3, 64 * 1024);
		void c.write(payload);
		// Ten idle timeouts with the echo queued and nothing moving: owed, so not idle.
		await new Promise((resolve) => setTimeout(resolve, 500));
		assert.deepEqual(outcomes, []);
		assert.equal(server.connections.size, 1);
		const [served] = server.connections;
		assert.ok((served?.outboundBytes ?? 0) > 0, "the echo should still be queued for the peer");
		void c.end();
		assertBytes(await within(readAll(c), 2000, "the echo did not finish"), payload, "the echo to a late reader");
		await within(c.closed, 2000, "the connection did not close");
		assert.deepEqual(outcomes, ["closed"]);
		await server.abort();
	});

	test("sendTimeout aborts a connection whose peer takes none of its queued echo, as stalled", async () => {
		const driver = new MemoryDriver({ chunkSize: 1024 });
		const listener = await driver.listen({ highWaterMark: 4096 });
		const summaries: { outcome: string; bytesIn: number; bytesOut: number }[] = [];
		const server = serve(listener, echo, {
			idleTimeout: 50,
			sendTimeout: 100,
			onClose: (_, { outcome, bytesIn, bytesOut }) => summaries.push({ outcome, bytesIn, bytesOut }),
		});
		const c = await driver.connect(listener.address, { highWaterMark: 4096 });
		void c.write(pattern(4, 64 * 1024)).catch(() => {});
		await within(c.closed, 2000, "the stalled connection was not closed");
		assert.equal(c.error?.reason, "reset");
		assert.equal(summaries.length, 1);
		const [summary] = summaries;
		assert.equal(summary?.outcome, "stalled");
		// What the peer took is counted as sent; what was still queued is not.
		assert.ok((summary?.bytesOut ?? 0) < (summary?.bytesIn ?? 0));
		assert.equal(server.stats.stalled, 1);
		assert.equal(server.stats.idle, 0);
		assert.equal(server.stats.errors, 0);
		await server.abort();
	});

	test("sendTimeout spares a peer that reads, however slowly, and an idle one", async () => {
		const driver = new MemoryDriver({ chunkSize: 1024 });
		const listener = await driver.listen({ highWaterMark: 4096 });
		const outcomes: string[] = [];
		const server = serve(listener, echo, { sendTimeout: 60, onClose: (_, info) => outcomes.push(info.outcome) });
		const slow = await driver.connect(listener.address, { highWaterMark: 1024 });
		const idle = await driver.connect(listener.address);
		const payload = pattern(5, 32 * 1024);
		void slow.write(payload).then(() => slow.end());
		const chunks: Uint8Array[] = [];
		// 1 KiB every 20 ms: the peer takes something within every timeout.
		for (let chunk = await slow.read(); chunk !== null; chunk = await slow.read()) {
			chunks.push(chunk);
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		assertBytes(concat(chunks), payload, "the echo to a slow reader");
		await within(slow.closed, 2000, "the slow connection did not close");
		assert.equal(idle.error, undefined);
		assert.equal(server.connections.size, 1, "the idle connection owes nothing and stays");
		idle.close();
		await within(Promise.all([...server.connections].map((c) => c.closed)), 2000, "the idle connection did not close");
		assert.deepEqual(outcomes, ["closed", "closed"]);
		await server.abort();
	});
});
