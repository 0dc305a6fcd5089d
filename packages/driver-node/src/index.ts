export { NodeDatagramDriver } from "./datagram.ts";
export { NodeDriver, type NodeDriverOptions, reusePortAvailable } from "./driver.ts";
