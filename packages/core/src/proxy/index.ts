import { type Connection, DEFAULT_HIGH_WATER_MARK, type Handler, isReceiver, type Receiver } from "../contract.ts";
import { ProxiedConnection } from "./proxied-connection.ts";

export { encodeProxyHeader } from "./encode.ts";
export { type ProxyHeader, type ProxyParse, parseProxyHeader, V1_MAX_LENGTH } from "./header.ts";
export { ProxiedConnection } from "./proxied-connection.ts";

/** How long a peer has to send a whole PROXY header, by default. */
export const DEFAULT_PROXY_HEADER_TIMEOUT = 3000;

export interface ProxyProtocolOptions {
	/** Milliseconds a peer has to send the whole header. Default {@link DEFAULT_PROXY_HEADER_TIMEOUT}. */
	readonly timeout?: number;
	readonly highWaterMark?: number;
	/** Called with the accepted connection and the one the handler gets, once the header is whole. */
	readonly onHeader?: (connection: Connection, served: ProxiedConnection) => void;
}

/**
 * `handler` behind a required PROXY-protocol header (v1 or v2) on every
 * connection: the handler runs only once the header is whole, on a
 * connection whose `remote` is the client the header names. A connection
 * with a bad or missing header is closed with the reason (see
 * {@link ProxiedConnection}) and never reaches the handler. A
 * {@link Receiver} stays on the push path.
 *
 * ```ts
 * serve(listener, withProxyProtocol(echo));
 * ```
 */
export function withProxyProtocol(handler: Handler | Receiver, options: ProxyProtocolOptions = {}): Handler {
	const timeout = options.timeout ?? DEFAULT_PROXY_HEADER_TIMEOUT;
	const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
	return (connection: Connection): Promise<void> | void => {
		if (isReceiver(handler)) {
			new ProxiedConnection(connection, timeout, highWaterMark, (served) => {
				options.onHeader?.(connection, served);
				served.receive(handler);
			});
			return;
		}
		// Settles as the handler's own promise would for serve(); a handler that returns nothing
		// (withFaults over a receiver) owns its connection's end, so this settles only at the close.
		return new Promise<void>((resolve, reject) => {
			const served = new ProxiedConnection(connection, timeout, highWaterMark, (ready) => {
				options.onHeader?.(connection, ready);
				let result: Promise<void> | void;
				try {
					result = handler(ready);
				} catch (error) {
					reject(error);
					return;
				}
				result?.then(resolve, reject);
			});
			served.whenClosed(() => resolve());
		});
	};
}
