import { PassThrough, type StageContext } from "./pipeline.ts";
import type { Fault } from "./spec.ts";

/** Our FIN goes out `delay` ms after it could. */
export class SlowClose extends PassThrough {
	readonly #delay: number;
	#timer: ReturnType<typeof setTimeout> | undefined;

	constructor(fault: Extract<Fault, { kind: "slow-close" }>, context: StageContext) {
		super(context);
		this.#delay = fault.delay;
	}

	override finish(): void {
		this.#timer ??= setTimeout(() => this.context.next.finish(), this.#delay);
	}

	stop(): void {
		clearTimeout(this.#timer);
	}
}
