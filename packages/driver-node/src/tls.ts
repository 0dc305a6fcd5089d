import type { Socket } from "node:net";
import tls from "node:tls";
import { type ServerTls, serverSocketOptions } from "@echo-cli/core/tls";

/**
 * Wraps an accepted socket in a TLS server session, as `tls.Server` does, so
 * that the connection is ours from accept on and its handshake failure is
 * its own error. No `highWaterMark` here, so the socket applies backpressure
 * at the stream default (16 KiB on Node 20): with more queued in a TLS
 * socket, Node 20 never finishes exiting (it loops in its handle cleanup at exit).
 */
export function wrapServerSocket(raw: Socket, config: ServerTls): tls.TLSSocket {
	return new tls.TLSSocket(raw, serverSocketOptions(config));
}
