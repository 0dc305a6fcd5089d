import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { describe, test } from "node:test";
import { tlsHandshakeError } from "../src/driver/index.ts";
import { ConnectionError } from "../src/errors.ts";
import { CertificateError, inspectCertificate, loopbackNames, selfSignedCertificate } from "../src/tls/index.ts";

const pair = await selfSignedCertificate({ hosts: loopbackNames("127.0.0.1") });
const other = await selfSignedCertificate({ hosts: ["localhost"] });

function rejects(run: () => unknown, reason: string, message: RegExp): void {
	assert.throws(run, (error: unknown) => {
		assert.ok(error instanceof CertificateError, `expected a CertificateError, got ${String(error)}`);
		assert.equal(error.reason, reason);
		assert.match(error.message, message);
		return true;
	});
}

describe("inspectCertificate", () => {
	test("a made certificate names the loopback addresses and has the fingerprint openssl prints", () => {
		const info = inspectCertificate(pair.cert, pair.key);
		assert.equal(info.fingerprint256, new X509Certificate(pair.cert).fingerprint256);
		assert.match(info.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
		for (const name of ["DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"])
			assert.ok(info.names?.includes(name), `${name} missing from ${info.names}`);
		assert.equal(info.expired, false);
	});
	test("a key that belongs to another certificate is refused as key-mismatch", () =>
		rejects(
			() => inspectCertificate(pair.cert, other.key, { cert: "a.pem", key: "b.key" }),
			"key-mismatch",
			/b\.key does not match a\.pem/,
		));
	test("an encrypted key is refused before the runtime asks for a passphrase", () => {
		const encrypted = createPrivateKey(pair.key).export({
			type: "pkcs8",
			format: "pem",
			cipher: "aes-256-cbc",
			passphrase: "secret",
		}) as string;
		rejects(() => inspectCertificate(pair.cert, encrypted), "encrypted-key", /encrypted/);
	});
	test("files that are not PEM are named", () => {
		rejects(() => inspectCertificate("hello", pair.key), "not-pem", /not a PEM certificate/);
		rejects(() => inspectCertificate(pair.cert, "hello"), "not-pem", /not a PEM private key/);
		rejects(
			() => inspectCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", undefined),
			"bad-certificate",
			/not a valid certificate/,
		);
	});
	test("an expired certificate is reported as expired, not refused", async () => {
		const old = await selfSignedCertificate({
			hosts: ["localhost"],
			days: 1,
			notBefore: new Date(Date.now() - 3 * 86_400_000),
		});
		assert.equal(inspectCertificate(old.cert, old.key).expired, true);
	});
});

describe("tlsHandshakeError", () => {
	for (const [raw, cause] of [
		[Object.assign(new Error("x"), { code: "ERR_SSL_HTTP_REQUEST" }), /HTTP request/],
		[
			Object.assign(new Error("error:1000009c:SSL routines:OPENSSL_internal:HTTP_REQUEST"), { code: "EPROTO" }),
			/HTTP request/,
		],
		[Object.assign(new Error("x"), { code: "ERR_SSL_WRONG_VERSION_NUMBER" }), /does not speak TLS/],
		[Object.assign(new Error("x"), { code: "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE" }), /no client certificate/],
		[Object.assign(new Error("self signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }), /trusted CA/],
		[Object.assign(new Error("x"), { code: "ERR_TLS_CERT_ALTNAME_INVALID" }), /does not name the host/],
		[new Error("something new"), /TLS handshake failed: something new/],
	] as const) {
		test(`${(raw as { code?: string }).code ?? raw.message} gives a tls error naming the cause`, () => {
			const error = tlsHandshakeError(raw);
			assert.ok(error instanceof ConnectionError);
			assert.equal(error.reason, "tls");
			assert.match(error.message, cause);
			assert.equal(error.cause, raw);
		});
	}
});
