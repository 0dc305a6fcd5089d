import { spawnSync } from "node:child_process";

/** The median of the samples (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
	const s = [...xs].sort((a, b) => a - b);
	const m = Math.floor(s.length / 2);
	return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** `20.20.2`: what `command --version` prints, without a leading v. */
export function version(command: string): string {
	return spawnSync(command, ["--version"], { encoding: "utf8" }).stdout.trim().replace(/^v/, "");
}
