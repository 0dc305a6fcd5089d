// The idiomatic Node echo server: socket.pipe(socket).
import net from "node:net";

const server = net.createServer((socket) => {
	socket.on("error", () => socket.destroy());
	socket.pipe(socket);
});
// The listening line every bench server writes first.
server.listen(0, "127.0.0.1", () =>
	console.log(JSON.stringify({ event: "listening", address: `tcp://127.0.0.1:${server.address().port}` })),
);
