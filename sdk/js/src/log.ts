/**
 * Logging into the host's log. Each message is tagged with the plugin and the call there; the
 * host caps messages per call and their length. In native tests messages are recorded
 * (`testing.logs()`).
 *
 * @example
 * ```ts
 * import { log } from "pyrus-plugin-sdk";
 * log.info("task 42: nothing to do");
 * ```
 * @module
 */
import { host, type Level } from "./host.js";

export type { Level };

/** Writes one message at `level`. */
export function write(level: Level, message: string): void {
  host().log(level, message);
}
/** A message at `trace` level. */
export function trace(message: string): void {
  write("trace", message);
}
/** A message at `debug` level. */
export function debug(message: string): void {
  write("debug", message);
}
/** A message at `info` level. */
export function info(message: string): void {
  write("info", message);
}
/** A message at `warn` level. */
export function warn(message: string): void {
  write("warn", message);
}
/** A message at `error` level. */
export function error(message: string): void {
  write("error", message);
}
