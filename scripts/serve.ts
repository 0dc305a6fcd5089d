/**
 * `bun run serve [echo-cli options]`: installs and builds what the CLI needs,
 * quietly (the output is shown only when a step fails), then runs echo-cli on
 * Node with the given options. Signals sent to this process go on to the
 * server, which drains and prints its summary; the exit status is the
 * server's.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = `${root}apps/cli/dist/cli.js`;
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1", TURBO_NO_UPDATE_NOTIFIER: "1" };

function quietly(what: string, command: string, args: readonly string[]): void {
	const result = spawnSync(command, args, { cwd: root, env, encoding: "utf8" });
	if (result.status === 0) return;
	process.stderr.write(`${result.stdout ?? ""}${result.stderr ?? ""}serve: ${what} failed\n`);
	process.exit(result.status ?? 1);
}

const firstBuild = !existsSync(cli);
if (firstBuild) process.stderr.write("serve: installing and building echo-cli (first run)...\n");
quietly("bun install", "bun", ["install", "--frozen-lockfile"]);
quietly("the build", "bun", ["x", "turbo", "run", "build", "--filter=@echo-cli/cli..."]);

const server = spawn("node", [cli, ...process.argv.slice(2)], { stdio: "inherit", env: process.env });
// Ctrl-C reaches the server from the terminal as well; it takes a repeat at once as the same request.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.kill(signal));
server.once("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 143)));
