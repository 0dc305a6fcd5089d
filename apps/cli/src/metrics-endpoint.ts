import { createServer, type Server } from "node:http";
import { ListenError } from "@echo-cli/core";
import { hostPort, listenErrorFrom } from "@echo-cli/core/driver";

/** Prometheus' text exposition format, as prom-client writes it. */
const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface MetricsEndpoint {
	/** `http://127.0.0.1:9464/metrics`. */
	readonly url: string;
	close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (and `HEAD`) at `host:port` with what `render`
 * returns; any other path is a 404. Rejects with a {@link ListenError}
 * when the address cannot be used.
 */
export async function serveMetrics(
	host: string,
	port: number,
	render: () => Promise<string>,
): Promise<MetricsEndpoint> {
	const server: Server = createServer((request, response) => {
		const path = (request.url ?? "/").split("?")[0];
		if (path !== "/metrics" || (request.method !== "GET" && request.method !== "HEAD")) {
			response.writeHead(path === "/metrics" ? 405 : 404, { "content-type": "text/plain" });
			response.end(path === "/metrics" ? "use GET\n" : "metrics are at /metrics\n");
			return;
		}
		render().then(
			(text) => {
				response.writeHead(200, { "content-type": CONTENT_TYPE });
				response.end(request.method === "HEAD" ? undefined : text);
			},
			(error: unknown) => {
				response.writeHead(500, { "content-type": "text/plain" });
				response.end(`cannot collect metrics: ${error instanceof Error ? error.message : String(error)}\n`);
			},
		);
	});
	// Scrapers keep connections alive; a stopping server must not wait for them.
	server.keepAliveTimeout = 5000;
	await new Promise<void>((resolve, reject) => {
		server.once("error", reject);
		server.listen({ host, port }, () => {
			server.off("error", reject);
			resolve();
		});
	}).catch((error: unknown) => {
		server.close();
		const failure = listenErrorFrom(error, hostPort(host, port));
		throw new ListenError(failure.reason, `--metrics: ${failure.message}`, { cause: error });
	});
	const bound = server.address();
	const url = typeof bound === "object" && bound ? hostPort(bound.address, bound.port) : hostPort(host, port);
	return {
		url: `http://${url}/metrics`,
		close: () =>
			new Promise((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			}),
	};
}
