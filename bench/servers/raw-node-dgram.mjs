// Plain node:dgram echo: each datagram goes straight back to its sender.
import dgram from "node:dgram";

const socket = dgram.createSocket("udp4");
socket.on("error", () => {});
socket.on("message", (message, from) => socket.send(message, from.port, from.address));
socket.bind(0, "127.0.0.1", () => {
	const { port } = socket.address();
	console.log(JSON.stringify({ event: "listening", address: `udp://127.0.0.1:${port}` }));
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
