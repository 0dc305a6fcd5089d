import type { TcpAddress } from "../contract.ts";

const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/**
 * A PROXY header naming `source` as the client of a connection to
 * `destination` (both IPv4 or both IPv6), as a load balancer sends it: for
 * clients that test a backend which requires one. Version 2 may carry
 * `tlvs`, bytes a receiver skips.
 */
export function encodeProxyHeader(
	version: 1 | 2,
	source: TcpAddress,
	destination: TcpAddress,
	tlvs: Uint8Array = new Uint8Array(0),
): Uint8Array {
	if (source.family !== destination.family) throw new TypeError("a PROXY header names two addresses of one family");
	if (version === 1) {
		const line = `PROXY ${source.family === "IPv4" ? "TCP4" : "TCP6"} ${source.host} ${destination.host} ${source.port} ${destination.port}\r\n`;
		return Uint8Array.from(line, (c) => c.charCodeAt(0));
	}
	const ipv4 = source.family === "IPv4";
	const addresses = ipv4 ? 12 : 36;
	const header = new Uint8Array(16 + addresses + tlvs.byteLength);
	header.set(V2_SIGNATURE);
	header[12] = 0x21;
	header[13] = ipv4 ? 0x11 : 0x21;
	const view = new DataView(header.buffer);
	view.setUint16(14, addresses + tlvs.byteLength);
	const width = ipv4 ? 4 : 16;
	header.set(hostBytes(source), 16);
	header.set(hostBytes(destination), 16 + width);
	view.setUint16(16 + 2 * width, source.port);
	view.setUint16(18 + 2 * width, destination.port);
	header.set(tlvs, 16 + addresses);
	return header;
}

function hostBytes(address: TcpAddress): Uint8Array {
	if (address.family === "IPv4") return Uint8Array.from(address.host.split("."), Number);
	const [head = "", tail = ""] = address.host.includes("::") ? address.host.split("::") : [address.host, ""];
	const groups = (text: string) => (text === "" ? [] : text.split(":").map((g) => Number.parseInt(g, 16)));
	const front = groups(head);
	const back = address.host.includes("::") ? groups(tail) : [];
	const all = [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
	const bytes = new Uint8Array(16);
	const view = new DataView(bytes.buffer);
	for (const [i, group] of all.entries()) view.setUint16(i * 2, group);
	return bytes;
}
