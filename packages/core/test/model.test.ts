import { test } from "node:test";
import { MemoryDriver } from "../src/index.ts";
import { seededRandom } from "../src/testing/index.ts";
import { checkModel } from "./model.ts";

test(
	"model: read, write, end, close and peer actions in any order match the Connection contract",
	{ timeout: 120_000 },
	() => checkModel(new MemoryDriver({ chunkSize: chunkSizes() }), 200),
);

function chunkSizes(): () => number {
	const next = seededRandom(3);
	return () => 1 + Math.floor(next() * 70_000);
}
