// The amphp tutorial's non-blocking echo server, on @echo-cli/core:
// one accept loop, one task per client, read until null, write and wait.
import { NodeDriver } from "@echo-cli/driver-node";

const server = await new NodeDriver().listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 1337) });
console.log(`listening on ${server.address.host}:${server.address.port}`);

for await (const client of server) {
	(async () => {
		for (let chunk = await client.read(); chunk !== null; chunk = await client.read()) await client.write(chunk);
		await client.end();
	})().catch(() => client.close());
}
