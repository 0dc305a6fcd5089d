/**
 * UDP echo (RFC 862): the datagram part of the contract, the in-memory
 * datagram driver, the echo server with its safety rules, and datagram
 * faults.
 */

export { formatUdpAddress, parseUdpAddress, udpAddress } from "./base-socket.ts";
export {
	type BindOptions,
	type Datagram,
	type DatagramDriver,
	type DatagramSocket,
	type DatagramStats,
	DEFAULT_RECEIVE_QUEUE,
	MAX_DATAGRAM_IPV4,
	MAX_DATAGRAM_IPV6,
	type UdpAddress,
} from "./contract.ts";
export {
	DATAGRAM_FAULTS,
	type DatagramFault,
	type DatagramFaultKind,
	DEFAULT_REORDER_WAIT,
	describeDatagramFault,
	MAX_HELD_REPLIES,
	parseDatagramFault,
} from "./faults.ts";
export {
	DatagramGuard,
	DEFAULT_DATAGRAM_RATE,
	type GuardOptions,
	type GuardVerdict,
	RESERVED_SOURCE_PORTS,
} from "./guard.ts";
export { MemoryDatagramDriver } from "./memory.ts";
export {
	DATAGRAM_DROP_REASONS,
	type DatagramDropReason,
	type DatagramServeOptions,
	type DatagramServer,
	type DatagramServerStats,
	serveDatagrams,
} from "./serve.ts";
