// Plain Deno.listen, done right: a read()/write() loop per connection that
// writes every byte of a partial write before reading again (which is the
// backpressure), and closeWrite() after the peer's FIN. Not conn.readable:
// iterating it to EOF closes the connection.
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });

async function echo(conn) {
	const buffer = new Uint8Array(64 * 1024);
	try {
		for (;;) {
			const n = await conn.read(buffer);
			if (n === null) break;
			for (let at = 0; at < n; ) at += await conn.write(buffer.subarray(at, n));
		}
		await conn.closeWrite();
	} catch {
		// A reset: this connection is over.
	} finally {
		try {
			conn.close();
		} catch {
			// Closed already.
		}
	}
}

// The listening line every bench server writes first.
console.log(JSON.stringify({ event: "listening", address: `tcp://127.0.0.1:${listener.addr.port}` }));
for await (const conn of listener) echo(conn);
