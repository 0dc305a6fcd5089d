import type { TlsClientOptions, TlsServerOptions, TlsSession } from "@echo-cli/core";
import type { Socket, TLSOptions } from "bun";

export function serverTlsOptions(options: TlsServerOptions): TLSOptions {
	return {
		cert: options.cert,
		key: options.key,
		...(options.ca !== undefined ? { ca: options.ca } : {}),
		requestCert: options.clientAuth === true,
		rejectUnauthorized: options.clientAuth === true,
		...(options.alpn ? { ALPNProtocols: alpnWire(options.alpn) } : {}),
	};
}

export function clientTlsOptions(options: TlsClientOptions): TLSOptions {
	return {
		...(options.ca !== undefined ? { ca: options.ca } : {}),
		...(options.cert !== undefined ? { cert: options.cert } : {}),
		...(options.key !== undefined ? { key: options.key } : {}),
		...(options.serverName !== undefined ? { serverName: options.serverName } : {}),
		rejectUnauthorized: options.insecure !== true,
		...(options.alpn ? { ALPNProtocols: alpnWire(options.alpn) } : {}),
	};
}

export function sessionOf(socket: Socket<unknown>): TlsSession {
	const cipher = socket.getCipher();
	const cn = socket.getPeerCertificate()?.subject?.CN;
	return {
		protocol: socket.getTLSVersion() || "unknown",
		cipher: cipher?.standardName ?? cipher?.name ?? "unknown",
		alpn: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : undefined,
		peer: Array.isArray(cn) ? cn.join(", ") : cn || undefined,
	};
}

/** ALPN's wire format: each name prefixed by its length, as Bun's own node:tls passes it. */
function alpnWire(names: readonly string[]): Uint8Array {
	const encoded = names.map((name) => new TextEncoder().encode(name));
	const wire = new Uint8Array(encoded.reduce((sum, name) => sum + 1 + name.byteLength, 0));
	let at = 0;
	for (const name of encoded) {
		wire[at++] = name.byteLength;
		wire.set(name, at);
		at += name.byteLength;
	}
	return wire;
}
