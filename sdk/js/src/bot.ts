/**
 * Writing a bot: a handler function, exported with {@link exportBot}.
 * @module
 */
import { type CallInfo, type WitCallInfo, fromWitCallInfo } from "./call.js";
import { PluginError, type WitPluginError, toPluginError, toWitError } from "./errors.js";
import * as log from "./log.js";
import { BotRequest } from "./model/request.js";
import { BotReply } from "./model/reply.js";

/**
 * A Pyrus bot: handles one call. Return a {@link BotReply} for the comment to post, or
 * `undefined`/`null` to answer an empty 2xx (most calls: Pyrus calls a bot on every comment of
 * every task it watches). Throw a {@link PluginError} to make the host answer an error (500 by
 * default), so that Pyrus retries the call. Handlers are synchronous: the component's export
 * is a plain call, and the SDK's capabilities (store, HTTP) block.
 */
export type BotHandler = (request: BotRequest, call: CallInfo) => BotReply | null | undefined;

/** What the component exports as `pyrus:plugin/bot@0.2.0`. */
export interface BotExport {
  handle(info: WitCallInfo, request: string): string | undefined;
}

function checkSync(result: unknown): void {
  if (typeof result === "object" && result !== null && typeof (result as { then?: unknown }).then === "function") {
    throw new PluginError("plugin_misbehaved", "the handler returned a Promise; handlers must be synchronous", 500);
  }
}

/**
 * Parses the body, runs `handler`, and serializes its reply: what the exported `handle` does.
 * Call it in native tests to exercise a bot end to end on JSON text. Returns the reply's JSON
 * text, or undefined for an empty answer; throws the {@link PluginError} the host would answer.
 *
 * @example
 * ```ts
 * const out = handleJson(hello, callInfo("hello"), '{"task": {"author": {"email": "bob@example.com"}}}');
 * // '{"text":"Hello, bob@example.com.","approval_choice":"approved"}'
 * ```
 */
export function handleJson(handler: BotHandler, call: CallInfo, body: string): string | undefined {
  try {
    const request = BotRequest.parse(body);
    const reply = handler(request, call);
    checkSync(reply);
    if (reply === undefined || reply === null) return undefined;
    if (!(reply instanceof BotReply)) {
      throw new PluginError("plugin_misbehaved", "the handler must return a BotReply, null or undefined", 500);
    }
    return reply.toJson();
  } catch (e) {
    throw toPluginError(e);
  }
}

/** Runs `f`, turning any exception into the WIT `plugin-error` the component model throws. */
export function guard<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    const err = toPluginError(e);
    if (err.code === "plugin_exception" && e instanceof Error && e.stack) log.error(e.stack);
    throw toWitError(err) satisfies WitPluginError;
  }
}

/**
 * Exports `handler` as the plugin's `pyrus:plugin/bot@0.2.0` interface: the component targets
 * the `bot-plugin` world (say so in package.json: `"pyrus": {"world": "bot-plugin"}`). jco
 * maps the WIT export `bot` to the module's export named `bot`, so the entry module must
 * export the result under that name.
 *
 * @example
 * ```ts
 * import { BotReply, exportBot } from "pyrus-plugin-sdk";
 *
 * export const hello = (req: BotRequest) =>
 *   new BotReply().text(`Hello, ${req.author()?.email() ?? "there"}.`).approve();
 *
 * export const bot = exportBot(hello);
 * ```
 */
export function exportBot(handler: BotHandler): BotExport {
  return {
    handle(info: WitCallInfo, request: string): string | undefined {
      return guard(() => handleJson(handler, fromWitCallInfo(info), request));
    },
  };
}
