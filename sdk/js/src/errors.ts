/**
 * The error a plugin reports on purpose, and the conversions from capability errors.
 * @module
 */

/**
 * An error the plugin reports on purpose. The host answers
 * `{"error": message, "error_code": code}` with `status` (default: 500 for bots, so that
 * Pyrus retries; 400 for extensions; 501 for `not_supported`).
 *
 * Throw it from a handler. The message is sent to Pyrus and logged by the host: never put a
 * secret or a token in it.
 *
 * @example
 * ```ts
 * import { PluginError } from "pyrus-plugin-sdk";
 * throw new PluginError("bad_credentials", "the login or the password is wrong").withStatus(400);
 * ```
 */
export class PluginError extends Error {
  /** A short machine-readable code in snake_case, e.g. `bad_credentials`. */
  readonly code: string;
  /** The HTTP status to answer with (400-599); undefined lets the host choose. */
  status: number | undefined;

  constructor(code: string, message: string, status?: number) {
    super(message);
    this.name = "PluginError";
    this.code = code;
    this.status = status;
  }

  /**
   * The request cannot be handled as sent: code `invalid_request`, status 400.
   *
   * @example
   * ```ts
   * throw PluginError.badRequest("channel_id is missing");
   * ```
   */
  static badRequest(message: string): PluginError {
    return new PluginError("invalid_request", message, 400);
  }

  /**
   * Answer with this HTTP status (400-599). Returns `this`, for chaining.
   *
   * @example
   * ```ts
   * const e = new PluginError("misconfigured", "no settings").withStatus(500);
   * ```
   */
  withStatus(status: number): this {
    this.status = status;
    return this;
  }

  /** `code: message`, like the Rust SDK's `Display`. */
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

/**
 * The error an unimplemented extension method answers: code `not_supported`, status 501.
 *
 * @example
 * ```ts
 * const e = notSupported("createdialog");
 * // e.code === "not_supported", e.status === 501,
 * // e.message === "this extension does not implement /createdialog"
 * ```
 */
export function notSupported(method: string): PluginError {
  return new PluginError("not_supported", `this extension does not implement /${method}`, 501);
}

/**
 * Errors of the SDK's capabilities (store, HTTP, Pyrus API) implement this: when one escapes
 * a handler, the SDK answers with its `toPluginError()` (e.g. a store error becomes a 500
 * `store_error` and Pyrus retries), as the Rust SDK's `?` conversions do.
 */
export interface IntoPluginError {
  toPluginError(): PluginError;
}

/** What the component model receives for `plugin-error` (a WIT record: camelCase keys). */
export interface WitPluginError {
  code: string;
  message: string;
  status: number | undefined;
}

function hasToPluginError(e: unknown): e is IntoPluginError {
  return typeof e === "object" && e !== null && typeof (e as IntoPluginError).toPluginError === "function";
}

/**
 * Turns anything a handler threw into a {@link PluginError}. An unexpected exception (a bug,
 * a `TypeError`) becomes a 500 `plugin_exception`: the Rust SDK's equivalent is a panic,
 * which traps; here the host gets a readable error instead of `plugin_trapped`.
 */
export function toPluginError(e: unknown): PluginError {
  if (e instanceof PluginError) return e;
  if (hasToPluginError(e)) return e.toPluginError();
  const message = e instanceof Error ? `${e.name}: ${e.message}` : `uncaught exception: ${String(e)}`;
  return new PluginError("plugin_exception", message, 500);
}

/** The record the component model throws for `result<_, plugin-error>`. */
export function toWitError(e: PluginError): WitPluginError {
  return { code: e.code, message: e.message, status: e.status };
}
