export { DenoDriver, MAX_READ } from "./driver.ts";
