export { NodeDriver, type NodeDriverOptions } from "./driver.ts";
