/**
 * What the host tells a plugin about a call.
 * @module
 */

/**
 * What the host knows about the call, besides the body.
 *
 * @example
 * ```ts
 * import { callInfo } from "pyrus-plugin-sdk";
 * const call = callInfo("hello", { settings: '{"login": "demo"}' });
 * // call.attempt === 1
 * ```
 */
export interface CallInfo {
  /** The name the plugin is configured under in the host (`[bots.NAME]`). */
  readonly name: string;
  /** Which delivery attempt this is (from `X-Pyrus-Retry`); 1 when Pyrus sent none. */
  readonly attempt: number;
  /** How many attempts Pyrus makes in all, when it said so (`2/3` gives 3). */
  readonly maxAttempts?: number | undefined;
  /** The caller's `User-Agent`, e.g. `Pyrus-Bot-4`. */
  readonly userAgent?: string | undefined;
  /** The `settings` string of this plugin's entry in the host config, verbatim. */
  readonly settings?: string | undefined;
}

/**
 * A first-attempt call to the plugin named `name`, for unit tests.
 *
 * @example
 * ```ts
 * const call = callInfo("echo", { settings: '{"login":"demo","password":"s3cret"}' });
 * ```
 */
export function callInfo(name: string, rest: Partial<Omit<CallInfo, "name">> = {}): CallInfo {
  return { attempt: 1, ...rest, name };
}

/**
 * Whether Pyrus already tried this call before (a handler should be idempotent).
 *
 * @example
 * ```ts
 * if (isRetry(call)) log.info("retry of an earlier call");
 * ```
 */
export function isRetry(call: CallInfo): boolean {
  return call.attempt > 1;
}

/** The WIT `call-info` record as the component model hands it over (`option` = null/undefined). */
export interface WitCallInfo {
  name: string;
  attempt: number;
  maxAttempts?: number | null | undefined;
  userAgent?: string | null | undefined;
  settings?: string | null | undefined;
}

/** Normalizes the component model's `null`s (QuickJS) and `undefined`s (StarlingMonkey). */
export function fromWitCallInfo(info: WitCallInfo): CallInfo {
  return {
    name: info.name,
    attempt: info.attempt,
    maxAttempts: info.maxAttempts ?? undefined,
    userAgent: info.userAgent ?? undefined,
    settings: info.settings ?? undefined,
  };
}
