import { describe, test } from "node:test";
import { conformance } from "@echo-cli/core/testing";
import { DenoDriver, MAX_READ } from "../src/index.ts";
import { runtime } from "./runtime.ts";

/** The pitfall test "DENO_NO_RESET" checks that this gap is still there. */
const gaps = {
	"the driver's own client: exact echo, the server's FIN, and a reset seen as a typed error":
		"DENO_NO_RESET: Deno.Conn cannot send a reset, so the server's close(error) reaches the client as a FIN",
};

describe(`DenoDriver conformance on ${runtime}`, () => {
	for (const c of conformance({ driver: new DenoDriver(), maxReadChunk: MAX_READ, gaps }))
		test(c.name, { skip: c.gap, timeout: c.timeout }, c.run);
});
