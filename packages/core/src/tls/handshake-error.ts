import { ConnectionError, errorCode } from "../errors.ts";

/**
 * What the runtimes' TLS stacks say, matched by the OpenSSL/BoringSSL
 * reason in the code or message (the codes differ between Node and Bun),
 * and the cause in words a user can act on.
 */
const CAUSES: readonly (readonly [RegExp, string])[] = [
	[/HTTP_REQUEST|http request/i, "the peer sent an HTTP request, not a TLS handshake"],
	[
		/WRONG_VERSION_NUMBER|UNEXPECTED_MESSAGE|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|wrong version number|unexpected message|unexpected handshake message/i,
		"the peer does not speak TLS (plaintext?)",
	],
	[/PEER_DID_NOT_RETURN_A_CERTIFICATE|CERTIFICATE_REQUIRED/i, "no client certificate, and one is required"],
	[/CERT_HAS_EXPIRED|certificate has expired/i, "the peer's certificate has expired"],
	[/ALTNAME|does not match|HOSTNAME_MISMATCH/i, "the server's certificate does not name the host"],
	[
		/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|UNKNOWN_CA|CERT_SIGNATURE_FAILURE|unknown ca|self.signed/i,
		"the peer's certificate is not signed by a trusted CA",
	],
	[/BAD_CERTIFICATE|bad certificate/i, "the peer rejected our certificate"],
	[
		/ECONNRESET|disconnected before secure|socket hang up|EPIPE/i,
		"the peer closed the connection during the handshake",
	],
];

/** A `tls` {@link ConnectionError} for a failed handshake, whose message names the cause. */
export function tlsHandshakeError(error: unknown): ConnectionError {
	if (error instanceof ConnectionError && error.reason === "tls") return error;
	const code = errorCode(error) ?? "";
	const message = error instanceof Error ? error.message : String(error ?? "");
	const text = `${code} ${message}`;
	const cause = CAUSES.find(([pattern]) => pattern.test(text))?.[1];
	const detail = code && !/^E[A-Z]+$/.test(code) ? code : firstLine(message);
	return new ConnectionError(
		"tls",
		cause ? `TLS handshake failed: ${cause} (${detail})` : `TLS handshake failed: ${firstLine(message)}`,
		{ cause: error },
	);
}

function firstLine(text: string): string {
	return text.split("\n", 1)[0]?.trim() || "no reason given";
}
