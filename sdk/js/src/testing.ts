/**
 * Native tests of plugins (`node --test`): the in-memory host behind `log`, `Store`,
 * `variables` and `http`, and what it recorded. Call {@link reset} before each test.
 *
 * @example
 * ```ts
 * import * as testing from "pyrus-plugin-sdk/testing";
 * testing.reset();
 * testing.setVariables({ messenger_url: "https://m.example.com/send" });
 * testing.respond((req) => req.url.startsWith("https://m.example.com/") ? testing.jsonResponse(200, { id: 1 }) : undefined);
 * // ... run the handler with handleJson(...)
 * assert.deepEqual(testing.logs().map((l) => l.message), ["delivered"]);
 * ```
 * @module
 */
import { FakeHost, type HostRequest, type HostResponse, type Level, setHost } from "./host.js";
import { decodeUtf8, encodeUtf8 } from "./utf8.js";

let fake = new FakeHost();
setHost(fake);

/** A fresh in-memory host: no logs, empty stores (all granted), no variables, no responders. */
export function reset(): FakeHost {
  fake = new FakeHost();
  setHost(fake);
  return fake;
}

/** Every message logged since the last {@link reset}. */
export function logs(): { level: Level; message: string }[] {
  return fake.logs;
}

/** Sets the plugin's variables (as `[bots.NAME.variables]` would). */
export function setVariables(vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(vars)) fake.vars.set(k, v);
}

/** Grants only these store names (by default every name opens); others answer `access-denied`. */
export function grantStores(names: string[]): void {
  fake.grantedStores = names;
}

/** The store `name` as text values, to check what the plugin wrote or to seed it. */
export function store(name = "default"): Map<string, string> {
  const m = fake.stores.get(name) ?? new Map<string, Uint8Array>();
  return new Map([...m.entries()].map(([k, v]) => [k, decodeUtf8(v)]));
}

/** Seeds the store `name` with text values. */
export function seedStore(values: Record<string, string>, name = "default"): void {
  let m = fake.stores.get(name);
  if (!m) fake.stores.set(name, (m = new Map()));
  for (const [k, v] of Object.entries(values)) m.set(k, encodeUtf8(v));
}

/** An outgoing request as the fake host saw it, with the body as text. */
export interface SentRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: string;
}

/** Adds a responder for outbound requests; the first that returns a response answers. */
export function respond(responder: (req: SentRequest) => HostResponse | undefined): void {
  fake.responders.push((req: HostRequest) => responder(asSent(req)));
}

/** A response with a JSON body. */
export function jsonResponse(status: number, body: unknown, headers: [string, string][] = []): HostResponse {
  return { status, headers: [["content-type", "application/json"], ...headers], body: encodeUtf8(JSON.stringify(body)) };
}

/** Every outbound request sent since the last {@link reset}. */
export function sent(): SentRequest[] {
  return fake.sent.map(asSent);
}

function asSent(r: HostRequest): SentRequest {
  return { method: r.method, url: r.url, headers: r.headers, body: decodeUtf8(r.body) };
}

export { FakeHost };
export type { HostResponse, Level };
