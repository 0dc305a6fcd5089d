export { NodeDriver, type NodeDriverOptions, reusePortAvailable } from "./driver.ts";
