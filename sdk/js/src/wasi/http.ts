// Installed when the plugin sends HTTP: wasi:http/outgoing-handler, blocking. The component's
// exports are synchronous, so the request is driven with blocking WASI calls (no fetch(),
// whose Promise could not be awaited inside a synchronous export).
import { handle } from "wasi:http/outgoing-handler@0.2.12";
import { Fields, IncomingBody, type IncomingResponse, OutgoingBody, OutgoingRequest } from "wasi:http/types@0.2.12";
import { type HostHttpError, HttpFailure, installHost } from "../host.js";
import { splitUrl } from "../http.js";
import { encodeUtf8 } from "../utf8.js";
import { drop, payload } from "./payload.js";

type Tagged = { tag: string; val?: unknown };

function fail(error: HostHttpError): never {
  throw new HttpFailure(error);
}

/** Maps a wasi:http `error-code` to the SDK's error. */
function failed(code: unknown): never {
  const tag = (code as Tagged | undefined)?.tag?.toLowerCase() ?? "";
  if (tag === "http-request-denied") fail({ kind: "denied" });
  if (tag === "http-response-body-size") fail({ kind: "too-large" });
  if (tag === "connection-timeout" || tag === "connection-read-timeout" || tag === "http-response-timeout") {
    fail({ kind: "timeout" });
  }
  fail({ kind: "failed", message: tag || String(code) });
}

function wasi<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof HttpFailure) throw e;
    const p = payload(e);
    if (p !== undefined) failed(p);
    fail({ kind: "failed", message: `${what}: ${e instanceof Error ? e.message : String(e)}` });
  }
}

const METHODS = ["get", "head", "post", "put", "delete", "connect", "options", "trace", "patch"];

installHost({
  send(request) {
    const [https, authority, path] = splitUrl(request.url);
    const headers = new Fields();
    for (const [name, value] of request.headers) wasi(`header ${name}`, () => headers.append(name, encodeUtf8(value)));
    const outgoing = new OutgoingRequest(headers);
    const m = request.method.toLowerCase();
    wasi("method", () => outgoing.setMethod(METHODS.includes(m) ? { tag: m } : { tag: "other", val: request.method.toUpperCase() }));
    wasi("scheme", () => outgoing.setScheme({ tag: https ? "HTTPS" : "HTTP" }));
    wasi("authority", () => outgoing.setAuthority(authority));
    wasi("path", () => outgoing.setPathWithQuery(path));
    const body = wasi("body", () => outgoing.body());
    const pending = wasi("send", () => handle(outgoing, undefined));
    // A refused request (not in allowed_outbound_hosts) closes the body stream: remember a
    // write failure, but report the response's error first, which says why.
    let writeError: unknown;
    try {
      const stream = wasi("body stream", () => body.write());
      // The stream takes at most 4096 bytes per blocking write.
      for (let i = 0; i < request.body.length; i += 4096) {
        const chunk = request.body.subarray(i, i + 4096);
        wasi("writing the body", () => stream.blockingWriteAndFlush(chunk));
      }
      drop(stream);
      wasi("finishing the body", () => OutgoingBody.finish(body, undefined));
    } catch (e) {
      writeError = e;
    }
    const pollable = pending.subscribe();
    pollable.block();
    drop(pollable);
    // option<result<result<incoming-response, error-code>, ()>>
    const got = pending.get() as Tagged | null | undefined;
    if (got === null || got === undefined || got.tag !== "ok") fail({ kind: "failed", message: "no response" });
    const inner = got.val as Tagged;
    if (inner.tag !== "ok") failed(inner.val);
    if (writeError !== undefined) throw writeError;
    const response = inner.val as IncomingResponse;
    const status = response.status();
    const fields = response.headers();
    const headerList: [string, string][] = fields.entries().map(([k, v]) => [k, String.fromCharCode(...v)]);
    drop(fields);
    const incoming = wasi("response body", () => response.consume());
    const input = wasi("response body stream", () => incoming.stream());
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      let chunk: Uint8Array;
      try {
        chunk = input.blockingRead(65536);
      } catch (e) {
        const p = payload(e) as Tagged | undefined;
        if (p?.tag === "closed") break;
        // The host's text (first line: the rest may be a backtrace).
        const err = p?.val as { toDebugString?: () => string } | undefined;
        const text = (err?.toDebugString?.() ?? String(e)).split("\n")[0] ?? "";
        if (text.includes("body size exceeds limit")) fail({ kind: "too-large" });
        fail({ kind: "failed", message: text });
      }
      chunks.push(chunk);
      total += chunk.length;
    }
    drop(input);
    drop(IncomingBody.finish(incoming));
    drop(response);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    return { status, headers: headerList, body: bytes };
  },
});
