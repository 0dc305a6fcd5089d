import type { Connection, Receiver } from "./contract.ts";

const echoing: Receiver = {
	data(chunk, connection) {
		connection.send(chunk);
	},
	end(connection) {
		connection.end();
	},
};

/**
 * The echo handler: every chunk goes back as it arrives, then our FIN after
 * the peer's. It is a {@link Receiver} on the push path (`receive()` and
 * `send()`): `serve(listener, echo)` allocates nothing per connection or
 * chunk, and while the peer does not read, the outbound queue reaches its
 * mark and reading pauses, so memory stays bounded.
 *
 * Called as a function, `await echo(connection)` serves one connection and
 * settles once our FIN is sent, or rejects with the connection's error (a
 * reset, an abort) if it fails first.
 */
export const echo: ((connection: Connection) => Promise<void>) & Receiver = Object.assign(
	(connection: Connection) =>
		new Promise<void>((resolve, reject) => {
			connection.receive({
				data: echoing.data,
				end: (c) => c.end().then(resolve, reject),
				error: reject,
			});
		}),
	echoing,
);

/**
 * The same echo on the pull path, as the classic non-blocking server writes
 * it: `read()` until null, `write()` and wait for each chunk, `end()`.
 */
export const echoByReads = async (connection: Connection): Promise<void> => {
	for await (const chunk of connection) await connection.write(chunk);
	await connection.end();
};
