import { readFileSync } from "node:fs";

/** Set by a launcher to its own PID, for the process it starts. */
export const LAUNCHER_ENV = "ECHO_CLI_LAUNCHER_PID";

/** How often the process tree is looked at. */
const INTERVAL = 500;

interface Ancestor {
	readonly pid: number;
	/** Start time in clock ticks since boot: tells a reused PID from the process we saw. */
	readonly started: string;
}

/**
 * Calls `gone(pid)` once, when a process that started this one exits: a
 * wrapper such as `npx`, `bun run` or the Node process that re-ran us under
 * Bun. A server whose launcher was stopped by its PID (`kill $!`, a
 * supervisor, a test harness) would otherwise serve on as an orphan.
 *
 * On Linux it watches every ancestor up to, not including, the session
 * leader (the user's shell: leaving it, as `nohup` does, is not a reason to
 * stop); elsewhere the parent PID. A process started with no parent to lose
 * (its parent is init, as for a service or a container's main process)
 * watches nothing. The timer does not keep the process alive. Returns a
 * function that stops watching.
 */
export function watchParents(gone: (pid: number) => void): () => void {
	const initial = process.ppid;
	if (initial <= 1) return () => {};
	const ancestors = readAncestors();
	// A launcher that says so (the Node process that re-ran us under Bun) is watched even as a session leader.
	const launcher = Number(process.env[LAUNCHER_ENV]);
	const started = Number.isInteger(launcher) && launcher > 1 ? stat(launcher)?.started : undefined;
	if (ancestors && started !== undefined && !ancestors.some((a) => a.pid === launcher)) {
		ancestors.push({ pid: launcher, started });
	}
	const timer = setInterval(() => {
		const lost = ancestors
			? ancestors.find((a) => stat(a.pid)?.started !== a.started)?.pid
			: process.ppid !== initial
				? initial
				: undefined;
		if (lost === undefined) return;
		clearInterval(timer);
		gone(lost);
	}, INTERVAL);
	timer.unref();
	return () => clearInterval(timer);
}

/** Our ancestors below the session leader, from /proc; undefined where /proc cannot be read. */
function readAncestors(): Ancestor[] | undefined {
	const self = stat(process.pid);
	if (!self) return undefined;
	const ancestors: Ancestor[] = [];
	for (let pid = self.ppid; pid > 1 && pid !== self.session && ancestors.length < 64; ) {
		const info = stat(pid);
		if (!info) break;
		ancestors.push({ pid, started: info.started });
		pid = info.ppid;
	}
	return ancestors;
}

/** A process as /proc shows it; undefined once it has exited (a zombie not yet reaped has exited too). */
function stat(pid: number): { ppid: number; session: number; started: string } | undefined {
	try {
		const text = readFileSync(`/proc/${pid}/stat`, "utf8");
		// The command name may hold spaces and parentheses; the fields after its last ')' are fixed.
		const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
		// After the name: state(0) ppid(1) pgrp(2) session(3) ... starttime(19).
		if (fields[0] === "Z" || fields[0] === "X") return undefined;
		return { ppid: Number(fields[1]), session: Number(fields[3]), started: fields[19] ?? "" };
	} catch {
		return undefined;
	}
}
