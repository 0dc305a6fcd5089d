// An echo-cli driver serving through serve(): `driver.mjs node|bun|deno [echo|user|pull|faults]`.
//   echo    the built-in echo handler
//   faults  echo under withFaults with a stage that changes nothing (latency=0ms)
//   user    a byte-for-byte echo as a user writes it on the push path (a Receiver: data + send, end)
//   pull    the same echo on the pull path: for await ... write ... end
import "./collect-on-signal.mjs";
import { readFileSync } from "node:fs";
import { echo, listeningLine, serve, withFaults } from "@echo-cli/core";

const handlers = {
	echo,
	user: {
		data: (chunk, connection) => {
			connection.send(chunk);
		},
		end: (connection) => {
			connection.end();
		},
	},
	faults: withFaults(echo, [{ kind: "latency", delay: 0 }]),
	pull: async (connection) => {
		for await (const chunk of connection) await connection.write(chunk);
		await connection.end();
	},
};
const handler = handlers[process.argv[3] ?? "echo"];
if (!handler) throw new Error(`unknown handler ${process.argv[3]}`);
const drivers = {
	node: async () => new (await import("@echo-cli/driver-node")).NodeDriver(),
	bun: async () => new (await import("@echo-cli/driver-bun")).BunDriver(),
	deno: async () => new (await import("@echo-cli/driver-deno")).DenoDriver(),
};
const driver = await drivers[process.argv[2]]();
const highWaterMark = process.env.ECHO_HWM ? Number(process.env.ECHO_HWM) : undefined;
// With ECHO_TLS_CERT and ECHO_TLS_KEY (PEM files), the driver serves TLS.
const { ECHO_TLS_CERT: cert, ECHO_TLS_KEY: key } = process.env;
const tls = cert && key ? { tls: { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") } } : {};
const listener = await driver.listen({ host: "127.0.0.1", port: 0, highWaterMark, ...tls });
serve(listener, handler);
console.log(listeningLine(listener.address));
// A clean exit on a signal, so that --cpu-prof can write its profile.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
