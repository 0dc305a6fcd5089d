import type { Address, Connection } from "../contract.ts";
import { LayeredConnection } from "../driver/layered-connection.ts";
import { ConnectionError } from "../errors.ts";
import { type ProxyHeader, parseProxyHeader } from "./header.ts";

/**
 * A connection read through a PROXY-protocol header: the header is taken
 * off the front and never reaches a reader; `remote` and `local` are the
 * addresses it names (the connection's own for LOCAL and UNKNOWN), and
 * {@link proxy} the peer the bytes came from. Everything after the header
 * (the client's bytes, a TLS ClientHello) reaches readers as it came.
 *
 * A header that is malformed, truncated by the peer's FIN, or not complete
 * within `timeout` closes the connection with a `protocol` or `timeout`
 * {@link ConnectionError} that says why; nothing after it is read.
 */
export class ProxiedConnection extends LayeredConnection {
	/** What came before the header was whole, kept as it came: joined only once the parser can use more. */
	#pending: Uint8Array[] = [];
	#pendingBytes = 0;
	#need = 1;
	#header: ProxyHeader | undefined;
	#timer: ReturnType<typeof setTimeout> | undefined;
	readonly #ready: (connection: ProxiedConnection) => void;

	/** `ready` runs once, when the header is whole and the addresses are known. */
	constructor(
		inner: Connection,
		timeout: number,
		highWaterMark: number,
		ready: (connection: ProxiedConnection) => void,
	) {
		super(inner, highWaterMark);
		this.#ready = ready;
		this.#timer = setTimeout(
			() => this.close(new ConnectionError("timeout", `no complete PROXY header within ${timeout} ms`)),
			timeout,
		);
		this.whenClosed(() => clearTimeout(this.#timer));
		if (!this.isTerminated) this.listen();
	}

	/** What the header said; undefined until it is whole. */
	get header(): ProxyHeader | undefined {
		return this.#header;
	}

	/** The peer the bytes came from: the proxy. */
	get proxy(): Address | undefined {
		return this.inner.remote;
	}

	protected override remoteAddress(): Address | undefined {
		const header = this.#header;
		return header?.command === "proxy" ? header.source : this.inner.remote;
	}

	protected override localAddress(): Address | undefined {
		const header = this.#header;
		return header?.command === "proxy" ? header.destination : this.inner.local;
	}

	override fromInner(chunk: Uint8Array): void {
		if (this.#header !== undefined) {
			this.received(chunk);
			return;
		}
		this.#pending.push(chunk);
		this.#pendingBytes += chunk.byteLength;
		// A header sent a byte at a time is joined a few times, not once per byte.
		if (this.#pendingBytes < this.#need) return;
		const pending = this.#pending.length === 1 ? chunk : concat(this.#pending, this.#pendingBytes);
		const parsed = parseProxyHeader(pending);
		if ("need" in parsed) {
			this.#pending = [pending];
			this.#need = parsed.need;
			return;
		}
		this.#pending = [];
		if ("error" in parsed) {
			this.close(new ConnectionError("protocol", `bad PROXY header: ${parsed.error}`));
			return;
		}
		clearTimeout(this.#timer);
		this.#header = parsed.header;
		this.#ready(this);
		if (parsed.length < pending.byteLength && !this.isTerminated) this.received(pending.subarray(parsed.length));
	}

	override innerEnded(): void {
		if (this.#header === undefined) {
			const got = this.#pendingBytes;
			this.close(
				new ConnectionError(
					"protocol",
					got === 0
						? "bad PROXY header: the peer closed before sending one"
						: `bad PROXY header: the peer closed after ${got} bytes of it`,
				),
			);
			return;
		}
		super.innerEnded();
	}
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
	const joined = new Uint8Array(length);
	let at = 0;
	for (const chunk of chunks) {
		joined.set(chunk, at);
		at += chunk.byteLength;
	}
	return joined;
}
