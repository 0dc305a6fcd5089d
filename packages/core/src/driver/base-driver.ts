import {
	type Address,
	type Connection,
	type ConnectOptions,
	DEFAULT_HIGH_WATER_MARK,
	type Driver,
	type Listener,
	type ListenOptions,
	type TcpAddress,
	type TcpListenOptions,
	type UnixAddress,
	type UnixListenOptions,
} from "../contract.ts";
import { ListenError, listenErrorFrom } from "../errors.ts";
import { hostPort } from "../format.ts";
import { bindAddress } from "./host.ts";
import { clearStaleUnixSocket } from "./unix.ts";

/** What a socket driver binds, with the defaults applied and the host resolved. */
export type BindTarget =
	| {
			readonly transport: "tcp";
			/** Numeric, as `dns.lookup` resolved it: `localhost` binds the same address everywhere. */
			readonly host: string;
			readonly family: "IPv4" | "IPv6";
			readonly port: number;
			readonly highWaterMark: number;
			readonly options: ListenOptions;
	  }
	| {
			readonly transport: "unix";
			/** Free to bind: a stale socket file was removed, a live one refused. */
			readonly path: string;
			readonly highWaterMark: number;
			readonly options: ListenOptions;
	  };

/**
 * The part of {@link Driver} that is the same for every socket driver:
 * `listen()` with its three typed forms, its defaults (`127.0.0.1`, port 0,
 * {@link DEFAULT_HIGH_WATER_MARK}), the unix socket path made free (see
 * `clearStaleUnixSocket`), the host resolved as `node:net` resolves it, and
 * whatever the runtime throws mapped to a `ListenError`. A driver
 * implements `bind` (and `connect`) over its runtime.
 */
export abstract class BaseDriver implements Driver {
	abstract readonly name: string;
	/** False for a driver with no unix sockets: a path is then refused as a bad address. */
	protected readonly unixSockets: boolean = true;

	/** Binds and listens at `target`; may throw what the runtime throws. */
	protected abstract bind(target: BindTarget): Promise<Listener> | Listener;

	abstract connect(address: Address, options?: ConnectOptions): Promise<Connection>;

	listen(options: UnixListenOptions): Promise<Listener<UnixAddress>>;
	listen(options?: TcpListenOptions): Promise<Listener<TcpAddress>>;
	listen(options?: ListenOptions): Promise<Listener>;
	async listen(options: ListenOptions = {}): Promise<Listener> {
		const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
		const host = options.host ?? "127.0.0.1";
		const port = options.port ?? 0;
		const where = options.path ?? hostPort(host, port);
		let target: BindTarget;
		if (options.path !== undefined) {
			if (!this.unixSockets) {
				throw new ListenError(
					"bad-address",
					`cannot listen on ${options.path}: the ${this.name} driver has no unix sockets`,
				);
			}
			await clearStaleUnixSocket(options.path, this);
			target = { transport: "unix", path: options.path, highWaterMark, options };
		} else {
			target = { transport: "tcp", ...(await bindAddress(host, port)), port, highWaterMark, options };
		}
		try {
			return await this.bind(target);
		} catch (error) {
			throw listenErrorFrom(error, where);
		}
	}
}
