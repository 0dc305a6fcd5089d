import { describe, test } from "node:test";
import { datagramConformance } from "@echo-cli/core/testing";
import { datagramProperties } from "@echo-cli/core/testing/properties";
import { NodeDatagramDriver } from "../src/index.ts";
import { runtime } from "./runtime.ts";

describe(`NodeDatagramDriver conformance on ${runtime}`, () => {
	for (const c of datagramConformance({ driver: new NodeDatagramDriver() }))
		test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
});

describe(`datagram properties, NodeDatagramDriver on ${runtime}`, () => {
	for (const c of datagramProperties({ driver: new NodeDatagramDriver() })) test(c.name, { timeout: c.timeout }, c.run);
});
