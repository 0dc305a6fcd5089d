import { BaseConnection } from "./base-connection.ts";
import type { Handler } from "./contract.ts";

/**
 * The echo handler: reads until the peer half-closes, writes each chunk back
 * and waits for the driver to take it, then half-closes. Waiting on every
 * write is what bounds memory: a peer that does not read stalls its own echo.
 * On the drivers' own connections it runs fused into the connection
 * (`BaseConnection.echoInPlace()`), with no promise per chunk; anything else
 * gets {@link echoByReads}.
 */
export const echo: Handler = (connection) =>
	connection instanceof BaseConnection ? connection.echoInPlace() : echoByReads(connection);

/** The echo handler spelled out on the contract: `read()` until null, `write()` and wait, `end()`. */
export const echoByReads: Handler = async (connection) => {
	for (;;) {
		const chunk = await connection.read();
		if (chunk === null) break;
		await connection.write(chunk);
	}
	await connection.end();
};
