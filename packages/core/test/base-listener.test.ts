import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BaseListener, tcpAddress } from "../src/driver/index.ts";
import { type Connection, MemoryDriver } from "../src/index.ts";
import { readAll, within } from "../src/testing/index.ts";

/** A listener whose connections arrive when the test says, as a driver's accept callback would. */
class ManualListener extends BaseListener {
	constructor() {
		super(tcpAddress("127.0.0.1", 9, "IPv4"));
	}
	arrive(connection: Connection): void {
		this.accepted(connection);
	}
	protected async stop(): Promise<void> {}
}

describe("BaseListener.acceptEach", () => {
	// Over sockets a closed listener refuses new connections outright; a driver can
	// still report one its socket accepted just before, which this test stands in for.
	test("a connection a driver reports after close() is closed, not handed to the acceptor", async () => {
		const memory = new MemoryDriver();
		const source = await memory.listen({});
		const early = await memory.connect(source.address);
		const late = await memory.connect(source.address);
		const before = (await source.accept()) as Connection;
		const after = (await source.accept()) as Connection;

		const listener = new ManualListener();
		const got: Connection[] = [];
		listener.acceptEach((c) => got.push(c));
		listener.arrive(before);
		assert.deepEqual(got, [before]);
		await listener.close();
		listener.arrive(after);
		assert.deepEqual(got, [before]);
		await within(after.closed, 2000, "the late connection was not closed");
		assert.equal((await within(readAll(late), 2000, "the late client saw no end")).byteLength, 0);
		// What was handed over before close() stays open.
		await early.write(Uint8Array.of(1, 2, 3));
		assert.deepEqual(await within(before.read(), 2000, "the early connection stopped reading"), Uint8Array.of(1, 2, 3));
		early.close();
		await source.close();
	});
});
