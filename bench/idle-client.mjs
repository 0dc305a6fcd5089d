// Opens N idle connections to 127.0.0.1:PORT, prints how many connected, and
// holds them until stdin closes.
import net from "node:net";

const [port, count] = process.argv.slice(2).map(Number);
let connected = 0;
let failed = 0;
const sockets = [];
await new Promise((resolve) => {
	for (let i = 0; i < count; i++) {
		const s = net.connect({ port, host: "127.0.0.1" });
		sockets.push(s);
		s.once("connect", () => {
			if (++connected + failed === count) resolve();
		});
		s.once("error", () => {
			if (connected + ++failed === count) resolve();
		});
	}
});
console.log(connected);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
