import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
	describeFault,
	FAULTS,
	type Fault,
	FaultSpecError,
	parseDuration,
	parseFault,
	parseRate,
	parseSize,
	printDuration,
	printRate,
	printSize,
} from "../src/index.ts";

const amount = fc.integer({ min: 0, max: 2 ** 40 });

describe("the one grammar of durations, sizes and rates", () => {
	test("parses what it prints, for every whole amount", () => {
		fc.assert(
			fc.property(amount, (n) => {
				assert.equal(parseDuration(printDuration(n)), n);
				assert.equal(parseSize(printSize(n)), n);
				assert.equal(parseRate(printRate(n)), n);
			}),
		);
	});

	test("prints in the largest unit that keeps a whole number", () => {
		assert.deepEqual(
			[printDuration(250), printDuration(2000), printDuration(90_000), printDuration(7_200_000)],
			["250ms", "2s", "90s", "2h"],
		);
		assert.deepEqual([printSize(1000), printSize(65536), printSize(1536 * 1024)], ["1000B", "64KiB", "1536KiB"]);
		assert.equal(printRate(1024 * 1024), "1MiB/s");
	});

	test("reads the forms the flags and the fault specs used to read apart", () => {
		// A bare number is seconds for every duration, fractions of any unit round to a whole.
		assert.deepEqual(["5", "500ms", "1.5m", "2 s", "1h"].map(parseDuration), [5000, 500, 90_000, 2000, 3_600_000]);
		assert.deepEqual(["64", "64B", "1.5MiB", "1k", "2 KiB", "1g"].map(parseSize), [
			64,
			64,
			1_572_864,
			1024,
			2048,
			1024 ** 3,
		]);
		assert.deepEqual(["1MiB/s", "20000", "20000/s"].map(parseRate), [1024 * 1024, 20000, 20000]);
		for (const bad of ["", "soon", "-1s", "1d", "1.s", "ms"]) assert.equal(parseDuration(bad), undefined, bad);
		for (const bad of ["", "1TiB", "-5", "64 KiBs", "KiB"]) assert.equal(parseSize(bad), undefined, bad);
	});
});

/** Every kind of fault, with the values a spec can write: whole milliseconds and bytes, shares in thousandths of a percent. */
const fault: fc.Arbitrary<Fault> = fc
	.tuple(
		fc.oneof(
			fc
				.record({ delay: fc.nat(), jitter: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }) })
				.map(({ delay, jitter }): Fault => ({ kind: "latency", delay, ...(jitter ? { jitter } : {}) })),
			fc.integer({ min: 1, max: 2 ** 34 }).map((rate): Fault => ({ kind: "bandwidth", rate })),
			fc
				.record({
					min: fc.integer({ min: 1, max: 100_000 }),
					extra: fc.nat({ max: 100_000 }),
					delay: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
				})
				.map(
					({ min, extra, delay }): Fault => ({ kind: "slicer", min, max: min + extra, ...(delay ? { delay } : {}) }),
				),
			fc.nat({ max: 2 ** 34 }).map((bytes): Fault => ({ kind: "limit", bytes })),
			fc.nat({ max: 2 ** 34 }).map((bytes): Fault => ({ kind: "reset", bytes })),
			fc.nat({ max: 10_000_000 }).map((after): Fault => ({ kind: "reset", after })),
			fc.nat({ max: 10_000_000 }).map((delay): Fault => ({ kind: "slow-close", delay })),
			fc.nat({ max: 10_000_000 }).map((after): Fault => ({ kind: "stall", after })),
			fc.constantFrom<Fault>({ kind: "refuse", how: "fin" }, { kind: "refuse", how: "rst" }),
		),
		fc.option(fc.integer({ min: 1, max: 99_999 }), { nil: undefined }),
	)
	.map(([f, thousandths]) => (thousandths === undefined ? f : { ...f, share: thousandths / 100_000 }));

describe("the fault registry", () => {
	test("parseFault(describeFault(f)) gives f back, for every kind", () => {
		fc.assert(
			fc.property(fault, (f) => {
				assert.deepEqual(parseFault(describeFault(f)), f);
			}),
			{ numRuns: 2000 },
		);
	});

	test("every kind has a definition whose example parses to that kind", () => {
		const kinds = FAULTS.map((d) => parseFault(d.example[0]).kind);
		assert.deepEqual(
			kinds,
			FAULTS.map((d) => d.kind),
		);
		assert.equal(new Set(kinds).size, 8);
	});

	test("a spec error names the spec and the wrong part", () => {
		assert.throws(
			() => parseFault("latency=5ms,jiter=1ms"),
			(error: unknown) =>
				error instanceof FaultSpecError &&
				error.spec === "latency=5ms,jiter=1ms" &&
				error.reason === "latency takes no 'jiter'",
		);
		// A bare number is seconds for a duration and bytes for reset-after, which takes either.
		assert.deepEqual(parseFault("stall=5"), { kind: "stall", after: 5000 });
		assert.deepEqual(parseFault("reset-after=5"), { kind: "reset", bytes: 5 });
		assert.deepEqual(parseFault("reset-after=2m"), { kind: "reset", after: 120_000 });
	});
});
