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
export { clientTlsOptions, type ServerTls, serverSocketOptions, serverTls } from "./options.ts";
export {
	type CertificatePair,
	type CertificateRequest,
	certificateAuthority,
	loopbackNames,
	selfSignedCertificate,
} from "./self-signed.ts";
export { TlsConnection, type TlsLayerOptions, type TlsSide, withTls } from "./tls-connection.ts";
