import { isIP, type Socket } from "node:net";
import tls from "node:tls";
import type { TcpAddress, TlsClientOptions, TlsServerOptions } from "@echo-cli/core";

/** What every accepted socket of a TLS listener is wrapped with: one secure context for all. */
export interface ServerTls {
	readonly context: tls.SecureContext;
	readonly clientAuth: boolean;
	readonly alpn: string[] | undefined;
}

export function serverTls(options: TlsServerOptions): ServerTls {
	return {
		context: tls.createSecureContext({ cert: options.cert, key: options.key, ca: options.ca }),
		clientAuth: options.clientAuth === true,
		alpn: options.alpn ? [...options.alpn] : undefined,
	};
}

/**
 * Wraps an accepted socket in a TLS server session, as `tls.Server` does, so
 * that the connection is ours from accept on and its handshake failure is
 * its own error. Under `clientAuth` OpenSSL refuses a missing certificate
 * itself; a certificate from another CA is refused by `clientCertificateError`.
 * No `highWaterMark` here, so the socket applies backpressure at the stream
 * default (16 KiB on Node 20): with more queued in a TLS socket, Node 20
 * never finishes exiting (it loops in its handle cleanup at exit).
 */
export function wrapServerSocket(raw: Socket, config: ServerTls): tls.TLSSocket {
	return new tls.TLSSocket(raw, {
		isServer: true,
		secureContext: config.context,
		requestCert: config.clientAuth,
		rejectUnauthorized: config.clientAuth,
		...(config.alpn ? { ALPNProtocols: config.alpn } : {}),
	} as tls.TLSSocketOptions);
}

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
