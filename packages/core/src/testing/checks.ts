import type { Connection } from "../contract.ts";
import { concat } from "./bytes.ts";

// What the kit's cases are written with: reads to a length or to EOF, and
// checks on promises that never wait longer than they are told.

export async function readExactly(c: Pick<Connection, "read">, length: number): Promise<Uint8Array> {
	const chunks: Uint8Array[] = [];
	let got = 0;
	while (got < length) {
		const chunk = await c.read();
		if (chunk === null) throw new Error(`EOF after ${got} of ${length} bytes`);
		chunks.push(chunk);
		got += chunk.byteLength;
	}
	const all = concat(chunks);
	if (all.byteLength > length) throw new Error(`got ${all.byteLength} bytes, expected only ${length}`);
	return all;
}

/** Reads until EOF and returns everything. */
export async function readAll(c: Pick<Connection, "read">): Promise<Uint8Array> {
	const chunks: Uint8Array[] = [];
	for (;;) {
		const chunk = await c.read();
		if (chunk === null) return concat(chunks);
		chunks.push(chunk);
	}
}

/** What `promise` rejected with, or `undefined` if it fulfilled. */
export function rejection(promise: Promise<unknown>): Promise<unknown> {
	return promise.then(
		() => undefined,
		(error: unknown) => error,
	);
}

/** The value `promise` fulfilled with, or what it rejected with. */
export function outcome<T>(promise: Promise<T>): Promise<T | unknown> {
	return promise.then(
		(value) => value,
		(error: unknown) => error,
	);
}

export function check(condition: boolean, message: string): asserts condition {
	if (!condition) throw new Error(message);
}

export function pause(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `message` if `promise` has not settled after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	return Promise.race([
		promise,
		new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`${message} (after ${ms} ms)`)), ms);
		}),
	]).finally(() => clearTimeout(timer));
}

/** True if `promise` is still pending after `ms`; the promise keeps running. */
export async function stalls(promise: Promise<unknown>, ms: number): Promise<boolean> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const timeout = new Promise<true>((resolve) => {
		timer = setTimeout(() => resolve(true), ms);
	});
	const result = await Promise.race([promise.then(() => false), timeout]);
	clearTimeout(timer);
	return result;
}

export function describe(value: unknown): string {
	if (value instanceof Error) return `${value.name}(${(value as { reason?: string }).reason ?? ""}): ${value.message}`;
	return String(value);
}
