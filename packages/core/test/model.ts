import fc from "fast-check";
import { type Connection, ConnectionError, type Driver, MisuseError } from "../src/index.ts";
import { assertBytes, check, concat, outcome, rejection, within } from "../src/testing/index.ts";
import { runParameters } from "../src/testing/properties/index.ts";

/**
 * A model of one connection pair (`client` and the accepted `server`):
 * the bytes each side has written and the other has not read yet, who has
 * ended, and whether the pair was aborted.
 */
interface Model {
	toServer: Uint8Array[];
	toClient: Uint8Array[];
	clientEnded: boolean;
	serverEnded: boolean;
	aborted: "none" | "clean" | "reset";
}

interface Real {
	client: Connection;
	server: Connection;
}

type Side = "client" | "server";
type Cmd = fc.AsyncCommand<Model, Real>;

const other = (side: Side): Side => (side === "client" ? "server" : "client");
const outbox = (m: Model, side: Side) => (side === "client" ? m.toServer : m.toClient);
const ended = (m: Model, side: Side) => (side === "client" ? m.clientEnded : m.serverEnded);

class Write implements Cmd {
	readonly side: Side;
	readonly bytes: Uint8Array;
	constructor(side: Side, bytes: Uint8Array) {
		this.side = side;
		this.bytes = bytes;
	}
	check = (m: Readonly<Model>) => m.aborted === "none";
	async run(m: Model, r: Real) {
		const written = rejection(r[this.side].write(this.bytes));
		if (ended(m, this.side)) {
			const error = await written;
			check(
				error instanceof MisuseError && error.reason === "write-after-end",
				`expected write-after-end, got ${error}`,
			);
			return;
		}
		// Not awaited: the peer may not read until a later command.
		outbox(m, this.side).push(this.bytes.slice());
	}
	toString = () => `${this.side}.write(${this.bytes.byteLength})`;
}

class Read implements Cmd {
	readonly side: Side;
	constructor(side: Side) {
		this.side = side;
	}
	// A read with nothing to come would wait forever; the model knows when something will.
	check = (m: Readonly<Model>) =>
		m.aborted === "none" && (concat(outbox(m as Model, other(this.side))).byteLength > 0 || ended(m, other(this.side)));
	async run(m: Model, r: Real) {
		const chunk = await within(r[this.side].read(), 5000, `${this.side}.read() hung`);
		const pending = concat(outbox(m, other(this.side)));
		if (chunk === null) {
			check(pending.byteLength === 0, `${this.side} got EOF with ${pending.byteLength} bytes unread`);
			check(ended(m, other(this.side)), `${this.side} got EOF before the peer ended`);
			return;
		}
		check(chunk.byteLength > 0, "read() returned an empty chunk");
		assertBytes(chunk, pending.subarray(0, chunk.byteLength), `${this.side}.read()`);
		const rest = pending.subarray(chunk.byteLength);
		const box = outbox(m, other(this.side));
		box.length = 0;
		if (rest.byteLength > 0) box.push(rest);
	}
	toString = () => `${this.side}.read()`;
}

class SecondRead implements Cmd {
	readonly side: Side;
	constructor(side: Side) {
		this.side = side;
	}
	check = (m: Readonly<Model>) =>
		m.aborted === "none" &&
		concat(outbox(m as Model, other(this.side))).byteLength === 0 &&
		!ended(m, other(this.side));
	async run(m: Model, r: Real) {
		const first = r[this.side].read();
		const second = await rejection(r[this.side].read());
		check(
			second instanceof MisuseError && second.reason === "concurrent-read",
			`expected concurrent-read, got ${second}`,
		);
		// Settle the first read by aborting; the model then treats the pair as aborted.
		r[this.side].close();
		const settled = await within(outcome(first), 5000, "the pending read did not settle");
		check(settled === null, `a pending read after a clean close() must resolve to null, got ${settled}`);
		m.aborted = "clean";
	}
	toString = () => `${this.side}.read() twice`;
}

class End implements Cmd {
	readonly side: Side;
	constructor(side: Side) {
		this.side = side;
	}
	check = (m: Readonly<Model>) => m.aborted === "none";
	async run(m: Model, r: Real) {
		void r[this.side].end();
		if (this.side === "client") m.clientEnded = true;
		else m.serverEnded = true;
	}
	toString = () => `${this.side}.end()`;
}

class Abort implements Cmd {
	readonly side: Side;
	readonly reset: boolean;
	constructor(side: Side, reset: boolean) {
		this.side = side;
		this.reset = reset;
	}
	check = (m: Readonly<Model>) => m.aborted === "none";
	async run(m: Model, r: Real) {
		r[this.side].close(this.reset ? new Error("model reset") : undefined);
		m.aborted = this.reset ? "reset" : "clean";
		const peer = r[other(this.side)];
		await within(peer.closed, 5000, "the peer did not close after an abort");
		await within(r[this.side].closed, 5000, "the aborted side did not close");
		const write = await rejection(r[this.side].write(Uint8Array.of(1)));
		check(
			write instanceof ConnectionError || write instanceof MisuseError,
			`a write after close() must reject, got ${write}`,
		);
		// Once both sides have sent FIN the pair may already be closed, cleanly, and an abort changes nothing.
		if (this.reset && !(m.clientEnded && m.serverEnded)) {
			check(peer.error instanceof ConnectionError && peer.error.reason === "reset", `the peer saw ${peer.error}`);
		}
		// Whatever the peer reads now is a prefix of what was sent, then EOF or the reset.
		const sent = concat(outbox(m, this.side));
		const got: Uint8Array[] = [];
		for (;;) {
			const chunk = await outcome(peer.read());
			if (chunk === null || !(chunk instanceof Uint8Array)) {
				check(chunk === null || chunk instanceof ConnectionError, `the peer read ${chunk}`);
				break;
			}
			got.push(chunk);
		}
		const all = concat(got);
		assertBytes(all, sent.subarray(0, all.byteLength), "bytes the peer read after the abort");
	}
	toString = () => `${this.side}.close(${this.reset ? "error" : ""})`;
}

const sideArb = fc.constantFrom<Side>("client", "server");
const bytesArb = fc.oneof(
	fc.uint8Array({ minLength: 1, maxLength: 64 }),
	fc.integer({ min: 1, max: 200_000 }).map((n) => {
		const b = new Uint8Array(n);
		for (let i = 0; i < n; i++) b[i] = (i * 31 + n) & 255;
		return b;
	}),
);

export const commandsArb = fc.commands(
	[
		fc.tuple(sideArb, bytesArb).map(([s, b]) => new Write(s, b)),
		sideArb.map((s) => new Read(s)),
		sideArb.map((s) => new Read(s)),
		sideArb.map((s) => new SecondRead(s)),
		sideArb.map((s) => new End(s)),
		fc.tuple(sideArb, fc.boolean()).map(([s, reset]) => new Abort(s, reset)),
	],
	{ maxCommands: 40 },
);

/** Runs the model over `driver`: every command sequence must match the model. */
export async function checkModel(driver: Driver, numRuns: number, parameters?: fc.Parameters<unknown>): Promise<void> {
	const listener = await driver.listen({ host: "127.0.0.1", port: 0 });
	try {
		await fc.assert(
			fc.asyncProperty(commandsArb, async (cmds) => {
				const client = await driver.connect(listener.address);
				const server = (await listener.accept()) as Connection;
				const setup = () => ({
					model: { toServer: [], toClient: [], clientEnded: false, serverEnded: false, aborted: "none" } as Model,
					real: { client, server },
				});
				try {
					await fc.asyncModelRun(setup, cmds);
				} finally {
					client.close();
					server.close();
				}
			}),
			runParameters(numRuns, parameters),
		);
	} finally {
		await listener.close();
	}
}
