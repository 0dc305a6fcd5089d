import "./collect-on-signal.mjs";

// Plain Bun.listen, done right: the tail of a partial write is queued and sent
// on drain, reading pauses while 1 MiB waits, FIN goes out once all is sent.
type State = { queue: Uint8Array[]; queued: number; ended: boolean };

const flush = (s: Bun.Socket<State>) => {
	const d = s.data;
	while (d.queue.length > 0) {
		const head = d.queue[0] as Uint8Array;
		const n = s.write(head);
		if (n < 0) return;
		d.queued -= n;
		if (n < head.byteLength) {
			d.queue[0] = head.subarray(n);
			return;
		}
		d.queue.shift();
	}
	if (d.ended) s.shutdown();
};

// With ECHO_TLS_CERT and ECHO_TLS_KEY (PEM files), Bun.listen's own TLS.
const cert = process.env.ECHO_TLS_CERT;
const key = process.env.ECHO_TLS_KEY;
const tls = cert && key ? { tls: { cert: Bun.file(cert), key: Bun.file(key) } } : {};

const server = Bun.listen<State>({
	hostname: "127.0.0.1",
	port: 0,
	allowHalfOpen: true,
	...tls,
	socket: {
		binaryType: "uint8array",
		open(s) {
			s.data = { queue: [], queued: 0, ended: false };
		},
		data(s, chunk) {
			const d = s.data;
			if (d.queued === 0) {
				const n = s.write(chunk);
				if (n === chunk.byteLength) return;
				chunk = chunk.subarray(Math.max(n, 0));
			}
			d.queue.push(chunk);
			d.queued += chunk.byteLength;
			if (d.queued > 1024 * 1024) s.pause();
		},
		drain(s) {
			flush(s);
			if (s.data.queued <= 1024 * 1024) s.resume();
		},
		end(s) {
			s.data.ended = true;
			if (s.data.queued === 0) s.end();
		},
		error() {},
	},
});
// The listening line every bench server writes first.
console.log(JSON.stringify({ event: "listening", address: `tcp://127.0.0.1:${server.port}` }));
