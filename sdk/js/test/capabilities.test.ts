// Capabilities against the in-memory host: log, store, variables, HTTP, the Pyrus API, and
// how their errors answer when they escape a handler.
import { beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import {
  BotReply,
  BotRequest,
  PluginError,
  PyrusApi,
  ExtensionsApi,
  Store,
  StoreError,
  callInfo,
  decodeUtf8,
  encodeUtf8,
  exportBot,
  handleJson,
  http,
  log,
  secretsEqual,
  variables,
} from "../src/index.js";
import { check } from "../src/pyrus.js";
import * as testing from "../src/testing.js";

beforeEach(() => testing.reset());

test("log messages are recorded", () => {
  log.info("task 42: nothing to do");
  log.error("bad");
  assert.deepEqual(testing.logs(), [
    { level: "info", message: "task 42: nothing to do" },
    { level: "error", message: "bad" },
  ]);
});

test("the store: text, JSON, counters, keys", () => {
  const s = Store.open("default");
  assert.equal(s.get("x"), undefined);
  s.set("greeting", "héllo");
  assert.equal(s.getString("greeting"), "héllo");
  s.setJson("seen", [1, 2, 3]);
  assert.deepEqual(s.getJson<number[]>("seen"), [1, 2, 3]);
  assert.equal(s.increment("calls"), 1);
  assert.equal(s.increment("calls", 5), 6);
  assert.equal(s.getString("calls"), "6");
  assert.deepEqual(s.keys(), ["calls", "greeting", "seen"]);
  assert.equal(s.exists("seen"), true);
  s.delete("seen");
  assert.equal(s.exists("seen"), false);
  assert.equal(testing.store().get("greeting"), "héllo");
  s.set("bad", "{oops");
  assert.throws(() => s.getJson("bad"), (e: unknown) => e instanceof StoreError && e.kind === "json");
});

test("a store error escaping a handler answers 500 store_error; unavailable answers 503", () => {
  testing.grantStores(["default"]);
  const bot = (_: BotRequest) => {
    Store.open("other");
    return new BotReply();
  };
  assert.throws(() => handleJson(bot, callInfo("b"), "{}"), {
    code: "store_error",
    status: 500,
    message: "the host does not grant this store (key_value_stores)",
  });
  const e = new StoreError("other", "store unavailable: connection refused");
  assert.equal(e.isUnavailable(), true);
  assert.deepEqual([e.toPluginError().code, e.toPluginError().status], ["store_unavailable", 503]);
});

test("variables: get, require, all", () => {
  testing.setVariables({ login: "bot@example.com", a: "1" });
  assert.equal(variables.get("login"), "bot@example.com");
  assert.equal(variables.get("nope"), undefined);
  assert.deepEqual(variables.all(), [["a", "1"], ["login", "bot@example.com"]]);
  assert.throws(() => variables.require("security_key"), { code: "misconfigured", status: 500 });
});

test("HTTP goes to the test's responders", () => {
  testing.respond((req) => (req.url.startsWith("https://m.example.com/") ? testing.jsonResponse(200, { ok: true, got: JSON.parse(req.body) }) : undefined));
  const r = http.send(http.Request.post("https://m.example.com/send").bearer("t0k").json({ text: "hi" }));
  assert.equal(r.status, 200);
  assert.equal(r.header("Content-Type"), "application/json");
  assert.deepEqual(r.json(), { ok: true, got: { text: "hi" } });
  const [sent] = testing.sent();
  assert.equal(sent?.method, "POST");
  assert.deepEqual(sent?.headers, [["Authorization", "Bearer t0k"], ["Content-Type", "application/json"]]);
  // Nobody answers: the request fails, and escaping a handler it answers 502 upstream_error.
  assert.throws(() => http.send(http.Request.get("https://other.example.com/")), (e: unknown) => e instanceof http.HttpError && e.kind === "failed");
  assert.throws(() => http.send(http.Request.get("ftp://x/")), (e: unknown) => e instanceof http.HttpError && e.kind === "invalid-url");
  const bot = exportBot(() => {
    http.send(http.Request.get("https://other.example.com/?token=s3cret"));
    return undefined;
  });
  assert.throws(() => bot.handle({ name: "b", attempt: 1 }, "{}"), (e: unknown) => (e as { code: string; status: number }).code === "upstream_error" && (e as { status: number }).status === 502);
  // Header values never show when a request is logged as JSON.
  assert.ok(!JSON.stringify(http.Request.get("https://a/").bearer("s3cret-token")).includes("s3cret"));
});

test("URLs split into scheme, authority and path", () => {
  assert.deepEqual(http.splitUrl("https://api.pyrus.com/v4/tasks/1?x=2"), [true, "api.pyrus.com", "/v4/tasks/1?x=2"]);
  assert.deepEqual(http.splitUrl("http://127.0.0.1:8080"), [false, "127.0.0.1:8080", "/"]);
  assert.throws(() => http.splitUrl("ftp://x/"));
  assert.throws(() => http.splitUrl("https:///x"));
  // The query (which may hold a token) is not quoted in the error.
  assert.throws(() => http.splitUrl("nope?token=s3cret"), (e: unknown) => !(e as Error).message.includes("s3cret"));
});

test("API answers become results and typed errors", () => {
  const response = (status: number, headers: [string, string][], body: string) => new http.Response(status, headers, encodeUtf8(body));
  assert.deepEqual(check(response(200, [], `{"a":1}`)), { a: 1 });
  assert.equal(check(response(200, [], "")), null);
  assert.throws(
    () => check(response(429, [["x-ratelimit-limit", "5000"], ["X-RateLimit-Remaining", "0"], ["X-RateLimit-Reset", "42"]], "{}")),
    (e: unknown) => {
      const a = e as { kind: string; limit: number; remaining: number; resetSeconds: number; toPluginError(): PluginError };
      return a.kind === "rate_limited" && a.limit === 5000 && a.remaining === 0 && a.resetSeconds === 42 && a.toPluginError().status === 503;
    },
  );
  assert.throws(() => check(response(401, [], `{"error":"token expired","error_code":"invalid_token"}`)), {
    kind: "api",
    status: 401,
    code: "invalid_token",
    message: "Pyrus answered 401 invalid_token: token expired",
  });
  const api = new PyrusApi("https://api.pyrus.com/v4", "secret-token");
  assert.equal(api.apiUrl, "https://api.pyrus.com/v4/");
  assert.ok(!JSON.stringify(api).includes("secret-token"));
});

test("the Pyrus API client: the webhook's token, comments, authentication", () => {
  testing.respond((req) => {
    if (req.url === "https://accounts.pyrus.com/api/v4/auth") return testing.jsonResponse(200, { access_token: "long", api_url: "https://tenant.example.com/v4/" });
    if (req.url === "https://extensions.pyrus.com/v1/token") return testing.jsonResponse(200, { access_token: "ext" });
    return testing.jsonResponse(200, { task: { id: 42 } });
  });
  const req = BotRequest.parse(`{"task_id":42,"access_token":"short","api_url":"https://api.pyrus.com/v4/"}`);
  PyrusApi.forBot(req).commentTask(42, new BotReply().text("Done"));
  let [sent] = testing.sent();
  assert.equal(sent?.url, "https://api.pyrus.com/v4/tasks/42/comments");
  assert.equal(sent?.body, `{"text":"Done"}`);
  assert.deepEqual(sent?.headers[0], ["Authorization", "Bearer short"]);
  assert.throws(() => PyrusApi.forBot(BotRequest.parse("{}")), { kind: "no_token" });

  const api = PyrusApi.authenticate("https://accounts.pyrus.com/api/v4/", "bot@x", "key");
  assert.equal(api.apiUrl, "https://tenant.example.com/v4/");
  api.getTask(7);
  sent = testing.sent()[2];
  assert.equal(sent?.url, "https://tenant.example.com/v4/tasks/7");
  assert.deepEqual(sent?.headers[0], ["Authorization", "Bearer long"]);

  const ext = ExtensionsApi.authenticate("https://extensions.pyrus.com/v1", "ext@x", "sec");
  ext.getMessage({ account_id: "a", channel_id: "c", message_text: "hi" });
  sent = testing.sent()[4];
  assert.equal(sent?.url, "https://extensions.pyrus.com/v1/getmessage");
  assert.equal(sent?.body, `{"account_id":"a","channel_id":"c","message_text":"hi"}`);
});

test("unexpected exceptions and wrong returns become 500s, not traps", () => {
  assert.throws(() => handleJson(() => { throw new TypeError("oops"); }, callInfo("b"), "{}"), { code: "plugin_exception", status: 500, message: "TypeError: oops" });
  const asyncBot = (async () => new BotReply()) as unknown as () => BotReply;
  assert.throws(() => handleJson(asyncBot, callInfo("b"), "{}"), { code: "plugin_misbehaved" });
  // Through the export, a thrown error is the WIT record, and the stack goes to the log.
  const bot = exportBot(() => { throw new RangeError("deep"); });
  assert.throws(() => bot.handle({ name: "b", attempt: 1 }, "{}"), (e: unknown) => (e as { code: string }).code === "plugin_exception");
  assert.ok(testing.logs().some((l) => l.level === "error" && l.message.includes("RangeError: deep")));
  // An explicit PluginError keeps its status (none: the host chooses).
  assert.throws(() => handleJson(() => { throw new PluginError("nope", "no"); }, callInfo("b"), "{}"), { code: "nope", status: undefined });
});

test("UTF-8 and secret comparison", () => {
  for (const s of ["", "ascii", "héllo", "Привет", "🎉 emoji", "\u{10FFFF}"]) {
    assert.deepEqual(encodeUtf8(s), new Uint8Array(Buffer.from(s, "utf8")), s);
    assert.equal(decodeUtf8(encodeUtf8(s)), s);
  }
  assert.equal(decodeUtf8(new Uint8Array([0x61, 0xff, 0x62])), "a\uFFFDb");
  assert.equal(encodeUtf8("\uD800").length, 3);
  assert.ok(secretsEqual("s3cret", "s3cret"));
  assert.ok(!secretsEqual("s3cret", "s3creT"));
  assert.ok(!secretsEqual("s3cret", "s3c"));
});
