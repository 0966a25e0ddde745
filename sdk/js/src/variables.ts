/**
 * The plugin's variables from the host config (`[bots.NAME.variables]`), through
 * `wasi:config/store`: logins, URLs, and secrets such as a bot's security key (the host reads
 * those from its environment or a file and never logs them). In native tests they come from
 * `testing.setVariables({...})`.
 *
 * @example
 * ```ts
 * import { variables } from "pyrus-plugin-sdk";
 * const login = variables.get("login") ?? "";
 * ```
 * @module
 */
import { host } from "./host.js";
import { PluginError } from "./errors.js";

/** The variable `name`, if the config sets it. */
export function get(name: string): string | undefined {
  return host().variable(name);
}

/**
 * The variable `name`, or a `misconfigured` error (status 500) naming it.
 *
 * @example
 * ```ts
 * const url = variables.require("messenger_url");
 * ```
 */
export function require(name: string): string {
  const v = get(name);
  if (v === undefined) {
    throw new PluginError("misconfigured", `the host config sets no variable ${JSON.stringify(name)} for this plugin`, 500);
  }
  return v;
}

/** Every variable, sorted by name. */
export function all(): [string, string][] {
  return host()
    .variables()
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
