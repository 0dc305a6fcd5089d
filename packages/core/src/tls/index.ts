/**
 * Certificates for TLS listeners: checked before listening, or made in
 * memory for tests and for `echo-cli --tls`.
 */
export {
	CertificateError,
	type CertificateErrorReason,
	type CertificateInfo,
	inspectCertificate,
} from "./certificate.ts";
export {
	type CertificatePair,
	type CertificateRequest,
	certificateAuthority,
	loopbackNames,
	selfSignedCertificate,
} from "./self-signed.ts";
export { TlsConnection, type TlsLayerOptions, withTls } from "./tls-connection.ts";
