/**
 * For driver authors: the base classes that hold everything drivers share,
 * the mappers from runtime errors to typed errors, and address helpers.
 * Applications need only `@echo-cli/core`.
 */

export { BaseDatagramSocket, udpAddress } from "../datagram/base-socket.ts";
export { connectionErrorFrom, errorCode, listenErrorFrom } from "../errors.ts";
export { hostPort, sharedHost, socketAddress, tcpAddress, UNNAMED_PEER } from "../format.ts";
export { tlsHandshakeError } from "../tls/handshake-error.ts";
export { clientCertificateError, tlsSessionOf } from "../tls/session.ts";
export { BaseConnection, type CloseListener, type Pausable } from "./base-connection.ts";
export { BaseDriver, type BindTarget } from "./base-driver.ts";
export { BaseListener } from "./base-listener.ts";
export { bindAddress } from "./host.ts";
export { LayeredConnection } from "./layered-connection.ts";
export { type ByteSink, OutboundQueue } from "./outbound-queue.ts";
export { clearStaleUnixSocket, maxUnixPathBytes } from "./unix.ts";
