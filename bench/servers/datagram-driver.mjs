// An echo-cli datagram driver serving through serveDatagrams(), with no guard: `datagram-driver.mjs node|bun`.
import { listeningLine } from "@echo-cli/core";
import { serveDatagrams } from "@echo-cli/core/datagram";

const driver =
	process.argv[2] === "bun"
		? new (await import("@echo-cli/driver-bun")).BunDatagramDriver()
		: new (await import("@echo-cli/driver-node")).NodeDatagramDriver();
const socket = await driver.bind({ host: "127.0.0.1", port: 0 });
serveDatagrams(socket, { guard: false });
console.log(listeningLine(socket.address));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
