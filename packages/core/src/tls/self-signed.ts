import { isIP } from "node:net";

// selfsigned (with its X.509 stack) is loaded when a certificate is made, not by every importer.

/** A PEM certificate and its private key. */
export interface CertificatePair {
	readonly cert: string;
	readonly key: string;
}

export interface CertificateRequest {
	/** Host names and IP addresses the certificate is for; the first is its common name. */
	readonly hosts: readonly string[];
	/** Validity from now. Default 30 days. */
	readonly days?: number;
	/** Sign with this CA instead of self-signing. */
	readonly issuer?: CertificatePair;
	/** A client certificate (extended key usage clientAuth) instead of a server one. */
	readonly client?: boolean;
	/** Backdate the start, for an already expired certificate in tests. */
	readonly notBefore?: Date;
}

// selfsigned signs with SHA-1 and RSA by default; Deno refuses SHA-1, and EC keys are made in milliseconds.
const ALGORITHM = { algorithm: "sha256", keyType: "ec", curve: "P-256" } as const;

/**
 * A fresh certificate made in memory, for the listen host and loopback
 * names: `echo-cli --tls` serves one when given no files.
 */
export async function selfSignedCertificate(request: CertificateRequest): Promise<CertificatePair> {
	const { generate } = await import("selfsigned");
	const [commonName = "localhost"] = request.hosts;
	const notBeforeDate = request.notBefore ?? new Date(Date.now() - 60_000);
	const notAfterDate = new Date(notBeforeDate.getTime() + (request.days ?? 30) * 86_400_000);
	const generated = await generate([{ name: "commonName", value: commonName }], {
		...ALGORITHM,
		notBeforeDate,
		notAfterDate,
		...(request.issuer ? { ca: request.issuer } : {}),
		extensions: [
			{ name: "basicConstraints", cA: false },
			{ name: "keyUsage", digitalSignature: true, keyEncipherment: true },
			{ name: "extKeyUsage", serverAuth: !request.client, clientAuth: request.client === true },
			{
				name: "subjectAltName",
				altNames: [...new Set(request.hosts)].map((host) =>
					isIP(host) ? { type: 7 as const, ip: host } : { type: 2 as const, value: host },
				),
			},
		],
	});
	return { cert: generated.cert, key: generated.private };
}

/** A certificate authority for tests: it signs server and client certificates through `issuer`. */
export async function certificateAuthority(name = "echo-cli test CA", days = 30): Promise<CertificatePair> {
	const { generate } = await import("selfsigned");
	const generated = await generate([{ name: "commonName", value: name }], {
		...ALGORITHM,
		notAfterDate: new Date(Date.now() + days * 86_400_000),
		extensions: [
			{ name: "basicConstraints", cA: true, critical: true },
			{ name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
		],
	});
	return { cert: generated.cert, key: generated.private };
}

/** The names a certificate for `host` should carry: it, and every loopback name. */
export function loopbackNames(host: string): string[] {
	const wildcard = host === "0.0.0.0" || host === "::" || host === "";
	return [...new Set([...(wildcard ? [] : [host]), "localhost", "127.0.0.1", "::1"])];
}
