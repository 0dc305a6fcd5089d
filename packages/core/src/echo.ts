import type { Handler, Receiver } from "./contract.ts";

/** One receiver for every connection: each chunk goes straight back, the peer's FIN is answered with ours. */
const echoing: Receiver = {
	data(chunk, connection) {
		connection.send(chunk);
	},
	end(connection) {
		return connection.end();
	},
};

/**
 * The echo handler: every chunk goes back as it arrives, then our FIN after
 * the peer's. Built on the push path (`receive()` and `send()`), so it costs
 * no promise per chunk; while the peer does not read, the outbound queue
 * reaches its mark and reading pauses, so memory stays bounded. Resolves
 * once our FIN is sent; rejects with the connection's error (a reset, an
 * abort) if it fails first.
 */
export const echo: Handler = (connection) => connection.receive(echoing);

/**
 * The same echo on the pull path, as the classic non-blocking server writes
 * it: `read()` until null, `write()` and wait for each chunk, `end()`.
 */
export const echoByReads: Handler = async (connection) => {
	for await (const chunk of connection) await connection.write(chunk);
	await connection.end();
};
