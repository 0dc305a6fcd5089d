/**
 * Lines in the style of `hexdump -C`: offset, 16 bytes in hex, the printable
 * ASCII. Only for display: the echoed bytes themselves are never converted.
 */
export function hexLines(bytes: Uint8Array, offset: number): string[] {
	const lines: string[] = [];
	for (let at = 0; at < bytes.byteLength; at += 16) {
		const row = bytes.subarray(at, at + 16);
		const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0"));
		const left = hex.slice(0, 8).join(" ");
		const right = hex.slice(8).join(" ");
		const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
		lines.push(`${(offset + at).toString(16).padStart(8, "0")}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
	}
	return lines;
}
