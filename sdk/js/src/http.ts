/**
 * Outbound HTTP through the host (`wasi:http/outgoing-handler`), blocking and small: build a
 * {@link Request}, {@link send} it, read the {@link Response}. The host lets a request out only
 * to the plugin's `allowed_outbound_hosts` and caps requests per call, their time and the
 * response size. In native tests, responders set with `testing.respond(...)` answer.
 *
 * @example
 * ```ts
 * import { http } from "pyrus-plugin-sdk";
 * const reply = http.send(http.Request.post("https://messenger.example.com/api/send")
 *   .bearer(token)
 *   .json({ chat: "42", text: "hi" }));
 * if (reply.status === 200) console.log(reply.json());
 * ```
 * @module
 */
import { type HostHttpError, HttpFailure, host } from "./host.js";
import { type IntoPluginError, PluginError } from "./errors.js";
import { findHeader } from "./headers.js";
import { decodeUtf8, encodeUtf8 } from "./utf8.js";

/** An HTTP request to send. Header values may hold tokens: `toJSON` shows only names. */
export class Request {
  method: string;
  url: string;
  headers: [string, string][] = [];
  body: Uint8Array = new Uint8Array(0);

  /** A request with any method. */
  constructor(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  /** `GET url`. */
  static get(url: string): Request {
    return new Request("GET", url);
  }
  /** `POST url`. */
  static post(url: string): Request {
    return new Request("POST", url);
  }
  /** Adds a header. */
  header(name: string, value: string): this {
    this.headers.push([name, value]);
    return this;
  }
  /** Adds `Authorization: Bearer TOKEN`. */
  bearer(token: string): this {
    return this.header("Authorization", `Bearer ${token}`);
  }
  /** Sets the body to `value` as JSON, with its content type. */
  json(value: unknown): this {
    this.body = encodeUtf8(JSON.stringify(value));
    return this.header("Content-Type", "application/json");
  }
  /** Sets the raw body (text is sent as UTF-8). */
  setBody(body: string | Uint8Array): this {
    this.body = typeof body === "string" ? encodeUtf8(body) : body;
    return this;
  }
  toJSON(): unknown {
    return { method: this.method, url: this.url, headers: this.headers.map(([k]) => k), body_len: this.body.length };
  }
}

/** What the server answered. */
export class Response {
  constructor(
    readonly status: number,
    readonly headers: [string, string][],
    readonly body: Uint8Array,
  ) {}

  /** The first header named `name` (any case). */
  header(name: string): string | undefined {
    return findHeader(this.headers, name);
  }
  /** The body as text (invalid UTF-8 replaced). */
  text(): string {
    return decodeUtf8(this.body);
  }
  /** The body decoded as JSON; an {@link HttpError} `json` otherwise. */
  json<T = unknown>(): T {
    try {
      return JSON.parse(this.text()) as T;
    } catch (e) {
      throw new HttpError("json", `the response is not the JSON expected: ${e instanceof Error ? e.message : e}`);
    }
  }
  toJSON(): unknown {
    return { status: this.status, headers: this.headers.map(([k]) => k), body_len: this.body.length };
  }
}

/** Why a request got no response. */
export type HttpErrorKind = "denied" | "invalid-url" | "too-large" | "timeout" | "json" | "failed";

/** A request got no (usable) response. Escaping a handler it answers 502 `upstream_error`. */
export class HttpError extends Error implements IntoPluginError {
  readonly kind: HttpErrorKind;
  constructor(kind: HttpErrorKind, message: string) {
    super(message);
    this.name = "HttpError";
    this.kind = kind;
  }
  static fromHost(e: HostHttpError): HttpError {
    switch (e.kind) {
      case "denied":
        return new HttpError("denied", "the host denied the request (allowed_outbound_hosts)");
      case "too-large":
        return new HttpError("too-large", "the response is over the host's limit");
      case "timeout":
        return new HttpError("timeout", "no response in time");
      default:
        return new HttpError("failed", `the request failed: ${e.message}`);
    }
  }
  toPluginError(): PluginError {
    return new PluginError("upstream_error", this.message, 502);
  }
}

/** `https://host:port/path?q` → [https, host:port, /path?q]; an {@link HttpError} `invalid-url` otherwise. */
export function splitUrl(url: string): [boolean, string, string] {
  // Without its query or fragment: they may carry tokens.
  const invalid = () => new HttpError("invalid-url", `invalid URL ${JSON.stringify(url.split(/[?#]/)[0]!.slice(0, 100))}`);
  const m = /^([A-Za-z]+):\/\/([^/?#]*)(.*)$/.exec(url);
  if (!m) throw invalid();
  const scheme = m[1]!.toLowerCase();
  if ((scheme !== "https" && scheme !== "http") || m[2] === "") throw invalid();
  const rest = m[3]!.replace(/#.*$/, "");
  const path = rest === "" ? "/" : rest.startsWith("?") ? `/${rest}` : rest;
  return [scheme === "https", m[2]!, path];
}

/** Sends `request` and waits for the whole response. Throws {@link HttpError}. */
export function send(request: Request): Response {
  splitUrl(request.url);
  try {
    const r = host().send({ method: request.method, url: request.url, headers: request.headers, body: request.body });
    return new Response(r.status, r.headers, r.body);
  } catch (e) {
    if (e instanceof HttpFailure) throw HttpError.fromHost(e.error);
    throw e;
  }
}
