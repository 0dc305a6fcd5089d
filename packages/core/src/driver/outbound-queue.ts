/** Where queued bytes go: a socket's `write()`, which returns the bytes it took (negative once closed). */
export interface ByteSink {
	write(bytes: Uint8Array): number;
}

/**
 * Bytes a socket has not taken yet, in order, for runtimes whose `write()`
 * takes what fits and says how much (Bun): the head may be a partly sent
 * view, and nothing new is written around what waits. Chunks are kept as
 * given, never copied.
 */
export class OutboundQueue {
	/** Bytes queued. */
	bytes = 0;
	// Lazy: most connections never queue anything.
	#chunks: Uint8Array[] | undefined;

	get empty(): boolean {
		return this.bytes === 0;
	}

	push(chunk: Uint8Array): void {
		if (chunk.byteLength === 0) return;
		if (this.#chunks) this.#chunks.push(chunk);
		else this.#chunks = [chunk];
		this.bytes += chunk.byteLength;
	}

	/** Sends `chunk` to `sink` unless bytes are waiting, and queues what it did not take; nothing once it is closed. */
	send(chunk: Uint8Array, sink: ByteSink): void {
		if (this.bytes > 0) {
			this.push(chunk);
			return;
		}
		const sent = sink.write(chunk);
		if (sent >= 0 && sent < chunk.byteLength) this.push(sent > 0 ? chunk.subarray(sent) : chunk);
	}

	/** Offers the queued bytes to `sink` in order until it takes less than offered. True once the queue is empty. */
	flush(sink: ByteSink): boolean {
		const chunks = this.#chunks;
		while (chunks && chunks.length > 0) {
			const head = chunks[0] as Uint8Array;
			const sent = sink.write(head);
			if (sent < 0) return false;
			this.bytes -= sent;
			if (sent < head.byteLength) {
				chunks[0] = head.subarray(sent);
				return false;
			}
			chunks.shift();
		}
		if (this.#chunks === chunks) this.#chunks = undefined;
		return true;
	}

	/** Drops what is queued. `bytes` keeps counting it: what was never sent. */
	drop(): void {
		this.#chunks = undefined;
	}
}
