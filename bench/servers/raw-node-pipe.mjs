// The idiomatic Node echo server: socket.pipe(socket). With ECHO_TLS_CERT and
// ECHO_TLS_KEY (PEM files), the same over node:tls.
import "./collect-on-signal.mjs";
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";

const onSocket = (socket) => {
	socket.on("error", () => socket.destroy());
	socket.pipe(socket);
};
const { ECHO_TLS_CERT: cert, ECHO_TLS_KEY: key } = process.env;
const server =
	cert && key
		? tls.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, onSocket)
		: net.createServer(onSocket);
server.on("tlsClientError", () => {});
// The listening line every bench server writes first.
server.listen(0, "127.0.0.1", () =>
	console.log(JSON.stringify({ event: "listening", address: `tcp://127.0.0.1:${server.address().port}` })),
);
