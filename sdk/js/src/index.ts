/**
 * # pyrus-plugin-sdk
 *
 * Write [Pyrus](https://pyrus.com) bots and extensions in TypeScript or JavaScript, built into
 * WebAssembly components for `pyrus-host` with jco (`scripts/build-js-plugins`).
 *
 * The host verifies the webhook's signature, then calls your plugin in a fresh sandboxed
 * instance with the JSON body. This package gives you typed, tolerant models of that body
 * ({@link BotRequest}, {@link Task}, {@link Field}, {@link Comment}, {@link Person}), a
 * {@link BotReply} builder for the answer, the capabilities the host may grant ({@link log},
 * {@link Store}, {@link variables}, {@link http}, {@link PyrusApi}), and the glue that exports
 * your handler as the component's interface.
 *
 * @example
 * ```ts
 * import { BotReply, type BotRequest, exportBot } from "pyrus-plugin-sdk";
 *
 * export function hello(req: BotRequest): BotReply {
 *   const who = req.author()?.email() ?? "there";
 *   return new BotReply().text(`Hello, ${who}.`).approve();
 * }
 *
 * export const bot = exportBot(hello);
 * ```
 * @module
 */
export { PluginError, notSupported, toPluginError, type IntoPluginError } from "./errors.js";
export { type CallInfo, callInfo, isRetry } from "./call.js";
export { secretsEqual, encodeUtf8, decodeUtf8 } from "./utf8.js";
export { type Id, type JsonObject, parseId } from "./model/json.js";
export type { Event, PersonType, ApprovalChoice, Action, ChannelType, FieldType } from "./model/enums.js";
export { Person, type PersonRef } from "./model/person.js";
export {
  Field,
  FieldUpdate,
  type FieldKey,
  type FieldValue,
  type Attachment,
  type CatalogValue,
  type TableRow,
  type MultipleChoice,
  type Title,
  type FormLink,
  type Project,
  fieldValue,
  toUpdateValue,
  catalogValueOf,
} from "./model/field.js";
export { Comment, type Approval, type Channel } from "./model/comment.js";
export { Task, type Subscriber, type Step } from "./model/task.js";
export { BotRequest, Secret } from "./model/request.js";
export { BotReply, type ReplyChannel } from "./model/reply.js";
export {
  type Credential,
  ExtensionRequest,
  AuthorizeRequest,
  ToggleRequest,
  SendMessageRequest,
  type AuthorizeReply,
  type SendMessageReply,
  authorizeReply,
  delivered,
} from "./model/extension.js";
export { type BotHandler, type BotExport, exportBot, handleJson } from "./bot.js";
export {
  type Extension,
  type ExtensionExport,
  type InboundExport,
  type Method,
  exportExtension,
  exportInbound,
  handleExtensionJson,
  handleInbound,
} from "./extension.js";
export { InboundRequest, type InboundResponse, inboundJson, inboundStatus, inboundText } from "./inbound.js";
export * as log from "./log.js";
export * as variables from "./variables.js";
export * as http from "./http.js";
export { Store, StoreError, type StoreErrorKind } from "./store.js";
export { HttpError } from "./http.js";
export { PyrusApi, ExtensionsApi, ApiError, type IncomingMessage, DEFAULT_API_URL, ACCOUNTS_URL, EXTENSIONS_API_URL } from "./pyrus.js";
