import { isIP } from "node:net";
import tls from "node:tls";
import type { TcpAddress, TlsClientOptions, TlsServerOptions } from "../contract.ts";

/** What every accepted connection of a TLS listener is wrapped with: one secure context for all. */
export interface ServerTls {
	readonly context: tls.SecureContext;
	readonly clientAuth: boolean;
	readonly alpn: string[] | undefined;
}

/** Made once per listener, before it binds: a bad certificate or key fails the listen, not the first connection. */
export function serverTls(options: TlsServerOptions): ServerTls {
	return {
		context: tls.createSecureContext({ cert: options.cert, key: options.key, ca: options.ca }),
		clientAuth: options.clientAuth === true,
		alpn: options.alpn ? [...options.alpn] : undefined,
	};
}

/**
 * A `tls.TLSSocket` server session's options. Under `clientAuth` OpenSSL
 * refuses a missing certificate itself; one from another CA is refused
 * by `clientCertificateError` once the session is up.
 */
export function serverSocketOptions(config: ServerTls): tls.TLSSocketOptions {
	return {
		isServer: true,
		secureContext: config.context,
		requestCert: config.clientAuth,
		rejectUnauthorized: config.clientAuth,
		...(config.alpn ? { ALPNProtocols: config.alpn } : {}),
	} as tls.TLSSocketOptions;
}

/** `tls.connect()` options for a client session to `address` (none for a unix socket). */
export function clientTlsOptions(address: TcpAddress | undefined, options: TlsClientOptions): tls.ConnectionOptions {
	const serverName = options.serverName ?? (address && isIP(address.host) === 0 ? address.host : undefined);
	return {
		ca: options.ca,
		cert: options.cert,
		key: options.key,
		rejectUnauthorized: options.insecure !== true,
		// SNI takes names only; without one, node:tls checks the certificate against the IP address.
		...(serverName !== undefined ? { servername: serverName } : {}),
		...(options.alpn ? { ALPNProtocols: [...options.alpn] } : {}),
	};
}
