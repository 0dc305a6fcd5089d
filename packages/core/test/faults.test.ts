/**
 * Each property must catch a real fault: the memory driver injects one, and
 * the property has to fail. A property that passes here proves nothing.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { echo, MemoryDriver, serve } from "../src/index.ts";
import { BrokenMemoryDriver, type MemoryFault, random } from "../src/testing/index.ts";
import { properties, sameAcrossServers } from "../src/testing/properties/index.ts";
import { checkModel } from "./model.ts";

/** A property failure about the bytes or the FIN, not a timeout. */
const CAUGHT = (error: unknown) =>
	error instanceof Error && /Property failed/.test(error.message) && !/hung|stalled|did not/.test(error.message);

/** Fixed seeds make each demonstration repeatable; the first failure ends the run, unshrunk. */
const FIXED = { seed: 20261126, endOnFailure: true } as const;

function faulty(fault: MemoryFault): MemoryDriver {
	const next = random(7);
	return new BrokenMemoryDriver(fault, { chunkSize: () => 1 + Math.floor(next() * 3000) });
}

function property(name: string, fault: MemoryFault) {
	const found = properties({ driver: faulty(fault), maxReadChunk: 3000, numRuns: 100, parameters: FIXED }).find((p) =>
		p.name.startsWith(name),
	);
	assert.ok(found, `no property named ${name}`);
	return found;
}

describe("fault injection: every property fails on a broken driver", () => {
	const cases: [string, MemoryFault][] = [
		["exactness", "drop-partial-tail"],
		["exactness", "decode-text"],
		["exactness", "reorder"],
		["isolation", "reorder"],
		["isolation", "decode-text"],
		["half-close", "lose-queued-at-fin"],
		["slow consumers", "drop-partial-tail"],
	];
	for (const [name, fault] of cases) {
		test(`${name} catches ${fault}`, { timeout: 60_000 }, async () => {
			await assert.rejects(property(name, fault).run(), CAUGHT);
		});
	}

	test("the model catches reorder", { timeout: 60_000 }, async () => {
		await assert.rejects(checkModel(faulty("reorder"), 1000, FIXED), CAUGHT);
	});

	test("the model catches lose-queued-at-fin", { timeout: 60_000 }, async () => {
		await assert.rejects(checkModel(faulty("lose-queued-at-fin"), 1000, FIXED), CAUGHT);
	});

	test("swapped servers catch a server that decodes bytes as text", { timeout: 60_000 }, async () => {
		const good = new MemoryDriver();
		const bad = faulty("decode-text");
		const servers = await Promise.all(
			[good, bad].map(async (driver, i) => {
				const listener = await driver.listen({});
				return {
					name: i === 0 ? "good" : "bad",
					address: listener.address,
					client: driver,
					server: serve(listener, echo),
				};
			}),
		);
		try {
			await assert.rejects(sameAcrossServers(servers, 30, FIXED), CAUGHT);
		} finally {
			await Promise.all(servers.map((s) => s.server.abort()));
		}
	});
});
