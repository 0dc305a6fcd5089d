import { afterAll, beforeAll, describe, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address } from "@echo-cli/core";
import { tlsFixture } from "@echo-cli/core/testing";
import { type RemoteEcho, sameAcrossServers } from "@echo-cli/core/testing/properties";
import { NodeDriver } from "@echo-cli/driver-node";
import { killAll, type Runtime, start } from "./harness.ts";

/**
 * The promise of echo-cli: swap the runtime and the bytes stay the same.
 * One generated case goes to a server in a Node process, to servers in a
 * Bun process and in a Deno process (each runtime's own driver and the node
 * driver), and every echo must be byte-identical.
 */
describe("swapped runtimes give byte-identical echoes", () => {
	const servers: RemoteEcho[] = [];
	const client = new NodeDriver();

	beforeAll(async () => {
		const combos: [Runtime, string][] = [
			["node", "node"],
			["bun", "node"],
			["bun", "bun"],
			["deno", "node"],
			["deno", "deno"],
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

	test("the same generated streams, echoed by Node, by Bun and by Deno", () => sameAcrossServers(servers, 30), 120_000);
});

/** The same over TLS: one certificate for every server, the echo compared inside the sessions. */
describe("swapped runtimes give byte-identical echoes over TLS", () => {
	const servers: RemoteEcho[] = [];
	const dir = mkdtempSync(join(tmpdir(), "echo-cli-swap-tls-"));

	beforeAll(async () => {
		const { ca, server } = await tlsFixture();
		const cert = join(dir, "server.pem");
		const key = join(dir, "server.key");
		writeFileSync(cert, server.cert);
		writeFileSync(key, server.key);
		const driver = new NodeDriver();
		const client = {
			name: "node driver, TLS",
			connect: (address: Address) => driver.connect(address, { tls: { ca: ca.cert } }),
		};
		const combos: [Runtime, string][] = [
			["node", "node"],
			["bun", "node"],
			["bun", "bun"],
			// Not the node driver on Deno: with it this case timed out. Its TLS sockets pause under
			// backpressure, and a paused node:tls socket on Deno never reports the peer's end (DENO_TLS_PAUSED_END).
			["deno", "deno"],
		];
		for (const [runtime, name] of combos) {
			const cli = await start(runtime, ["--driver", name, "--cert", cert, "--key", key]);
			servers.push({
				name: `${name} driver on ${runtime} over TLS`,
				address: { transport: "tcp", host: "127.0.0.1", port: cli.port, family: "IPv4" },
				client,
			});
		}
	});

	afterAll(() => {
		killAll();
		rmSync(dir, { recursive: true, force: true });
	});

	test(
		"the same generated streams, echoed over TLS by Node, by Bun and by Deno",
		() => sameAcrossServers(servers, 20),
		120_000,
	);
});
