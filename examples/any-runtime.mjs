// The same server with the driver made for the runtime it runs on, served by
// serve(), which also drains connections gracefully on SIGINT and SIGTERM.
import { echo, formatAddress, serve } from "@echo-cli/core";

const driver =
	typeof Bun === "undefined"
		? new (await import("@echo-cli/driver-node")).NodeDriver()
		: new (await import("@echo-cli/driver-bun")).BunDriver();
const listener = await driver.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 1337) });
const server = serve(listener, echo);
for (const signal of ["SIGINT", "SIGTERM"]) {
	process.once(signal, async () => {
		const { drained, aborted } = await server.shutdown({ timeout: 2000 });
		console.log(`stopped: ${drained} drained, ${aborted} aborted`);
	});
}
console.log(`listening on ${formatAddress(listener.address)} (driver ${driver.name})`);
