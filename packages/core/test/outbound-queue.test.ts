import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { OutboundQueue } from "../src/driver/index.ts";
import { MemoryDriver } from "../src/index.ts";
import { concat, pattern, within } from "../src/testing/index.ts";

/** A socket that takes at most the next allowance per write, as Bun's `write()` does. */
function socket(allowances: number[]) {
	const taken: Uint8Array[] = [];
	let next = 0;
	return {
		taken,
		write(bytes: Uint8Array): number {
			const n = Math.min(bytes.byteLength, allowances[next++ % allowances.length] ?? 0);
			taken.push(bytes.slice(0, n));
			return n;
		},
	};
}

test("OutboundQueue delivers every byte in order, whatever each write takes", () => {
	fc.assert(
		fc.property(
			fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 20 }),
			fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 10 }),
			(sizes, allowances) => {
				const queue = new OutboundQueue();
				const sink = socket([...allowances, 4096]);
				const chunks = sizes.map((size, i) => pattern(i, size));
				for (const chunk of chunks) queue.send(chunk, sink);
				// Drain events until the queue is empty; bounded, since every fourth write takes 4 KiB at least.
				for (let i = 0; i < 10_000 && !queue.empty; i++) queue.flush(sink);
				assert.ok(queue.empty);
				assert.equal(queue.bytes, 0);
				assert.deepEqual(concat(sink.taken), concat(chunks));
			},
		),
	);
});

test("OutboundQueue never writes new bytes around waiting ones, and stops at a closed socket", () => {
	const queue = new OutboundQueue();
	const writes: number[] = [];
	const takes = (n: number) => ({
		write(bytes: Uint8Array) {
			writes.push(bytes.byteLength);
			return n;
		},
	});
	queue.send(pattern(0, 10), takes(4));
	queue.send(pattern(1, 5), takes(5));
	assert.deepEqual(writes, [10], "the second chunk must wait behind the first's tail");
	assert.equal(queue.bytes, 11);
	assert.equal(queue.flush({ write: () => -1 }), false);
	assert.equal(queue.bytes, 11, "a closed socket takes nothing");
	queue.drop();
	assert.equal(queue.bytes, 11, "dropped bytes still count as never sent");
});

test("a connection closed cleanly before its FIN went out fails with closed, as the base decides", async () => {
	const driver = new MemoryDriver({ chunkSize: 1024 });
	const listener = await driver.listen({});
	const accepted = listener.accept();
	const client = await driver.connect(listener.address, { highWaterMark: 1024 });
	const server = (await accepted) as NonNullable<Awaited<typeof accepted>>;
	server.send(pattern(2, 64 * 1024));
	const ending = server.end();
	// The client reads nothing and closes without a reset: the server's queue never went out.
	client.close();
	await assert.rejects(within(ending, 2000, "end() did not settle"), { reason: "closed" });
	await within(server.closed, 2000, "the server side did not close");
	assert.equal(server.error?.reason, "closed");
	await listener.close();
});
