/** What a server process used, read from /proc. */
import { readdirSync, readFileSync } from "node:fs";

/**
 * Nanoseconds all of a process's threads have run on a CPU (user and
 * system), from the scheduler's per-thread counters: finer than the 10 ms
 * ticks of /proc/<pid>/stat, and it counts the JIT and GC threads too.
 */
export function cpuNanoseconds(pid: number): number {
	let total = 0;
	for (const task of readdirSync(`/proc/${pid}/task`)) {
		try {
			total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
		} catch {
			// A thread that ended between the listing and the read ran too briefly to matter.
		}
	}
	return total;
}

/**
 * Minor page faults of the process so far. A server that hands the kernel
 * its freed heap and takes it back (glibc trims the heap's top once more
 * than 128 KiB is free there) pays a fault and a zeroed page per 4 KiB,
 * in system time: on Node at 64 KiB messages this, not JavaScript, is most
 * of the difference between servers.
 */
export function minorFaults(pid: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
	// The command name may hold spaces; minflt is the 8th field after its closing parenthesis.
	return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]);
}

export function status(pid: number, key: "VmRSS" | "VmHWM"): number {
	const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
	return Number(match?.[1]) * 1024;
}
