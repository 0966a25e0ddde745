/**
 * Calling Pyrus back, on top of outbound HTTP: the Pyrus API (v4) for bots and the Extensions
 * API (v1) for extensions. The host must allow the API's host in the plugin's
 * `allowed_outbound_hosts` (`https://api.pyrus.com`, `https://extensions.pyrus.com`, and
 * `https://accounts.pyrus.com` for {@link PyrusApi.authenticate}). Rate limits (5000 requests
 * per 10 minutes) surface as an {@link ApiError} `rate_limited` with the `X-RateLimit-*`
 * values. Tokens never show in logs or errors.
 *
 * @example
 * ```ts
 * import { PyrusApi, BotReply } from "pyrus-plugin-sdk";
 * const api = PyrusApi.forBot(req);
 * api.commentTask(req.taskId()!, new BotReply().text("Done, see the attached report."));
 * ```
 * @module
 */
import { type IntoPluginError, PluginError } from "./errors.js";
import { HttpError, Request, type Response, send } from "./http.js";
import type { BotRequest } from "./model/request.js";
import type { BotReply } from "./model/reply.js";

/** Pyrus' public API, when a webhook does not say otherwise. */
export const DEFAULT_API_URL = "https://api.pyrus.com/v4/";
/** Where bots authenticate with their login and security key. */
export const ACCOUNTS_URL = "https://accounts.pyrus.com/api/v4/";
/** The Extensions API. */
export const EXTENSIONS_API_URL = "https://extensions.pyrus.com/v1/";

/** Why a Pyrus API call failed. */
export type ApiErrorKind = "rate_limited" | "api" | "http" | "no_token";

/**
 * A Pyrus API call failed. Escaping a handler it answers 503 `rate_limited` for the rate
 * limit, else 502 `pyrus_api_error`, so that Pyrus retries the call later.
 */
export class ApiError extends Error implements IntoPluginError {
  readonly kind: ApiErrorKind;
  /** `api`: the HTTP status Pyrus answered. */
  status: number | undefined;
  /** `api`: Pyrus' `error_code` (`unknown` when it sent none). */
  code: string | undefined;
  /** `rate_limited`: the `X-RateLimit-*` values, when sent. */
  limit: number | undefined;
  remaining: number | undefined;
  resetSeconds: number | undefined;
  /** `http`: the request's failure. */
  httpError: HttpError | undefined;

  constructor(kind: ApiErrorKind, message: string) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
  }

  toPluginError(): PluginError {
    return this.kind === "rate_limited"
      ? new PluginError("rate_limited", this.message, 503)
      : new PluginError("pyrus_api_error", this.message, 502);
  }
}

function base(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

/**
 * Checks an API answer: 2xx gives its JSON (null when empty), 429 and errors become
 * {@link ApiError}s. Exported for tests.
 */
export function check(response: Response): unknown {
  const number = (name: string): number | undefined => {
    const v = response.header(name)?.trim();
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  if (response.status === 429) {
    const e = new ApiError("rate_limited", "");
    e.limit = number("X-RateLimit-Limit");
    e.remaining = number("X-RateLimit-Remaining");
    e.resetSeconds = number("X-RateLimit-Reset");
    e.message = e.resetSeconds === undefined ? "Pyrus rate limit reached" : `Pyrus rate limit reached, resets in ${e.resetSeconds} s`;
    throw e;
  }
  let json: unknown = null;
  if (response.body.length > 0) {
    try {
      json = JSON.parse(response.text());
    } catch {
      json = null;
    }
  }
  if (response.status >= 200 && response.status < 300) return json;
  const o = typeof json === "object" && json !== null ? (json as Record<string, unknown>) : {};
  const code = typeof o.error_code === "string" ? o.error_code : "unknown";
  const message = typeof o.error === "string" ? o.error : [...response.text()].slice(0, 200).join("");
  const e = new ApiError("api", `Pyrus answered ${response.status} ${code}: ${message}`);
  e.status = response.status;
  e.code = code;
  throw e;
}

function call(request: Request): unknown {
  let response: Response;
  try {
    response = send(request);
  } catch (e) {
    if (e instanceof HttpError) {
      const a = new ApiError("http", e.message);
      a.httpError = e;
      throw a;
    }
    throw e;
  }
  return check(response);
}

function accessToken(reply: unknown): string {
  const t = typeof reply === "object" && reply !== null ? (reply as Record<string, unknown>).access_token : undefined;
  if (typeof t !== "string") throw new ApiError("no_token", "Pyrus answered no access_token");
  return t;
}

/** The Pyrus API (v4) as a bot. */
export class PyrusApi {
  /** The API base URL in use (ends with `/`). */
  readonly apiUrl: string;
  readonly #token: string;

  /** A client for `apiUrl` (e.g. {@link DEFAULT_API_URL}) with `token`. */
  constructor(apiUrl: string, token: string) {
    this.apiUrl = base(apiUrl);
    this.#token = token;
  }

  /** A client with the webhook's `access_token` (valid 15 minutes) and `api_url`. */
  static forBot(request: BotRequest): PyrusApi {
    const token = request.accessToken;
    if (token === undefined) throw new ApiError("no_token", "the webhook carried no access_token");
    return new PyrusApi(request.apiUrl ?? DEFAULT_API_URL, token.expose());
  }

  /**
   * Authenticates with the bot's login and security key (`POST {accountsUrl}auth`), for work
   * that outlives the webhook's token. Uses the `api_url` Pyrus returns.
   *
   * @example
   * ```ts
   * const api = PyrusApi.authenticate(ACCOUNTS_URL, variables.require("login"),
   *   variables.require("security_key"));
   * ```
   */
  static authenticate(accountsUrl: string, login: string, securityKey: string): PyrusApi {
    const reply = call(Request.post(`${base(accountsUrl)}auth`).json({ login, security_key: securityKey }));
    const apiUrl = (reply as Record<string, unknown>).api_url;
    return new PyrusApi(typeof apiUrl === "string" ? apiUrl : DEFAULT_API_URL, accessToken(reply));
  }

  /** `GET {apiUrl}{path}` with the token. */
  get(path: string): unknown {
    return call(Request.get(`${this.apiUrl}${path}`).bearer(this.#token));
  }

  /** `POST {apiUrl}{path}` with the token and a JSON body. */
  post(path: string, body: unknown): unknown {
    return call(Request.post(`${this.apiUrl}${path}`).bearer(this.#token).json(body));
  }

  /**
   * Adds a comment to a task (`POST /tasks/{id}/comments`); the comment has the schema of a
   * bot's reply, so a {@link BotReply} is one. Returns the task as Pyrus answers it.
   */
  commentTask(taskId: number, comment: BotReply): unknown {
    return this.post(`tasks/${taskId}/comments`, comment);
  }

  /** The task with its comments (`GET /tasks/{id}`). */
  getTask(taskId: number): unknown {
    return this.get(`tasks/${taskId}`);
  }

  toJSON(): unknown {
    return { apiUrl: this.apiUrl, token: "[REDACTED]" };
  }
}

/** An external message for `POST /getmessage`. */
export interface IncomingMessage {
  account_id: string;
  channel_id: string;
  message_text: string;
  sender_name?: string;
}

/** The Pyrus Extensions API (v1), as an extension. */
export class ExtensionsApi {
  readonly baseUrl: string;
  readonly #token: string;

  /** A client for `baseUrl` (e.g. {@link EXTENSIONS_API_URL}) with a token you already have. */
  constructor(baseUrl: string, token: string) {
    this.baseUrl = base(baseUrl);
    this.#token = token;
  }

  /**
   * Gets a token (`POST {baseUrl}token` with the extension's `client_id` and `secret`).
   *
   * @example
   * ```ts
   * const api = ExtensionsApi.authenticate(EXTENSIONS_API_URL,
   *   variables.require("client_id"), variables.require("client_secret"));
   * ```
   */
  static authenticate(baseUrl: string, clientId: string, secret: string): ExtensionsApi {
    const reply = call(Request.post(`${base(baseUrl)}token`).json({ client_id: clientId, secret }));
    return new ExtensionsApi(baseUrl, accessToken(reply));
  }

  #post(path: string, body: unknown): unknown {
    return call(Request.post(`${this.baseUrl}${path}`).bearer(this.#token).json(body));
  }

  /** Delivers a message from the external system into Pyrus (`POST /getmessage`). */
  getMessage(message: IncomingMessage): unknown {
    return this.#post("getmessage", message);
  }

  /** Creates a task in the extension's form (`POST /task`). */
  createTask(task: unknown): unknown {
    return this.#post("task", task);
  }

  toJSON(): unknown {
    return { baseUrl: this.baseUrl, token: "[REDACTED]" };
  }
}
