declare const Deno: { version: { deno: string } } | undefined;

/** The Deno this file runs on; the suite runs on Deno only (`deno test`). */
export const runtime = typeof Deno !== "undefined" ? `Deno ${Deno.version.deno}` : "not Deno";
