// SIGUSR2 forces a full garbage collection, so that a benchmark reads RSS with
// no garbage pending: one RSS sample otherwise says more about when the last
// collection ran than about what the server holds. Node needs --expose-gc.
const collect = globalThis.Bun ? () => globalThis.Bun.gc(true) : globalThis.gc;
if (collect) process.on("SIGUSR2", () => collect());
