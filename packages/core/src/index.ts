export { BaseConnection } from "./base-connection.ts";
export { BaseListener } from "./base-listener.ts";
export {
	type Address,
	type Connection,
	type ConnectOptions,
	DEFAULT_HIGH_WATER_MARK,
	type Driver,
	type Handler,
	type Listener,
	type ListenOptions,
	type TcpAddress,
	type UnixAddress,
} from "./contract.ts";
export { echo, echoByReads } from "./echo.ts";
export {
	ConnectionError,
	type ConnectionErrorReason,
	connectionErrorFrom,
	errorCode,
	ListenError,
	type ListenErrorReason,
	listenErrorFrom,
	MisuseError,
	type MisuseErrorReason,
} from "./errors.ts";
export { formatAddress, hostPort, tcpAddress } from "./format.ts";
export { MemoryDriver, type MemoryDriverOptions, type MemoryFault } from "./memory.ts";
export {
	type ConnectionSummary,
	type ServeOptions,
	type Server,
	type ServerStats,
	type ShutdownOptions,
	type ShutdownResult,
	serve,
} from "./serve.ts";
export { clearStaleUnixSocket } from "./unix.ts";
