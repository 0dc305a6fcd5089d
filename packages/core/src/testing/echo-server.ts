import type { Address, Connection, Driver, Handler, ListenOptions, Receiver } from "../contract.ts";
import { echo } from "../echo.ts";
import { type Server, serve } from "../serve.ts";
import { type Client, type ClientConnection, referenceClient } from "./reference-client.ts";

/** A fresh echo server on a loopback port, as every suite of the kit starts one. */
export interface EchoServer {
	readonly server: Server;
	readonly address: Address;
	/** Server-side connections in accept order. */
	readonly accepted: Connection[];
	/** Opens a client connection with the suite's client; closed by {@link close}. */
	connect(): Promise<ClientConnection>;
	/** Closes the clients it opened and aborts the server. */
	close(): Promise<void>;
}

export interface EchoServerOptions {
	/** Default `echo`. */
	readonly handler?: Handler | Receiver;
	/** Where to listen, besides `127.0.0.1` and a free port. */
	readonly listen?: ListenOptions;
	readonly highWaterMark?: number | undefined;
	/** Default the `referenceClient`, which shares no code with any driver. */
	readonly client?: Client | undefined;
}

/** Starts `handler` (default `echo`) over `driver`, counting what it accepts. */
export async function startEchoServer(driver: Driver, options: EchoServerOptions = {}): Promise<EchoServer> {
	const listener = await driver.listen({
		host: "127.0.0.1",
		port: 0,
		...options.listen,
		...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
	});
	const accepted: Connection[] = [];
	const clients: ClientConnection[] = [];
	const client = options.client ?? referenceClient;
	const server = serve(listener, options.handler ?? echo, { onConnection: (c) => accepted.push(c) });
	return {
		server,
		address: listener.address,
		accepted,
		async connect() {
			const connection = await client.connect(listener.address);
			clients.push(connection);
			return connection;
		},
		async close() {
			for (const c of clients) c.close();
			await server.abort();
		},
	};
}

/** Runs `body` against a fresh echo server, and stops it afterwards whatever happened. */
export async function withEchoServer(
	driver: Driver,
	options: EchoServerOptions,
	body: (server: EchoServer) => Promise<void>,
): Promise<void> {
	const server = await startEchoServer(driver, options);
	try {
		await body(server);
	} finally {
		await server.close();
	}
}
