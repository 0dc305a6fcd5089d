import { afterAll, beforeAll, describe, test } from "bun:test";
import { type RemoteEcho, sameAcrossServers } from "@echo-cli/core/testing/properties";
import { NodeDriver } from "@echo-cli/driver-node";
import { killAll, type Runtime, start } from "./harness.ts";

/**
 * The promise of echo-cli: swap the runtime and the bytes stay the same.
 * One generated case goes to a server in a Node process and to servers in a
 * Bun process (both drivers), and every echo must be byte-identical.
 */
describe("swapped runtimes give byte-identical echoes", () => {
	const servers: RemoteEcho[] = [];
	const client = new NodeDriver();

	beforeAll(async () => {
		const combos: [Runtime, string][] = [
			["node", "node"],
			["bun", "node"],
			["bun", "bun"],
		];
		for (const [runtime, driver] of combos) {
			const cli = await start(runtime, ["--driver", driver]);
			servers.push({
				name: `${driver} driver on ${runtime}`,
				address: { transport: "tcp", host: "127.0.0.1", port: cli.port, family: "IPv4" },
				client,
			});
		}
	});

	afterAll(killAll);

	test("the same generated streams, echoed by Node and by Bun", () => sameAcrossServers(servers, 30), 120_000);
});
