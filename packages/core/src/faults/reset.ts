import { parseDuration, printDuration, printSize } from "../units.ts";
import type { FaultDefinition } from "./definition.ts";
import { PassThrough, type StageContext } from "./pipeline.ts";
import type { Fault } from "./spec.ts";

/** A reset (RST) once `bytes` were echoed, or `after` ms after the connection opened. */
export class Reset extends PassThrough {
	readonly #fault: Extract<Fault, { kind: "reset" }>;
	#left: number;
	#timer: ReturnType<typeof setTimeout> | undefined;

	constructor(fault: Extract<Fault, { kind: "reset" }>, context: StageContext) {
		super(context);
		this.#fault = fault;
		this.#left = fault.bytes ?? Number.POSITIVE_INFINITY;
	}

	start(): void {
		if (this.#fault.after !== undefined) this.#timer = setTimeout(() => this.#reset(), this.#fault.after);
		else if (this.#left === 0) this.#reset();
	}

	stop(): void {
		clearTimeout(this.#timer);
	}

	override push(bytes: Uint8Array): void {
		if (this.#left <= 0) return;
		const part = bytes.byteLength <= this.#left ? bytes : bytes.subarray(0, this.#left);
		this.#left -= part.byteLength;
		this.context.next.push(part);
		if (this.#left === 0) this.#resetOnceSent();
	}

	/** The N bytes go to the OS first, so a peer that reads fast may see them all before the reset. */
	override finish(): void {
		// Once the reset is due, no FIN goes before it.
		if (this.#left > 0) this.context.next.finish();
	}

	#resetOnceSent = (): void => {
		if (this.context.connection.outboundBytes === 0) this.#reset();
		else this.#timer = setTimeout(this.#resetOnceSent, 1);
	};

	#reset(): void {
		// An error makes every driver abort with a reset rather than a FIN.
		this.context.connection.close(new Error("reset fault"));
	}
}

/** `reset-after=64KiB` or `reset-after=2s`; a bare number is bytes. */
export const reset: FaultDefinition<"reset"> = {
	kind: "reset",
	name: "reset-after",
	example: ["reset-after=64KiB", "a reset (RST) after 64 KiB echoed; reset-after=2s: 2 s after accept"],
	parse(spec) {
		const after = spec.need("a size (64KiB) or a time (2s)");
		// A time needs its unit here: a bare number is bytes, as for every other size.
		const time = /^\s*\d+(?:\.\d+)?\s*$/.test(after) ? undefined : parseDuration(after);
		return time !== undefined
			? { kind: "reset", after: time }
			: { kind: "reset", bytes: spec.size(after, "size (64KiB) or time (2s)") };
	},
	describe: (fault) =>
		fault.bytes !== undefined
			? `reset-after=${printSize(fault.bytes)}`
			: `reset-after=${printDuration(fault.after ?? 0)}`,
	stage: (fault, context) => new Reset(fault, context),
};
