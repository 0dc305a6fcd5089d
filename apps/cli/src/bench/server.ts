import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseListeningRecord } from "@echo-cli/core";
import { hostPort } from "@echo-cli/core/driver";
import type { DriverChoice } from "../options.ts";

/** Starts this CLI as an echo server on a free port, on the same runtime: TCP, or with `udp` UDP only. */
export function startServer(
	script: string,
	driver: DriverChoice,
	serve: { readonly proxyProtocol?: boolean; readonly tls?: boolean; readonly udp?: boolean },
): Promise<{ stop(): Promise<void>; describe: string; port: number; certificate: string | undefined }> {
	const { proxyProtocol = false, tls = false, udp = false } = serve;
	// With --tls the server's certificate is made at start; the file it writes is what bench trusts.
	const certificate = tls ? join(tmpdir(), `echo-cli-bench-${process.pid}.pem`) : undefined;
	const args = [
		script,
		"--port",
		"0",
		"--driver",
		driver,
		"--log-format",
		"json",
		...(proxyProtocol ? ["--proxy-protocol"] : []),
		...(certificate ? ["--tls", "--cert-out", certificate] : []),
		// A benchmark is one source at full speed: the rate limit would be what it measures.
		...(udp ? ["--udp-only", "--udp-rate", "off"] : []),
	];
	const child = spawn(process.execPath, args, {
		stdio: ["ignore", "pipe", "inherit"],
	});
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	return new Promise((resolve, reject) => {
		let out = "";
		const timer = setTimeout(() => reject(new Error("the echo server did not start within 10 s")), 10_000);
		child.once("exit", (code) => reject(new Error(`the echo server exited with status ${code}`)));
		child.stdout.on("data", (d: Buffer) => {
			out += d;
			const newline = out.indexOf("\n");
			if (newline === -1) return;
			const line = out.slice(0, newline);
			const address = parseListeningRecord(line)?.address;
			if (!address || address.transport === "unix" || address.transport !== (udp ? "udp" : "tcp")) return;
			clearTimeout(timer);
			const { driver: name, runtime } = JSON.parse(line) as { driver: string; runtime: string };
			resolve({
				port: address.port,
				certificate,
				describe: `${hostPort(address.host, address.port)} (driver ${name}, ${runtime})`,
				async stop() {
					child.kill("SIGTERM");
					await exited;
					if (certificate) rmSync(certificate, { force: true });
				},
			});
		});
	});
}
