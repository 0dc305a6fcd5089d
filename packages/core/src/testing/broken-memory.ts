import type { Address } from "../contract.ts";
import { MemoryConnection, MemoryDriver, type MemoryDriverOptions } from "../memory.ts";

/**
 * Bugs a memory driver can be given, each one a real driver's: a partial
 * write whose tail is dropped (Bun's `write()`), bytes decoded as text,
 * chunks reordered, and a queue lost at FIN (Bun with `allowHalfOpen: false`).
 */
export type MemoryFault = "drop-partial-tail" | "decode-text" | "reorder" | "lose-queued-at-fin";

/**
 * A {@link MemoryDriver} with one bug, to prove that a test or a property
 * catches it: a check that passes against this driver proves nothing.
 */
export class BrokenMemoryDriver extends MemoryDriver {
	readonly fault: MemoryFault;

	constructor(fault: MemoryFault, options: MemoryDriverOptions = {}) {
		super(options);
		this.fault = fault;
	}

	protected override connection(highWaterMark: number, local: Address, remote: Address): MemoryConnection {
		return new BrokenConnection(highWaterMark, local, remote, this.options, this.fault);
	}
}

class BrokenConnection extends MemoryConnection {
	readonly #fault: MemoryFault;
	/** For `reorder`: the first chunk, held back to go out after the next one. */
	#held: Uint8Array | undefined;
	#reordered = false;

	constructor(
		highWaterMark: number,
		local: Address,
		remote: Address,
		options: MemoryDriverOptions,
		fault: MemoryFault,
	) {
		super(highWaterMark, local, remote, options);
		this.#fault = fault;
	}

	protected override transfer(bytes: Uint8Array): number {
		const taken = super.transfer(bytes);
		// The peer took part of the chunk and the rest is forgotten, as a naive Bun.listen echo forgets it.
		return this.#fault === "drop-partial-tail" && taken > 0 ? bytes.byteLength : taken;
	}

	override deliver(chunk: Uint8Array): void {
		super.deliver(this.#fault === "decode-text" ? new TextEncoder().encode(new TextDecoder().decode(chunk)) : chunk);
	}

	protected override transmit(bytes: Uint8Array): boolean {
		if (this.#fault !== "reorder" || this.#reordered) return super.transmit(bytes);
		if (this.#held === undefined) {
			// Swapped with the next chunk written in the same turn; alone, it goes out as it is.
			this.#held = bytes;
			setTimeout(() => this.#release(), 0);
			return true;
		}
		this.#reordered = true;
		const first = this.#held;
		this.#held = undefined;
		super.transmit(bytes);
		return super.transmit(first);
	}

	protected override finish(): void {
		this.#release();
		if (this.#fault === "lose-queued-at-fin") {
			this.queue.drop();
			this.queue.bytes = 0;
		}
		super.finish();
	}

	#release(): void {
		const held = this.#held;
		this.#held = undefined;
		if (held !== undefined && !this.isTerminated) super.transmit(held);
	}
}
