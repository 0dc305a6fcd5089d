export { BunDriver } from "./driver.ts";
