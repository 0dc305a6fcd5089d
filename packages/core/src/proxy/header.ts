/**
 * The PROXY protocol header (versions 1 and 2), as HAProxy's
 * `proxy-protocol.txt` defines it: what a load balancer sends before the
 * client's bytes so that the server learns the real client.
 *
 * {@link parseProxyHeader} is incremental: give it everything received so
 * far and it says that it needs more, that the bytes are not a valid header,
 * or what the header says and how long it was. It reads at most 107 bytes of
 * a version 1 header and 16 + 65,535 of a version 2 one.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { TcpAddress, UnixAddress } from "../contract.ts";

export type ProxyHeader =
	| {
			readonly version: 1 | 2;
			readonly command: "proxy";
			readonly source: TcpAddress;
			readonly destination: TcpAddress;
	  }
	| {
			readonly version: 2;
			readonly command: "proxy";
			readonly source: UnixAddress;
			readonly destination: UnixAddress;
	  }
	/**
	 * The connection's own addresses stand: a v2 LOCAL command (the proxy's
	 * own health check), v2 with the UNSPEC family, or v1 `UNKNOWN`.
	 */
	| { readonly version: 1 | 2; readonly command: "local" };

export type ProxyParse =
	| { readonly header: ProxyHeader; readonly length: number }
	/** Not enough yet: parse again once there are at least `need` bytes. */
	| { readonly need: number }
	| { readonly error: string };

/** The longest version 1 header, CRLF included. */
export const V1_MAX_LENGTH = 107;
const V1_PREFIX = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20]; // "PROXY "
const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

export function parseProxyHeader(bytes: Uint8Array): ProxyParse {
	if (startsWith(bytes, V2_SIGNATURE)) return parseV2(bytes);
	if (startsWith(bytes, V1_PREFIX))
		return bytes.length < V1_PREFIX.length ? { need: bytes.length + 1 } : parseV1(bytes);
	return { error: "no PROXY header (neither the v1 text nor the v2 signature)" };
}

/** True when `bytes` and `prefix` agree over the shorter of the two. */
function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
	const n = Math.min(bytes.length, prefix.length);
	for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
	return true;
}

function parseV1(bytes: Uint8Array): ProxyParse {
	const limit = Math.min(bytes.length, V1_MAX_LENGTH);
	let end = -1;
	for (let i = 1; i < limit; i++) {
		if (bytes[i - 1] === 0x0d && bytes[i] === 0x0a) {
			end = i + 1;
			break;
		}
	}
	if (end < 0) {
		return bytes.length >= V1_MAX_LENGTH
			? { error: `a v1 header without CRLF in its first ${V1_MAX_LENGTH} bytes` }
			: { need: bytes.length + 1 };
	}
	// The header is ASCII metadata, never echo data.
	let line = "";
	for (let i = 0; i < end - 2; i++) {
		const byte = bytes[i] as number;
		if (byte < 0x20 || byte > 0x7e) return { error: "a v1 header with a byte that is not printable ASCII" };
		line += String.fromCharCode(byte);
	}
	const fields = line.split(" ");
	if (fields[1] === "UNKNOWN") return { header: { version: 1, command: "local" }, length: end };
	if (fields[1] !== "TCP4" && fields[1] !== "TCP6") {
		return { error: `a v1 header with protocol '${fields[1] ?? ""}' (expected TCP4, TCP6 or UNKNOWN)` };
	}
	if (fields.length !== 6) return { error: "a v1 header without exactly two addresses and two ports" };
	const [, protocol, sourceHost, destinationHost, sourcePort, destinationPort] = fields as [
		string,
		string,
		string,
		string,
		string,
		string,
	];
	const family = protocol === "TCP4" ? "IPv4" : "IPv6";
	const valid = family === "IPv4" ? isIPv4 : isIPv6;
	for (const host of [sourceHost, destinationHost]) {
		if (!valid(host)) return { error: `a v1 ${protocol} header with '${host}', not an ${family} address` };
	}
	const ports: number[] = [];
	for (const port of [sourcePort, destinationPort]) {
		if (!/^(0|[1-9]\d{0,4})$/.test(port) || Number(port) > 65535) {
			return { error: `a v1 header with port '${port}' (expected 0 to 65535)` };
		}
		ports.push(Number(port));
	}
	return {
		header: {
			version: 1,
			command: "proxy",
			source: { transport: "tcp", host: sourceHost, port: ports[0] as number, family },
			destination: { transport: "tcp", host: destinationHost, port: ports[1] as number, family },
		},
		length: end,
	};
}

function parseV2(bytes: Uint8Array): ProxyParse {
	if (bytes.length < 16) return { need: 16 };
	const versionCommand = bytes[12] as number;
	if (versionCommand >> 4 !== 2) return { error: `a v2 header with version ${versionCommand >> 4} (expected 2)` };
	const command = versionCommand & 0x0f;
	if (command > 1) return { error: `a v2 header with command ${command} (expected LOCAL or PROXY)` };
	const length = 16 + (((bytes[14] as number) << 8) | (bytes[15] as number));
	if (bytes.length < length) return { need: length };
	if (command === 0) return { header: { version: 2, command: "local" }, length };
	const familyProtocol = bytes[13] as number;
	const view = new DataView(bytes.buffer, bytes.byteOffset + 16, length - 16);
	switch (familyProtocol) {
		case 0x00:
			return { header: { version: 2, command: "local" }, length };
		case 0x11: {
			if (view.byteLength < 12) return { error: "a v2 TCP over IPv4 header shorter than its addresses" };
			const host = (at: number) => Array.from(bytes.subarray(16 + at, 16 + at + 4)).join(".");
			return tcp(host(0), host(4), view.getUint16(8), view.getUint16(10), "IPv4", length);
		}
		case 0x21: {
			if (view.byteLength < 36) return { error: "a v2 TCP over IPv6 header shorter than its addresses" };
			const host = (at: number) => ipv6(view, at);
			return tcp(host(0), host(16), view.getUint16(32), view.getUint16(34), "IPv6", length);
		}
		case 0x31: {
			if (view.byteLength < 216) return { error: "a v2 unix stream header shorter than its addresses" };
			const path = (at: number) => {
				const field = bytes.subarray(16 + at, 16 + at + 108);
				const nul = field.indexOf(0);
				return new TextDecoder().decode(nul < 0 ? field : field.subarray(0, nul));
			};
			return {
				header: {
					version: 2,
					command: "proxy",
					source: { transport: "unix", path: path(0) },
					destination: { transport: "unix", path: path(108) },
				},
				length,
			};
		}
		default:
			return {
				error: `a v2 header with family and protocol 0x${familyProtocol.toString(16).padStart(2, "0")} (a stream server takes TCP over IPv4 or IPv6, unix stream, or UNSPEC)`,
			};
	}
}

function tcp(
	sourceHost: string,
	destinationHost: string,
	sourcePort: number,
	destinationPort: number,
	family: "IPv4" | "IPv6",
	length: number,
): ProxyParse {
	return {
		header: {
			version: 2,
			command: "proxy",
			source: { transport: "tcp", host: sourceHost, port: sourcePort, family },
			destination: { transport: "tcp", host: destinationHost, port: destinationPort, family },
		},
		length,
	};
}

/** An IPv6 address in its RFC 5952 text form: lower case, the longest run of two or more zero groups as `::`. */
function ipv6(view: DataView, at: number): string {
	const groups: number[] = [];
	for (let i = 0; i < 8; i++) groups.push(view.getUint16(at + i * 2));
	let best = -1;
	let bestLength = 1;
	for (let i = 0; i < 8; ) {
		if (groups[i] !== 0) {
			i++;
			continue;
		}
		let j = i;
		while (j < 8 && groups[j] === 0) j++;
		if (j - i > bestLength) {
			best = i;
			bestLength = j - i;
		}
		i = j;
	}
	const text = (from: number, to: number) =>
		groups
			.slice(from, to)
			.map((g) => g.toString(16))
			.join(":");
	return best < 0 ? text(0, 8) : `${text(0, best)}::${text(best + bestLength, 8)}`;
}
