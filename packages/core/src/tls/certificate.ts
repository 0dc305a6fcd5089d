import { createPrivateKey, X509Certificate } from "node:crypto";

export type CertificateErrorReason = "not-pem" | "encrypted-key" | "key-mismatch" | "bad-certificate" | "bad-key";

/** A certificate or key that cannot be served: the message says which and why. */
export class CertificateError extends Error {
	override readonly name = "CertificateError";
	readonly reason: CertificateErrorReason;
	constructor(reason: CertificateErrorReason, message: string, options?: ErrorOptions) {
		super(message, options);
		this.reason = reason;
	}
}

/** What a user is told about the certificate a server presents. */
export interface CertificateInfo {
	/** SHA-256 of the DER certificate, as `AB:CD:...`, what `openssl x509 -fingerprint -sha256` prints. */
	readonly fingerprint256: string;
	readonly subject: string;
	/** Equal to `subject` for a self-signed certificate. */
	readonly issuer: string;
	/** The names it is valid for (subject alternative names), as `DNS:localhost, IP Address:127.0.0.1`. */
	readonly names: string | undefined;
	readonly validFrom: Date;
	readonly validTo: Date;
	/** True when `now` is past `validTo`: it still serves, and clients will refuse it. */
	readonly expired: boolean;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;
// PKCS#8 says so in its label, PKCS#1 and SEC1 in a Proc-Type header.
const ENCRYPTED = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/;

/**
 * Checks that `cert` is a PEM certificate and `key` its unencrypted PEM
 * private key before anything listens with them: the runtimes disagree on
 * what they reject and with which error (Deno takes a mismatched key
 * without a word), so this is decided by parsing, not by error codes.
 * `label` names the two in messages (`--cert`, `server.pem`).
 */
export function inspectCertificate(
	cert: string,
	key: string | undefined,
	labels: { readonly cert: string; readonly key: string } = { cert: "the certificate", key: "the key" },
	now: Date = new Date(),
): CertificateInfo {
	if (!PEM_CERTIFICATE.test(cert)) {
		throw new CertificateError("not-pem", `${labels.cert} is not a PEM certificate (no BEGIN CERTIFICATE line)`);
	}
	let x509: X509Certificate;
	try {
		x509 = new X509Certificate(cert);
	} catch (error) {
		throw new CertificateError("bad-certificate", `${labels.cert} is not a valid certificate`, { cause: error });
	}
	if (key !== undefined) {
		if (ENCRYPTED.test(key)) {
			throw new CertificateError(
				"encrypted-key",
				`${labels.key} is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)`,
			);
		}
		if (!PEM_KEY.test(key)) {
			throw new CertificateError("not-pem", `${labels.key} is not a PEM private key (no BEGIN PRIVATE KEY line)`);
		}
		let matches: boolean;
		try {
			matches = x509.checkPrivateKey(createPrivateKey(key));
		} catch (error) {
			throw new CertificateError("bad-key", `${labels.key} is not a valid private key`, { cause: error });
		}
		if (!matches) {
			throw new CertificateError("key-mismatch", `${labels.key} does not match ${labels.cert}`);
		}
	}
	const validTo = new Date(x509.validTo);
	return {
		fingerprint256: x509.fingerprint256,
		subject: x509.subject.replaceAll("\n", ", "),
		issuer: x509.issuer.replaceAll("\n", ", "),
		names: x509.subjectAltName,
		validFrom: new Date(x509.validFrom),
		validTo,
		expired: now.getTime() > validTo.getTime(),
	};
}
