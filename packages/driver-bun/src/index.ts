export { BunDatagramDriver } from "./datagram.ts";
export { BunDriver } from "./driver.ts";
