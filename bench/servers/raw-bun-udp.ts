// Plain Bun.udpSocket echo: each datagram goes straight back to its sender.
const socket = await Bun.udpSocket({
	hostname: "127.0.0.1",
	port: 0,
	binaryType: "uint8array",
	socket: {
		data(s, bytes, port, address) {
			s.send(bytes, port, address);
		},
		// Without a handler an ICMP error from a vanished client ends the process.
		error() {},
	},
});
console.log(JSON.stringify({ event: "listening", address: `udp://127.0.0.1:${socket.port}` }));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
