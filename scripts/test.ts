/**
 * `bun run test`: installs, builds and runs every test tier through turbo,
 * one package at a time. The runners' full output goes to test-output.log;
 * the terminal gets a line per task, the whole output of any task that
 * failed, and a closing `N passed, M failed` line over every runner.
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const LOG = `${root}test-output.log`;
const log = createWriteStream(LOG);
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1", TURBO_NO_UPDATE_NOTIFIER: "1" };

/** Runs a command, keeping its output in the log; resolves to its exit status and output. */
function step(command: string, args: readonly string[]): Promise<{ status: number; output: string }> {
	return new Promise((resolve) => {
		const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
		let output = "";
		const keep = (chunk: Buffer) => {
			output += chunk.toString();
			log.write(chunk);
		};
		child.stdout.on("data", keep);
		child.stderr.on("data", keep);
		child.once("close", (code, signal) => resolve({ status: code ?? (signal ? 1 : 0), output }));
	});
}

const install = await step("bun", ["install", "--frozen-lockfile"]);
if (install.status !== 0) {
	process.stdout.write(install.output);
	process.exit(install.status);
}

const turbo = await step("bun", [
	"x",
	"turbo",
	"run",
	"test",
	"check:publish",
	"--concurrency=1",
	// Every tier runs and reports, even after one fails.
	"--continue",
	"--log-order=grouped",
]);

/** Output lines per turbo task, from its `package:task: ` prefix. */
const tasks = new Map<string, string[]>();
for (const line of turbo.output.split("\n")) {
	const match = /^(@?[\w./-]+:[\w:]+): (.*)$/.exec(line);
	if (!match) continue;
	const [, task, text] = match as unknown as [string, string, string];
	tasks.set(task, [...(tasks.get(task) ?? []), text]);
}

// bun test ends with " N pass" / " N fail"; node --test with "# pass N" / "# fail N"; deno test with
// "ok | N passed (M steps) | K failed (L steps) | ...", where the steps are the cases of node:test's describe().
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
const count = (lines: readonly string[], word: "pass" | "fail") =>
	lines.reduce((sum, line) => {
		const plain = line.replace(ANSI, "");
		const match = new RegExp(`^(?:\\s*(\\d+) ${word}|# ${word} (\\d+))$`).exec(plain);
		if (match) return sum + Number(match[1] ?? match[2]);
		const deno = new RegExp(`^(?:ok|FAILED) \\|.*?\\b(\\d+) ${word}ed(?: \\((\\d+) steps?\\))?`).exec(plain);
		return sum + (deno ? Number(deno[2] ?? deno[1]) : 0);
	}, 0);

let passed = 0;
let failed = 0;
const failedTasks = /Failed:\s+(.*)$/m.exec(turbo.output)?.[1]?.split(/,\s*/) ?? [];
for (const [task, lines] of tasks) {
	const p = count(lines, "pass");
	const f = count(lines, "fail");
	passed += p;
	failed += f;
	const broken = failedTasks.some((t) => t.replace(/#/, ":") === task);
	const counts = p + f > 0 ? ` (${p} passed${f > 0 ? `, ${f} failed` : ""})` : "";
	process.stdout.write(`${broken ? "FAIL" : "ok  "} ${task}${counts}\n`);
	if (broken) process.stdout.write(`${lines.map((l) => `    ${l}`).join("\n")}\n`);
}
if (turbo.status !== 0 && tasks.size === 0) process.stdout.write(turbo.output);
log.end();
// A tier that cannot run here says so with this line; the summary names it and why.
const skipped = [...new Set([...turbo.output.matchAll(/echo-cli-tests: skipped: (.*)$/gm)].map((m) => m[1]))];
for (const line of skipped) process.stdout.write(`skipped: ${line}\n`);
process.stdout.write(`full output: test-output.log\n`);
if (turbo.status !== 0 && failed === 0)
	process.stdout.write("the run failed outside the tests: see the FAIL lines above\n");
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(turbo.status !== 0 ? turbo.status : passed === 0 ? 1 : 0);
