// An echo-cli driver serving echo through serve(): `driver.mjs node` or `driver.mjs bun`.
import { echo, serve } from "@echo-cli/core";

const driver =
	process.argv[2] === "bun"
		? new (await import("@echo-cli/driver-bun")).BunDriver()
		: new (await import("@echo-cli/driver-node")).NodeDriver();
const highWaterMark = process.env.ECHO_HWM ? Number(process.env.ECHO_HWM) : undefined;
const listener = await driver.listen({ host: "127.0.0.1", port: 0, highWaterMark });
serve(listener, echo);
console.log(listener.address.port);
// A clean exit on a signal, so that --cpu-prof can write its profile.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
