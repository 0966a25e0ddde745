// Extensions: dispatch by method, defaults, parse errors, credentials, inbound calls.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AuthorizeRequest,
  type Extension,
  InboundRequest,
  SendMessageRequest,
  authorizeReply,
  callInfo,
  delivered,
  exportExtension,
  exportInbound,
  handleExtensionJson,
  handleInbound,
  inboundJson,
  notSupported,
} from "../src/index.js";

const call = callInfo("ext");

test("not_supported names the webhook", () => {
  const e = notSupported("createdialog");
  assert.deepEqual([e.code, e.status, e.message], ["not_supported", 501, "this extension does not implement /createdialog"]);
});

test("an empty extension: pulse is alive, everything else not supported", () => {
  const quiet: Extension = {};
  assert.equal(handleExtensionJson(quiet, "pulse", call, ""), undefined);
  for (const m of ["authorize", "toggle", "event", "sendmessage", "createdialog", "getavailablenumbers", "newwebhook"]) {
    assert.throws(() => handleExtensionJson(quiet, m, call, "{}"), { code: "not_supported", status: 501 }, m);
  }
});

test("each method gets its request and its reply is serialized", () => {
  const ext: Extension = {
    authorize: (req) => authorizeReply(req.credential("token")!.slice(0, 8), "My account"),
    sendMessage: (req) => delivered(`${req.channel()}-1`),
    createDialog: () => undefined,
    getAvailableNumbers: (req) => ({ numbers: [req.accountId] }),
  };
  assert.equal(
    handleExtensionJson(ext, "authorize", call, `{"credentials":[{"code":"token","value":"0123456789"}]}`),
    `{"account_id":"01234567","account_name":"My account"}`,
  );
  assert.equal(handleExtensionJson(ext, "sendmessage", call, `{"channel_id":"c7","message_text":"hi"}`), `{"message_id":"c7-1"}`);
  assert.equal(handleExtensionJson(ext, "createdialog", call, "{}"), undefined);
  assert.equal(handleExtensionJson(ext, "getavailablenumbers", call, `{"account_id":"a"}`), `{"numbers":["a"]}`);
  // The body does not parse: 400 invalid_request.
  assert.throws(() => handleExtensionJson(ext, "sendmessage", call, "[1]"), { code: "invalid_request", status: 400 });
  // No channel: 400 invalid_request.
  assert.throws(() => handleExtensionJson(ext, "sendmessage", call, "{}"), { code: "invalid_request", message: "channel_id is missing" });
});

test("requests read what Pyrus sends and hide credential values", () => {
  const a = AuthorizeRequest.parse(`{"credentials":[{"code":"login","value":"me"},{"code":"password","value":"pw"}],"authorization_code":"oc"}`);
  assert.equal(a.credential("login"), "me");
  assert.equal(a.credential("nope"), undefined);
  assert.equal(a.authorizationCode, "oc");
  assert.ok(!JSON.stringify(a.credentials).includes("pw"));
  const s = SendMessageRequest.parse(`{"account_id":"x","channel_id":"c","message_text":null,"attachment_ids":[1,"2"]}`);
  assert.equal(s.messageText, "");
  assert.deepEqual(s.attachmentIds, [1, 2]);
});

test("the exported handle maps WIT variants to methods", () => {
  const ext = exportExtension({ toggle: () => undefined });
  const info = { name: "ext", attempt: 1 };
  assert.equal(ext.handle(info, { tag: "toggle" }, "{}"), undefined);
  assert.throws(() => ext.handle(info, { tag: "send-message" }, "{}"), (e: unknown) => {
    const err = e as { code: string; message: string; status: number };
    return err.code === "not_supported" && err.message === "this extension does not implement /sendmessage" && err.status === 501;
  });
  assert.throws(() => ext.handle(info, { tag: "other", val: "newwebhook" }, "{}"), { code: "not_supported" });
});

test("inbound: headers by any case, JSON bodies, default 404", () => {
  const bridge: Extension = {
    inbound(req) {
      if (req.header("X-Relay-Secret") !== "abc") return inboundJson(401, { error: "who are you" });
      return inboundJson(200, { path: req.path, got: req.json() });
    },
  };
  const req = new InboundRequest({ method: "POST", path: "/messages", headers: [["x-relay-secret", "abc"]], body: `{"text":"hé"}` });
  const r = handleInbound(bridge, req, call);
  assert.equal(r.status, 200);
  assert.equal(new TextDecoder().decode(r.body), `{"path":"/messages","got":{"text":"hé"}}`);
  assert.deepEqual(r.headers, [["content-type", "application/json"]]);
  assert.ok(!JSON.stringify(req).includes("abc"));
  assert.equal(handleInbound(bridge, new InboundRequest({}), call).status, 401);
  assert.throws(() => handleInbound({}, req, call), { code: "not_supported", status: 404 });
  const bad = new InboundRequest({ headers: [["x-relay-secret", "abc"]], body: "nope" });
  assert.throws(() => handleInbound(bridge, bad, call), { code: "invalid_request", status: 400 });

  const exported = exportInbound(bridge);
  const wit = exported.handle({ name: "ext", attempt: 1 }, { method: "POST", path: "/m", query: null, headers: [["x-relay-secret", "abc"]], body: new Uint8Array([123, 125]) });
  assert.equal(wit.status, 200);
  assert.ok(wit.body instanceof Uint8Array);
});
