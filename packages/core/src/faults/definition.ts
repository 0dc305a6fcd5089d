import { parseDuration, parseRate, parseSize } from "../units.ts";
import type { Stage, StageContext } from "./pipeline.ts";
import type { Fault, FaultKind } from "./spec.ts";

/** The fault of one kind, without its share. */
export type FaultOf<K extends FaultKind> = Omit<Extract<Fault, { kind: K }>, "share">;

/**
 * Everything about one kind of fault, in the kind's own module: how a spec
 * names and writes it, how it is read back, and the stage that does it.
 * `parse(describe(f))` gives `f` back.
 */
export interface FaultDefinition<K extends FaultKind> {
	readonly kind: K;
	/** What a spec starts with: `latency`, `reset-after`. */
	readonly name: string;
	/** One spec and what it does, for `--help` and every spec error. */
	readonly example: readonly [spec: string, meaning: string];
	parse(spec: SpecReader): FaultOf<K>;
	/** The spec, without the share: `latency=100ms,jitter=20ms`. */
	describe(fault: FaultOf<K>): string;
	stage(fault: FaultOf<K>, context: StageContext): Stage;
}

/** A spec that cannot be read, with the part that is wrong. */
export class FaultSpecError extends Error {
	override readonly name = "FaultSpecError";
	readonly spec: string;
	readonly reason: string;

	constructor(spec: string, reason: string) {
		super(`invalid fault '${spec}': ${reason}`);
		this.spec = spec;
		this.reason = reason;
	}
}

/**
 * One spec as a kind's `parse` reads it: `name=value,key=value,...`. Values
 * are read with the one grammar of sizes, durations and rates (see `units.ts`).
 */
export class SpecReader {
	readonly spec: string;
	readonly name: string;
	/** What follows `name=`, or undefined for a bare name. */
	readonly value: string | undefined;
	readonly #options: Map<string, string>;

	constructor(spec: string, body: string) {
		this.spec = spec;
		const [first = "", ...rest] = body.split(",");
		const eq = first.indexOf("=");
		this.name = eq === -1 ? first : first.slice(0, eq);
		this.value = eq === -1 ? undefined : first.slice(eq + 1);
		this.#options = new Map();
		for (const part of rest) {
			const [key = "", value] = part.split("=");
			if (value === undefined) this.fail(`'${part}' is not key=value`);
			this.#options.set(key, value);
		}
	}

	fail(reason: string): never {
		throw new FaultSpecError(this.spec, reason);
	}

	/** The value after `name=`; fails with `what` when there is none. */
	need(what: string): string {
		return this.value ?? this.fail(`${this.name} needs ${what}`);
	}

	/** Takes an option out of the spec; any left untaken is an error in {@link done}. */
	take(key: string): string | undefined {
		const value = this.#options.get(key);
		this.#options.delete(key);
		return value;
	}

	/** Fails on an option no one took. */
	done(): void {
		const [unused] = this.#options.keys();
		if (unused !== undefined) this.fail(`${this.name} takes no '${unused}'`);
	}

	duration(text: string, what: string): number {
		return parseDuration(text) ?? this.fail(`'${text}' is not a ${what}; use a duration such as 100ms, 2s or 1m`);
	}

	size(text: string, what: string): number {
		return parseSize(text) ?? this.fail(`'${text}' is not a ${what}; use bytes such as 100, 64KiB or 1.5MiB`);
	}

	rate(text: string, what: string): number {
		return parseRate(text) ?? this.fail(`'${text}' is not a ${what}; use bytes per second such as 1MiB/s`);
	}
}
