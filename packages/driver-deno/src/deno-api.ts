/**
 * The part of the `Deno` namespace this driver uses, typed here so that the
 * package builds with tsc (which has no Deno types); `deno check` holds these
 * against the real ones. Reached through `globalThis`, so nothing here
 * shadows or redeclares Deno's global.
 */
export interface DenoNetAddr {
	readonly transport: "tcp" | "udp";
	readonly hostname: string;
	readonly port: number;
}
export interface DenoUnixAddr {
	readonly transport: "unix" | "unixpacket";
	readonly path: string | null;
}
export type DenoAddr = DenoNetAddr | DenoUnixAddr;

export interface DenoConn {
	read(buffer: Uint8Array): Promise<number | null>;
	write(bytes: Uint8Array): Promise<number>;
	closeWrite(): Promise<void>;
	close(): void;
	readonly localAddr: DenoAddr;
	readonly remoteAddr: DenoAddr;
	/** TCP connections only. */
	setNoDelay?(noDelay?: boolean): void;
}

export interface DenoListener {
	accept(): Promise<DenoConn>;
	close(): void;
	readonly addr: DenoAddr;
}

export interface DenoNamespace {
	readonly version: { readonly deno: string };
	listen(
		options: { hostname: string; port: number; transport?: "tcp" } | { path: string; transport: "unix" },
	): DenoListener;
	connect(
		options: { hostname: string; port: number; transport?: "tcp" } | { path: string; transport: "unix" },
	): Promise<DenoConn>;
}

/** `Deno`, or undefined on another runtime. */
export const deno: DenoNamespace | undefined = (globalThis as { Deno?: DenoNamespace }).Deno;
