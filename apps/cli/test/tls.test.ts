import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { encodeProxyHeader } from "@echo-cli/core";
import { assertBytes, readAll, referenceTlsClient, within } from "@echo-cli/core/testing";
import { certificateAuthority, selfSignedCertificate } from "@echo-cli/core/tls";
import { connect, eventually, expectOneLineError, killAll, type Runtime, readToEnd, run, start } from "./harness.ts";

afterEach(killAll);

const openssl = spawnSync("openssl", ["version"]).status === 0;
if (!openssl) {
	// CI installs openssl (.ci/run); elsewhere the cases are named as skipped in `bun run test`'s summary.
	if (process.env.CI) throw new Error("openssl is needed for the s_client tests; .ci/run installs it");
	console.log(
		"echo-cli-tests: skipped: the openssl s_client tests (apps/cli/test/tls.test.ts): no openssl on the PATH",
	);
}

const dir = mkdtempSync(join(tmpdir(), "echo-cli-tls-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
	const path = join(dir, name);
	writeFileSync(path, text);
	return path;
};

const combos: [Runtime, "node" | "bun" | "deno"][] = [
	["node", "node"],
	["bun", "node"],
	["bun", "bun"],
	["deno", "deno"],
	["deno", "node"],
];
// Every byte value, then a line end: s_client sends what it reads from stdin as it comes.
const payload = Uint8Array.from({ length: 256 }, (_, i) => (i === 10 ? 11 : i));
const message = new Uint8Array([...payload, 10]);

/**
 * Runs `openssl s_client` with `args`, writes `message`, waits for it to come back, then closes
 * stdin; resolves to what it printed and its exit status. It never decides the verdict itself:
 * with -verify_return_error a certificate it cannot verify ends the handshake.
 */
function sClient(args: readonly string[], ms = 10_000): Promise<{ out: Uint8Array; err: string; status: number }> {
	return new Promise((resolve, reject) => {
		const child = spawn("openssl", ["s_client", ...args, "-quiet", "-no_ign_eof"], { stdio: ["pipe", "pipe", "pipe"] });
		const chunks: Buffer[] = [];
		let err = "";
		const timer = setTimeout(() => {
			child.kill("SIGKILL");
			reject(new Error(`openssl s_client did not finish within ${ms} ms; stderr: ${err}`));
		}, ms);
		child.stdout.on("data", (d: Buffer) => {
			chunks.push(d);
			if (Buffer.concat(chunks).byteLength >= message.byteLength) child.stdin.end();
		});
		child.stderr.on("data", (d: Buffer) => {
			err += d.toString();
		});
		child.stdin.on("error", () => {});
		child.stdin.write(message);
		child.once("exit", (code) => {
			clearTimeout(timer);
			resolve({ out: new Uint8Array(Buffer.concat(chunks)), err, status: code ?? -1 });
		});
	});
}

for (const [runtime, driver] of combos) {
	describe.skipIf(!openssl)(`--tls on ${runtime} with the ${driver} driver`, () => {
		test("openssl s_client verifies the made certificate through --cert-out and gets every byte back; the banner's command works", async () => {
			const certOut = join(dir, `made-${runtime}-${driver}.pem`);
			const cli = await start(runtime, ["--driver", driver, "--tls", "--cert-out", certOut, "--verbose"]);
			const banner = cli.stdout();
			expect(banner).toMatch(/TLS certificate \(made at start\) SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
			const command = /try it: (openssl s_client .*)$/m.exec(banner)?.[1];
			expect(command).toBe(
				`openssl s_client -connect 127.0.0.1:${cli.port} -CAfile ${certOut} -verify_return_error -quiet`,
			);
			const args = (command as string).split(" ").slice(2, -1);
			const result = await sClient(args);
			assertBytes(result.out, message, "the echo through openssl s_client");
			expect(result.err).toMatch(/verify return:1/);
			// The same certificate fingerprint openssl sees.
			const fingerprint = /SHA-256 (\S+)/.exec(banner)?.[1];
			expect(fingerprint).toBeDefined();
			await eventually(
				() => /TLSv1\.[23] \S+/.test(cli.stderr()),
				5000,
				() => `no TLS line: ${cli.stderr()}`,
			);
		}, 30_000);

		test("s_client refuses a server it cannot verify, and a plaintext client fails with the cause logged", async () => {
			const cli = await start(runtime, ["--driver", driver, "--tls", "--verbose"]);
			const stranger = file(`stranger-${runtime}-${driver}.pem`, (await selfSignedCertificate({ hosts: ["x"] })).cert);
			const refused = await sClient(["-connect", `127.0.0.1:${cli.port}`, "-CAfile", stranger, "-verify_return_error"]);
			expect(refused.out.byteLength).toBe(0);
			expect(refused.status).not.toBe(0);
			const plain = await connect(cli.port);
			const answer = readToEnd(plain);
			plain.end(Buffer.from("hello\n"));
			await answer;
			await eventually(
				() => /tls: TLS handshake failed: the peer does not speak TLS/.test(cli.stderr()),
				5000,
				() => `no handshake failure logged: ${cli.stderr()}`,
			);
			// The server goes on.
			const again = await sClient(["-connect", `127.0.0.1:${cli.port}`]);
			assertBytes(again.out, message, "an echo after the failures");
			cli.child.kill("SIGTERM");
			expect(await cli.exit()).toBe(0);
		}, 30_000);

		test("--client-auth: a client certificate from --ca is served and named; none is refused", async () => {
			const ca = await certificateAuthority();
			const server = await selfSignedCertificate({ hosts: ["localhost", "127.0.0.1"], issuer: ca });
			const client = await selfSignedCertificate({ hosts: ["alice"], issuer: ca, client: true });
			const tag = `${runtime}-${driver}`;
			const cli = await start(runtime, [
				"--driver",
				driver,
				"--cert",
				file(`server-${tag}.pem`, server.cert),
				"--key",
				file(`server-${tag}.key`, server.key),
				"--ca",
				file(`ca-${tag}.pem`, ca.cert),
				"--client-auth",
				"--verbose",
			]);
			expect(cli.stdout()).toMatch(/client certificates required/);
			const base = ["-connect", `127.0.0.1:${cli.port}`, "-CAfile", join(dir, `ca-${tag}.pem`), "-verify_return_error"];
			const good = await sClient([
				...base,
				"-cert",
				file(`alice-${tag}.pem`, client.cert),
				"-key",
				file(`alice-${tag}.key`, client.key),
			]);
			assertBytes(good.out, message, "the echo to a client with a certificate");
			await eventually(
				() => /client "alice"/.test(cli.stderr()),
				5000,
				() => `no client name: ${cli.stderr()}`,
			);
			const none = await sClient(base);
			expect(none.out.byteLength).toBe(0);
			await eventually(
				() => /no client certificate, and one is required/.test(cli.stderr()),
				5000,
				() => `no refusal logged: ${cli.stderr()}`,
			);
		}, 30_000);
	});
}

/** The kit's node:tls client trusting `caFile`: sends `bytes`, half-closes, resolves to what came back before the server's end. */
async function tlsEcho(port: number, caFile: string, bytes: Uint8Array): Promise<Uint8Array> {
	const client = referenceTlsClient({ ca: readFileSync(caFile, "utf8") });
	const c = await client.connect({ transport: "tcp", host: "127.0.0.1", port, family: "IPv4" });
	const echoed = readAll(c);
	await c.write(bytes);
	await c.end();
	try {
		return await within(echoed, 10_000, "no TLS echo");
	} finally {
		c.close();
	}
}

for (const [runtime, driver] of combos) {
	describe(`above the socket over TLS, on ${runtime} with the ${driver} driver`, () => {
		test("faults count plaintext bytes and --hexdump dumps plaintext", async () => {
			const certOut = join(dir, `faults-${runtime}-${driver}.pem`);
			const cli = await start(runtime, [
				"--driver",
				driver,
				"--tls",
				"--cert-out",
				certOut,
				"--fault",
				"limit=100",
				"--hexdump",
			]);
			const sent = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
			assertBytes(await tlsEcho(cli.port, certOut, sent), sent.subarray(0, 100), "the echo under limit=100 over TLS");
			// The dump shows the first plaintext bytes as they came, never TLS records.
			await eventually(
				() => /00 01 02 03 04 05 06 07/.test(cli.stderr()),
				5000,
				() => `no plaintext dump: ${cli.stderr()}`,
			);
		}, 30_000);

		test("a client that connects and never starts its handshake is closed by --idle-timeout", async () => {
			const cli = await start(runtime, ["--driver", driver, "--tls", "--idle-timeout", "300ms", "--verbose"]);
			const silent = await connect(cli.port);
			const ended = await new Promise<string>((resolve) => {
				silent.once("end", () => resolve("end"));
				silent.once("close", () => resolve("close"));
				setTimeout(() => resolve("still open"), 5000).unref();
			});
			expect(ended).not.toBe("still open");
			silent.destroy();
			await eventually(
				() => / idle/.test(cli.stderr()),
				5000,
				() => `not logged as idle: ${cli.stderr()}`,
			);
		}, 30_000);
	});
}

describe("bad TLS input: one line, exit 1, no stack trace", () => {
	const cases: [string, () => Promise<string[]>, RegExp][] = [
		[
			"a missing file",
			async () => ["--cert", join(dir, "nope.pem"), "--key", join(dir, "nope.key")],
			/cannot read --cert .*nope\.pem: no such file/,
		],
		[
			"a file that is not PEM",
			async () => {
				const pair = await selfSignedCertificate({ hosts: ["localhost"] });
				return ["--cert", file("text.pem", "just text\n"), "--key", file("ok.key", pair.key)];
			},
			/--cert .*text\.pem is not a PEM certificate/,
		],
		[
			"a key that does not match",
			async () => {
				const a = await selfSignedCertificate({ hosts: ["localhost"] });
				const b = await selfSignedCertificate({ hosts: ["localhost"] });
				return ["--cert", file("a.pem", a.cert), "--key", file("b.key", b.key)];
			},
			/--key .*b\.key does not match --cert .*a\.pem/,
		],
		[
			"an encrypted key",
			async () => {
				const a = await selfSignedCertificate({ hosts: ["localhost"] });
				const key = createPrivateKey(a.key).export({
					type: "pkcs8",
					format: "pem",
					cipher: "aes-256-cbc",
					passphrase: "x",
				});
				return ["--cert", file("e.pem", a.cert), "--key", file("e.key", key as string)];
			},
			/--key .*e\.key is encrypted/,
		],
		[
			"an unwritable --cert-out",
			async () => ["--tls", "--cert-out", join(dir, "no", "dir", "c.pem")],
			/cannot write --cert-out .*: its directory does not exist/,
		],
	];
	for (const runtime of ["node", "bun", "deno"] as const) {
		for (const [what, args, pattern] of cases) {
			test(`${what} on ${runtime}`, async () => {
				const r = run(runtime, ["--port", "0", ...(await args())]);
				expect(await r.exit()).toBe(1);
				expectOneLineError(r, pattern);
			});
		}
	}
	test.skipIf(!openssl)(
		"an expired certificate serves, with a warning",
		async () => {
			const old = await selfSignedCertificate({
				hosts: ["127.0.0.1"],
				days: 1,
				notBefore: new Date(Date.now() - 3 * 86_400_000),
			});
			const cli = await start("node", ["--cert", file("old.pem", old.cert), "--key", file("old.key", old.key)]);
			expect(cli.stderr()).toMatch(/warning: the certificate expired on/);
			const echoed = await sClient(["-connect", `127.0.0.1:${cli.port}`]);
			assertBytes(echoed.out, message, "the echo from an expired certificate");
		},
		30_000,
	);
	test("usage mistakes exit 2", async () => {
		for (const [args, pattern] of [
			[["--cert", "a.pem"], /--cert needs --key/],
			[["--client-auth", "--tls"], /--client-auth needs --ca/],
			[["--ca", "ca.pem"], /--ca needs --client-auth/],
			[["--tls", "--workers", "2"], /--workers with --tls needs --cert and --key/],
		] as const) {
			const r = run("node", [...args]);
			expect(await r.exit()).toBe(2);
			expect(r.stderr()).toMatch(pattern);
		}
	});
});

describe("TLS after a PROXY header", () => {
	test("--tls behind --proxy-protocol: --verbose names the client from the header, the TLS session and the faults", async () => {
		// On Node: on Bun, TLS after a PROXY header cannot half-close (the warning below), and this client half-closes.
		const cli = await start("node", ["--tls", "--proxy-protocol", "--fault", "latency=1ms", "--verbose"]);
		const server = { transport: "tcp", host: "127.0.0.1", port: cli.port, family: "IPv4" } as const;
		const client = { transport: "tcp", host: "203.0.113.9", port: 5555, family: "IPv4" } as const;
		const raw = await connect(cli.port);
		raw.write(encodeProxyHeader(2, client, server));
		const secure = tls.connect({ socket: raw, rejectUnauthorized: false, allowHalfOpen: true });
		const answer = readToEnd(secure);
		secure.end(Buffer.from(payload));
		assertBytes(new Uint8Array(await answer), payload, "the echo over TLS after a PROXY header");
		await eventually(
			() => /203\.0\.113\.9:5555 in .* closed TLSv1\.3 \S+ faults latency=1ms/.test(cli.stderr()),
			5000,
			() => `no connection line with the TLS session and the faults: ${cli.stderr()}`,
		);
	}, 30_000);
	test("--proxy-protocol with --tls warns of the Bun half-close gap on Bun only", async () => {
		const onBun = await start("bun", ["--tls", "--proxy-protocol"]);
		expect(onBun.stderr()).toMatch(/warning: on Bun, TLS after a PROXY header cannot half-close/);
		const onNode = await start("node", ["--tls", "--proxy-protocol"]);
		expect(onNode.stderr()).not.toMatch(/warning/);
	}, 30_000);
});
