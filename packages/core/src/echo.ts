import type { Handler } from "./contract.ts";

/**
 * The echo handler: reads until the peer half-closes, writes each chunk back
 * and waits for the driver to take it, then half-closes. Waiting on every
 * write is what bounds memory: a peer that does not read stalls its own echo.
 */
export const echo: Handler = async (connection) => {
	for (;;) {
		const chunk = await connection.read();
		if (chunk === null) break;
		await connection.write(chunk);
	}
	await connection.end();
};
