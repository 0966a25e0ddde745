import { type Id, type JsonObject, obj, parseId, str } from "./json.js";
import type { Event } from "./enums.js";
import type { Person } from "./person.js";
import { Task } from "./task.js";
import { PluginError } from "../errors.js";

/**
 * A secret (an API token, a credential value) that never shows in logs: `String()`,
 * `JSON.stringify` and `console.log` print `[REDACTED]`; {@link Secret.expose} gives the value.
 *
 * @example
 * ```ts
 * const token = req.accessToken?.expose(); // for an Authorization header; never log it
 * ```
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The value. Never log it. */
  expose(): string {
    return this.#value;
  }
  toString(): string {
    return "[REDACTED]";
  }
  toJSON(): string {
    return "[REDACTED]";
  }
}

/** Parses JSON text into an object, or throws a 400 `invalid_request` saying `what`. */
export function parseObject(text: string, what: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw PluginError.badRequest(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const o = obj(v);
  if (!o) throw PluginError.badRequest(`${what}: expected a JSON object`);
  return o;
}

/**
 * A bot webhook call: the event, the task, and a short-lived token to call the Pyrus API.
 *
 * Parsed tolerantly: unknown fields are ignored, ids may be strings, `task` may be absent, and
 * a field of an unexpected type reads as absent.
 *
 * @example
 * ```ts
 * const req = BotRequest.parse('{"event":"comment","task_id":"42","access_token":"t",' +
 *   '"task":{"id":42,"author":{"id":1,"email":"bob@example.com"}}}');
 * req.taskId();          // 42
 * req.author()?.email(); // "bob@example.com"
 * ```
 */
export class BotRequest {
  event: Event;
  /** Bearer token for the Pyrus API as this bot; valid for about 15 minutes. */
  accessToken: Secret | undefined;
  /** `task_id` as sent; prefer {@link BotRequest.taskId}. */
  taskIdRaw: Id | undefined;
  /** The bot's own person id. */
  userId: Id | undefined;
  /**
   * The "Settings" text of the bot's profile in Pyrus, verbatim. Absent, empty and text are
   * three different things.
   */
  botSettings: string | undefined;
  task: Task | undefined;
  /** Where to call the Pyrus API (differs for on-premise installs), e.g. `https://api.pyrus.com/v4/`. */
  apiUrl: string | undefined;
  /** Where to download files from, e.g. `https://files.pyrus.com/`. */
  filesUrl: string | undefined;
  readonly #raw: JsonObject;

  constructor(o: JsonObject) {
    this.#raw = o;
    this.event = str(o.event) ?? "";
    const token = str(o.access_token);
    this.accessToken = token === undefined ? undefined : new Secret(token);
    this.taskIdRaw = parseId(o.task_id);
    this.userId = parseId(o.user_id);
    this.botSettings = str(o.bot_settings);
    this.task = Task.from(o.task);
    this.apiUrl = str(o.api_url);
    this.filesUrl = str(o.files_url);
  }

  /**
   * The body as Pyrus sent it (parsed), for fields this SDK does not model. A getter, so that
   * `JSON.stringify` and `console.log` of the request never show the secrets it holds.
   */
  get raw(): JsonObject {
    return this.#raw;
  }

  /**
   * Parses the JSON body Pyrus sent. Throws a 400 `invalid_request` {@link PluginError} when
   * it is not a JSON object.
   */
  static parse(json: string): BotRequest {
    return new BotRequest(parseObject(json, "the body is not a bot request"));
  }

  /** The task's id: `task_id` (authoritative), else `task.id`. */
  taskId(): Id | undefined {
    return this.taskIdRaw ?? this.task?.id;
  }

  /** The task's author. */
  author(): Person | undefined {
    return this.task?.author;
  }

  /**
   * `bot_settings` parsed as JSON; undefined when absent or blank. Throws a 500
   * `misconfigured` error when it is not JSON (the bot's profile needs fixing, and Pyrus
   * retries meanwhile).
   *
   * @example
   * ```ts
   * const s = req.botSettingsJson<{ SourceFieldCode?: string }>();
   * const source = s?.SourceFieldCode ?? "u_Source";
   * ```
   */
  botSettingsJson<T = unknown>(): T | undefined {
    const text = this.botSettings?.trim();
    if (text === undefined || text === "") return undefined;
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new PluginError("misconfigured", `bot_settings is not JSON: ${e instanceof Error ? e.message : e}`, 500);
    }
  }
}
