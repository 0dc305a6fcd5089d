// What Node.js, Bun and other runtimes get: this driver is built on Deno.listen.
throw new Error(
	"@echo-cli/driver-deno runs on Deno only (it is built on Deno.listen); on Node.js and Bun use @echo-cli/driver-node",
);
