import { test } from "node:test";
import { MemoryDriver } from "../src/index.ts";
import { checkModel } from "./model.ts";

test(
	"model: read, write, end, close and peer actions in any order match the Connection contract",
	{ timeout: 120_000 },
	() => checkModel(new MemoryDriver({ chunkSize: () => 1 + Math.floor(Math.random() * 70_000) }), 200),
);
