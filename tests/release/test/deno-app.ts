/**
 * A Deno script on core and the deno driver, as a user writes it: it echoes
 * `bytes` through its own server and prints what came back as JSON.
 * `from` prefixes the package names (`""` for node_modules, `npm:` for a
 * registry) and `at` follows them (`""`, or `@1.2.3`).
 */
export function denoEchoScript(bytes: readonly number[], from = "", at = ""): string {
	return [
		`import { echo, type Listener, serve, type TcpAddress } from "${from}@echo-cli/core${at}";`,
		`import { DenoDriver } from "${from}@echo-cli/driver-deno${at}";`,
		"const driver = new DenoDriver();",
		'const listener: Listener<TcpAddress> = await driver.listen({ host: "127.0.0.1", port: 0 });',
		"const server = serve(listener, echo);",
		"const client = await driver.connect(listener.address);",
		`await client.write(Uint8Array.of(${bytes.join(", ")}));`,
		"await client.end();",
		"const got: number[] = [];",
		"for await (const chunk of client) got.push(...chunk);",
		"await server.shutdown();",
		"console.log(JSON.stringify(got));",
		"",
	].join("\n");
}
