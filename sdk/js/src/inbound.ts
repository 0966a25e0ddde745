/**
 * Calls from the external system an extension bridges (a messenger's webhook), which the host
 * forwards from `/extensions/NAME/inbound/...`. Pyrus does not sign them: verify the caller.
 * @module
 */
import { PluginError } from "./errors.js";
import { findHeader } from "./headers.js";
import { decodeUtf8, encodeUtf8 } from "./utf8.js";

/** The WIT `inbound-request` record as the component model hands it over. */
export interface WitInboundRequest {
  method: string;
  path: string;
  query?: string | null | undefined;
  headers: [string, string][];
  body: Uint8Array | number[];
}

/** The WIT `inbound-response` record. */
export interface WitInboundResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/**
 * The external system's request. Header values often carry secrets: `toJSON` shows only the
 * names.
 *
 * @example
 * ```ts
 * const req = new InboundRequest({ method: "POST", path: "/messages",
 *   headers: [["x-relay-secret", "abc"]], body: '{"text":"hi"}' });
 * req.header("X-Relay-Secret"); // "abc"
 * req.json();                   // { text: "hi" }
 * ```
 */
export class InboundRequest {
  /** `GET`, `POST`, ... */
  method: string;
  /** The path after `/inbound`, starting with `/`. */
  path: string;
  /** The query string without `?`. */
  query: string | undefined;
  /** Every header; names in lower case. */
  headers: [string, string][];
  body: Uint8Array;

  constructor(init: { method?: string; path?: string; query?: string; headers?: [string, string][]; body?: string | Uint8Array }) {
    this.method = init.method ?? "GET";
    this.path = init.path ?? "/";
    this.query = init.query;
    this.headers = init.headers ?? [];
    this.body = typeof init.body === "string" ? encodeUtf8(init.body) : (init.body ?? new Uint8Array(0));
  }

  static fromWit(r: WitInboundRequest): InboundRequest {
    return new InboundRequest({
      method: r.method,
      path: r.path,
      query: r.query ?? undefined,
      headers: r.headers,
      body: r.body instanceof Uint8Array ? r.body : Uint8Array.from(r.body),
    });
  }

  /** The first header named `name` (any case). */
  header(name: string): string | undefined {
    return findHeader(this.headers, name);
  }

  /** The body as text (invalid UTF-8 replaced). */
  text(): string {
    return decodeUtf8(this.body);
  }

  /** The body decoded as JSON; a 400 `invalid_request` error otherwise. */
  json<T = unknown>(): T {
    try {
      return JSON.parse(this.text()) as T;
    } catch (e) {
      throw PluginError.badRequest(`the body is not understood: ${e instanceof Error ? e.message : e}`);
    }
  }

  toJSON(): unknown {
    return { method: this.method, path: this.path, headers: this.headers.map(([k]) => k), body_len: this.body.length };
  }
}

/**
 * The answer to the external system.
 *
 * @example
 * ```ts
 * return inboundJson(200, { ok: true });
 * ```
 */
export interface InboundResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/** An empty answer with `status`. */
export function inboundStatus(status: number): InboundResponse {
  return { status, headers: [], body: new Uint8Array(0) };
}

/** `status` with `value` as a JSON body (and its content type). */
export function inboundJson(status: number, value: unknown): InboundResponse {
  return { status, headers: [["content-type", "application/json"]], body: encodeUtf8(JSON.stringify(value)) };
}

/** `status` with a text body. */
export function inboundText(status: number, text: string, contentType = "text/plain; charset=utf-8"): InboundResponse {
  return { status, headers: [["content-type", contentType]], body: encodeUtf8(text) };
}

export function toWitResponse(r: InboundResponse): WitInboundResponse {
  return { status: r.status, headers: r.headers, body: r.body };
}
