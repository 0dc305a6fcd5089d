// What Node.js, Deno and other runtimes get: this driver is built on Bun.listen.
throw new Error(
	"@echo-cli/driver-bun runs on Bun only (it is built on Bun.listen); on Node.js use @echo-cli/driver-node, which works on Bun too",
);
