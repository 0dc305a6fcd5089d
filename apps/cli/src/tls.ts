import { readFileSync, writeFileSync } from "node:fs";
import type { Address, TlsServerOptions } from "@echo-cli/core";
import { CertificateError, type CertificateInfo, inspectCertificate } from "@echo-cli/core/tls";
import { reachableHost } from "./format.ts";
import { writeProblem } from "./ready-file.ts";

/** With --tls: the certificate served, and how to try it. */
export interface TlsLine {
	readonly fingerprint: string;
	/** Made at start rather than read from --cert. */
	readonly generated: boolean;
	readonly clientAuth: boolean;
	/** A file clients can verify the server with, when there is one. */
	readonly trustFile?: string;
	/** A ready `openssl s_client` command. */
	readonly command: string;
}

/** The TLS flags as given: file paths, not yet read. */
export interface TlsFlags {
	readonly cert: string | undefined;
	readonly key: string | undefined;
	readonly ca: string | undefined;
	readonly clientAuth: boolean;
	readonly certOut: string | undefined;
}

/** What a TLS listener serves, checked, and what the banner says about it. */
export interface ServedTls {
	readonly options: TlsServerOptions;
	readonly info: CertificateInfo;
	/** True when the certificate was made at start (no --cert). */
	readonly generated: boolean;
	/** A file a client can verify the server with: --cert-out, or --cert itself when self-signed. */
	readonly trustFile: string | undefined;
}

/** A TLS setup that cannot serve: one line for the user, exit 1. */
export class TlsSetupError extends Error {
	override readonly name = "TlsSetupError";
}

/**
 * Reads and checks the files, or makes a certificate for `host` and the
 * loopback names, and writes it to --cert-out. Everything is checked before
 * anything listens, so a bad file is one line at start, never a failure at
 * the first handshake.
 */
export async function prepareTls(flags: TlsFlags, host: string): Promise<ServedTls> {
	const ca = flags.ca === undefined ? undefined : readPem(flags.ca, "--ca");
	let cert: string;
	let key: string;
	if (flags.cert !== undefined && flags.key !== undefined) {
		cert = readPem(flags.cert, "--cert");
		key = readPem(flags.key, "--key");
	} else {
		// Loaded only here: a server given its own files never pays for the generator.
		const { loopbackNames, selfSignedCertificate } = await import("@echo-cli/core/tls");
		({ cert, key } = await selfSignedCertificate({ hosts: loopbackNames(host) }));
	}
	let info: CertificateInfo;
	try {
		info = inspectCertificate(cert, key, { cert: `--cert ${flags.cert}`, key: `--key ${flags.key}` });
		if (ca !== undefined) inspectCertificate(ca, undefined, { cert: `--ca ${flags.ca}`, key: "" });
	} catch (error) {
		if (error instanceof CertificateError) throw new TlsSetupError(error.message);
		throw error;
	}
	if (flags.certOut !== undefined) {
		try {
			writeFileSync(flags.certOut, cert);
		} catch (error) {
			throw new TlsSetupError(`cannot write --cert-out ${flags.certOut}: ${writeProblem(error)}`);
		}
	}
	const selfSigned = info.subject === info.issuer;
	return {
		options: { cert, key, ...(ca !== undefined ? { ca, clientAuth: flags.clientAuth } : {}) },
		info,
		generated: flags.cert === undefined,
		trustFile: flags.certOut ?? (selfSigned ? flags.cert : undefined),
	};
}

/** What a user is warned of at start: an expired certificate, and the Bun gap behind a PROXY header. */
export function tlsWarnings(tls: ServedTls, proxyProtocol: boolean): string[] {
	const warnings: string[] = [];
	if (tls.info.expired) {
		warnings.push(
			`the certificate expired on ${tls.info.validTo.toISOString()}; clients that verify it will refuse it`,
		);
	}
	if (proxyProtocol && process.versions.bun !== undefined) {
		warnings.push(
			"on Bun, TLS after a PROXY header cannot half-close: echo still owed when a client closes its side is lost; run on Node for that",
		);
	}
	return warnings;
}

/** The ready `openssl s_client` command for the banner. */
export function opensslCommand(address: Address, tls: ServedTls, clientAuth: boolean): string {
	if (address.transport === "unix") return `openssl s_client -unix ${address.path} -quiet`;
	const host = reachableHost(address.host);
	const target = host.includes(":") ? `[${host}]:${address.port}` : `${host}:${address.port}`;
	const verify = tls.trustFile ? ` -CAfile ${tls.trustFile} -verify_return_error` : "";
	const client = clientAuth ? " -cert CLIENT.pem -key CLIENT.key" : "";
	return `openssl s_client -connect ${target}${verify}${client} -quiet`;
}

function readPem(path: string, flag: string): string {
	try {
		return readFileSync(path, "utf8");
	} catch (error) {
		throw new TlsSetupError(`cannot read ${flag} ${path}: ${problem(error)}`);
	}
}

function problem(error: unknown): string {
	const code = (error as NodeJS.ErrnoException).code;
	return code === "ENOENT" ? "no such file" : writeProblem(error);
}

/** What the banner says about TLS. */
export function tlsLine(address: Address, tls: ServedTls, clientAuth: boolean): TlsLine {
	return {
		fingerprint: tls.info.fingerprint256,
		generated: tls.generated,
		clientAuth,
		...(tls.trustFile ? { trustFile: tls.trustFile } : {}),
		command: opensslCommand(address, tls, clientAuth),
	};
}
