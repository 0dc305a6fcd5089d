export {
	type Address,
	type Connection,
	type ConnectOptions,
	DEFAULT_HIGH_WATER_MARK,
	type Driver,
	type Handler,
	type Listener,
	type ListenOptions,
	type Receiver,
	type TcpAddress,
	type TcpListenOptions,
	type TlsClientOptions,
	type TlsServerOptions,
	type TlsSession,
	type UnixAddress,
	type UnixListenOptions,
} from "./contract.ts";
export { echo, echoByReads } from "./echo.ts";
export {
	ConnectionError,
	type ConnectionErrorReason,
	DatagramError,
	type DatagramErrorReason,
	ListenError,
	type ListenErrorReason,
	MisuseError,
	type MisuseErrorReason,
} from "./errors.ts";
export {
	describeFault,
	FAULTS,
	type Fault,
	type FaultDefinition,
	type FaultKind,
	type FaultOptions,
	FaultSpecError,
	parseFault,
	withFaults,
} from "./faults/index.ts";
export { formatAddress, parseAddress } from "./format.ts";
export { listeningLine, parseListening, parseListeningRecord } from "./listening.ts";
export { MemoryDriver, type MemoryDriverOptions } from "./memory.ts";
export {
	DEFAULT_PROXY_HEADER_TIMEOUT,
	encodeProxyHeader,
	ProxiedConnection,
	type ProxyHeader,
	type ProxyParse,
	type ProxyProtocolOptions,
	parseProxyHeader,
	withProxyProtocol,
} from "./proxy/index.ts";
export {
	type ConnectionOutcome,
	type ConnectionSummary,
	type ServeOptions,
	type Server,
	type ServerStats,
	type ShutdownOptions,
	type ShutdownResult,
	serve,
} from "./serve.ts";
export { parseDuration, parseRate, parseSize, printDuration, printRate, printSize } from "./units.ts";
