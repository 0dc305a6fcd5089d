/**
 * Typed errors. Each carries a machine-readable `reason` and a message a
 * user can act on; `cause` keeps the runtime's own error when there is one.
 */

export type ListenErrorReason = "address-in-use" | "permission-denied" | "bad-address" | "unavailable";

/** The listener could not be created. */
export class ListenError extends Error {
	override readonly name = "ListenError";
	readonly reason: ListenErrorReason;
	constructor(reason: ListenErrorReason, message: string, options?: ErrorOptions) {
		super(message, options);
		this.reason = reason;
	}
}

export type ConnectionErrorReason =
	/** The peer reset the connection (RST). */
	| "reset"
	/** The connection is closed; nothing more can be done on it. */
	| "closed"
	/** This side aborted it with `close(error)`. */
	| "aborted"
	/** Nobody listens at the address. */
	| "refused"
	/** The address cannot be reached or resolved. */
	| "unreachable"
	/** An idle or drain deadline passed. */
	| "timeout"
	/** The peer broke the protocol a layer requires (a bad PROXY header). */
	| "protocol"
	/** The TLS handshake failed, or the TLS session broke: the message says why. */
	| "tls";

/** A connection failed or was used after it failed. */
export class ConnectionError extends Error {
	override readonly name = "ConnectionError";
	readonly reason: ConnectionErrorReason;
	constructor(reason: ConnectionErrorReason, message: string, options?: ErrorOptions) {
		super(message, options);
		this.reason = reason;
	}
}

export type DatagramErrorReason =
	/** Larger than the largest datagram of the socket's family. */
	| "too-large"
	/** Not a numeric address of the socket's family, or a port out of range. */
	| "bad-address"
	/** The socket is closed. */
	| "closed";

/** A datagram could not be sent; nothing was sent. */
export class DatagramError extends Error {
	override readonly name = "DatagramError";
	readonly reason: DatagramErrorReason;
	constructor(reason: DatagramErrorReason, message: string) {
		super(message);
		this.reason = reason;
	}
}

export type MisuseErrorReason = "concurrent-read" | "concurrent-accept" | "write-after-end";

/** The caller broke the contract; this is a bug in the calling code. */
export class MisuseError extends Error {
	override readonly name = "MisuseError";
	readonly reason: MisuseErrorReason;
	constructor(reason: MisuseErrorReason, message: string) {
		super(message);
		this.reason = reason;
	}
}

const describe = (address: string) => (address ? ` ${address}` : "");

/**
 * Maps a runtime error code (`EADDRINUSE`, `ECONNRESET`, ...) to a typed
 * error. Both Node and Bun report system errors with these codes.
 */
export function listenErrorFrom(error: unknown, address: string): ListenError {
	if (error instanceof ListenError) return error;
	const code = errorCode(error);
	const where = describe(address);
	switch (code) {
		case "EADDRINUSE":
			return new ListenError(
				"address-in-use",
				`address${where} is already in use; stop the other server or choose another port`,
				{ cause: error },
			);
		case "EACCES":
		case "EPERM":
			if (isPath(address)) {
				return new ListenError(
					"permission-denied",
					`permission denied to create the socket file ${address}; choose a directory you can write to`,
					{ cause: error },
				);
			}
			return new ListenError(
				"permission-denied",
				`permission denied to listen on${where}; ports below 1024 need privileges, choose a port above 1023`,
				{ cause: error },
			);
		case "EADDRNOTAVAIL":
		case "ENOTFOUND":
		case "EAI_NONAME":
		case "EAI_AGAIN":
		case "EAI_FAIL":
		case "EINVAL":
		case "ERR_INVALID_ARG_VALUE":
		case "ERR_SOCKET_BAD_PORT":
			return new ListenError("bad-address", `cannot listen on${where}: no such local address`, { cause: error });
		case "ENOENT":
		case "ENOTDIR":
			return new ListenError("bad-address", `cannot listen on${where}: the directory does not exist`, {
				cause: error,
			});
		default:
			return new ListenError("unavailable", `cannot listen on${where}: ${messageOf(error)}`, { cause: error });
	}
}

export function connectionErrorFrom(error: unknown): ConnectionError {
	if (error instanceof ConnectionError) return error;
	switch (errorCode(error)) {
		case "ECONNRESET":
		case "EPIPE":
			return new ConnectionError("reset", "the peer reset the connection", { cause: error });
		case "ECONNREFUSED":
			return new ConnectionError("refused", "connection refused: nothing listens at that address", {
				cause: error,
			});
		case "ENOTFOUND":
		case "EHOSTUNREACH":
		case "ENETUNREACH":
		case "EAI_AGAIN":
		case "ENOENT":
			return new ConnectionError("unreachable", "the address cannot be reached", { cause: error });
		case "ETIMEDOUT":
			return new ConnectionError("timeout", "the connection timed out", { cause: error });
		case "ERR_STREAM_DESTROYED":
		case "ERR_STREAM_WRITE_AFTER_END":
		case "ERR_SOCKET_CLOSED":
			return new ConnectionError("closed", "the connection is closed", { cause: error });
		default:
			return new ConnectionError("reset", `the connection failed: ${messageOf(error)}`, { cause: error });
	}
}

export function errorCode(error: unknown): string | undefined {
	if (typeof error === "object" && error !== null && "code" in error) {
		const code = (error as { code: unknown }).code;
		return typeof code === "string" ? code : undefined;
	}
	return undefined;
}

/** Unix socket paths are absolute or relative file names; TCP addresses are host:port. */
function isPath(address: string): boolean {
	return address.startsWith("/") || address.startsWith(".");
}

function messageOf(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
