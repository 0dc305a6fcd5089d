import type { TlsSession } from "../contract.ts";

/**
 * What these functions read of a `node:tls` `TLSSocket`, spelled out so that
 * the driver entry point's types need no `@types/node` in a consumer.
 */
export interface NodeTlsSocket {
	readonly authorized: boolean;
	readonly alpnProtocol: string | false | null;
	getProtocol(): string | null;
	getCipher(): { readonly name: string; readonly standardName?: string } | undefined;
	getPeerCertificate(): { readonly subject?: { readonly CN?: string | string[] } } | object | null;
}

/** What a `node:tls` socket's completed handshake settled. */
export function tlsSessionOf(socket: NodeTlsSocket): TlsSession {
	const peer = socket.getPeerCertificate();
	const cn = peer && "subject" in peer ? peer.subject?.CN : undefined;
	return {
		protocol: socket.getProtocol() ?? "unknown",
		cipher: socket.getCipher()?.standardName ?? socket.getCipher()?.name ?? "unknown",
		alpn: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : undefined,
		peer: Array.isArray(cn) ? cn.join(", ") : cn || undefined,
	};
}

/**
 * Why a `node:tls` server socket's client certificate is not accepted, or
 * undefined once it is. Under `rejectUnauthorized` OpenSSL refuses a missing
 * certificate itself, but one from another CA only fails verification.
 */
export function clientCertificateError(socket: NodeTlsSocket): Error | undefined {
	if (socket.authorized) return undefined;
	// Node sets `authorized` only on sockets its tls.Server made; for a wrapped one, the verdict
	// is read from the handle as that server reads it. Bun sets `authorized` itself.
	const handle = (socket as unknown as { _handle?: { verifyError?(): Error | null } })._handle;
	const error = handle?.verifyError?.();
	if (error === null) return undefined;
	return error ?? new Error("the client's certificate could not be verified");
}
