/**
 * Writing an extension: an object with the webhooks it implements, exported with
 * {@link exportExtension} (and {@link exportInbound} for calls from the external system).
 * @module
 */
import { type CallInfo, type WitCallInfo, fromWitCallInfo } from "./call.js";
import { notSupported, toPluginError } from "./errors.js";
import { guard } from "./bot.js";
import {
  type AuthorizeReply,
  AuthorizeRequest,
  ExtensionRequest,
  type SendMessageReply,
  SendMessageRequest,
  ToggleRequest,
} from "./model/extension.js";
import { InboundRequest, type InboundResponse, type WitInboundRequest, type WitInboundResponse, toWitResponse } from "./inbound.js";

/**
 * A Pyrus extension. Each method is one webhook Pyrus calls on the extension's base URL; all
 * are optional: `pulse` answers "alive", the others a `not_supported` error (501), so an
 * extension implements only what it uses. Throw a {@link PluginError} to answer an error
 * (400 by default).
 *
 * @example
 * ```ts
 * const keys: Extension = {
 *   authorize(req) {
 *     const t = req.credential("token") ?? "";
 *     if (t.length <= 8) throw new PluginError("bad_credentials", "the token is not valid");
 *     return authorizeReply(t.slice(0, 8), "My account");
 *   },
 * };
 * export const extension = exportExtension(keys);
 * ```
 */
export interface Extension {
  /** `GET /pulse`: is the extension alive? Default: yes. */
  pulse?(call: CallInfo): void;
  /** `POST /authorize`: check the credentials, answer the external account. */
  authorize?(req: AuthorizeRequest, call: CallInfo): AuthorizeReply;
  /** `POST /toggle`: the extension was enabled, disabled or deleted in a form. */
  toggle?(req: ToggleRequest, call: CallInfo): void;
  /** `POST /event`: an event in a task the extension watches. */
  event?(req: ExtensionRequest, call: CallInfo): void;
  /** `POST /sendmessage`: deliver an operator's reply to the external channel. */
  sendMessage?(req: SendMessageRequest, call: CallInfo): SendMessageReply;
  /** `POST /createdialog`: an operator starts a conversation from Pyrus. Answer any JSON, or nothing. */
  createDialog?(req: ExtensionRequest, call: CallInfo): unknown;
  /** `POST /getavailablenumbers`: a telephony extension lists its numbers. Answer any JSON. */
  getAvailableNumbers?(req: ExtensionRequest, call: CallInfo): unknown;
  /**
   * A call from the external system, on `/extensions/NAME/inbound/...`: only when the plugin
   * also exports {@link exportInbound} (world `extension-inbound-plugin`) and the host config
   * sets `inbound = true`. Verify the caller: Pyrus does not sign these. Default: 404.
   */
  inbound?(req: InboundRequest, call: CallInfo): InboundResponse;
}

/**
 * The webhook a call is for, by its URL segment (`sendmessage`, not `send-message`); a name
 * this SDK does not know is always `not_supported`.
 */
export type Method =
  | "pulse"
  | "authorize"
  | "toggle"
  | "event"
  | "sendmessage"
  | "createdialog"
  | "getavailablenumbers"
  | (string & {});

/** The WIT `method` variant as the component model hands it over. */
export type WitMethod = { tag: string; val?: string | null | undefined };

/** The method's URL segment for a WIT variant (`send-message` → `sendmessage`, `other(x)` → x). */
export function methodFromWit(m: WitMethod): Method {
  return m.tag === "other" ? (m.val ?? "") : m.tag.replace(/-/g, "");
}

function json(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}

/**
 * Parses the body for `method`, runs the extension's method, and serializes the reply: what
 * the exported `handle` does. Call it in native tests. Returns the reply's JSON text or
 * undefined (an empty 2xx); throws the {@link PluginError} the host would answer.
 *
 * @example
 * ```ts
 * const out = handleExtensionJson(myExt, "sendmessage", callInfo("ext"),
 *   '{"channel_id":"c7","message_text":"hi"}');
 * ```
 */
export function handleExtensionJson(ext: Extension, method: Method, call: CallInfo, body: string): string | undefined {
  try {
    switch (method) {
      case "pulse":
        ext.pulse?.(call);
        return undefined;
      case "authorize":
        if (!ext.authorize) throw notSupported(method);
        return json(ext.authorize(AuthorizeRequest.parse(body), call));
      case "toggle":
        if (!ext.toggle) throw notSupported(method);
        ext.toggle(ToggleRequest.parse(body), call);
        return undefined;
      case "event":
        if (!ext.event) throw notSupported(method);
        ext.event(ExtensionRequest.parse(body), call);
        return undefined;
      case "sendmessage":
        if (!ext.sendMessage) throw notSupported(method);
        return json(ext.sendMessage(SendMessageRequest.parse(body), call));
      case "createdialog": {
        if (!ext.createDialog) throw notSupported(method);
        const reply = ext.createDialog(ExtensionRequest.parse(body), call);
        return reply === undefined || reply === null ? undefined : json(reply);
      }
      case "getavailablenumbers":
        if (!ext.getAvailableNumbers) throw notSupported(method);
        return json(ext.getAvailableNumbers(ExtensionRequest.parse(body), call));
      default:
        throw notSupported(method);
    }
  } catch (e) {
    throw toPluginError(e);
  }
}

/** What the component exports as `pyrus:plugin/extension@0.2.0`. */
export interface ExtensionExport {
  handle(info: WitCallInfo, method: WitMethod, request: string): string | undefined;
}

/**
 * Exports `ext` as the plugin's `pyrus:plugin/extension@0.2.0` interface (world
 * `extension-plugin`; export it as `extension`, the name jco maps the WIT export to).
 *
 * @example
 * ```ts
 * export const extension = exportExtension({ sendMessage: (req) => delivered(`${req.channel()}-1`) });
 * ```
 */
export function exportExtension(ext: Extension): ExtensionExport {
  return {
    handle(info: WitCallInfo, method: WitMethod, request: string): string | undefined {
      return guard(() => handleExtensionJson(ext, methodFromWit(method), fromWitCallInfo(info), request));
    },
  };
}

/**
 * Runs the extension's `inbound` on a request: what the exported inbound `handle` does.
 * Call it in native tests.
 */
export function handleInbound(ext: Extension, req: InboundRequest, call: CallInfo): InboundResponse {
  try {
    if (!ext.inbound) throw notSupported("inbound").withStatus(404);
    return ext.inbound(req, call);
  } catch (e) {
    throw toPluginError(e);
  }
}

/** What the component exports as `pyrus:plugin/inbound@0.2.0`. */
export interface InboundExport {
  handle(info: WitCallInfo, request: WitInboundRequest): WitInboundResponse;
}

/**
 * Exports `ext.inbound` as `pyrus:plugin/inbound@0.2.0` (world `extension-inbound-plugin`;
 * export it as `inbound`, beside `extension`). The host config must also set `inbound = true`.
 *
 * @example
 * ```ts
 * export const extension = exportExtension(bridge);
 * export const inbound = exportInbound(bridge);
 * ```
 */
export function exportInbound(ext: Extension): InboundExport {
  return {
    handle(info: WitCallInfo, request: WitInboundRequest): WitInboundResponse {
      return guard(() => toWitResponse(handleInbound(ext, InboundRequest.fromWit(request), fromWitCallInfo(info))));
    },
  };
}

