// The Rust echo-extension's unit tests, ported, and a few more on what the port must keep.
import { beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { PluginError, callInfo, handleExtensionJson } from "pyrus-plugin-sdk";
import * as testing from "pyrus-plugin-sdk/testing";
import { echo, extension } from "../src/index.js";

const call = () => callInfo("echo", { settings: `{"login":"demo","password":"s3cret"}` });

function error(f: () => unknown): PluginError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof PluginError, `not a PluginError: ${e}`);
    return e;
  }
  assert.fail("no error");
}

function authorize(login: string, password: string): string | undefined {
  const body = JSON.stringify({ credentials: [{ code: "login", value: login }, { code: "password", value: password }] });
  return handleExtensionJson(echo, "authorize", call(), body);
}

beforeEach(() => testing.reset());

test("authorize checks credentials", () => {
  assert.equal(authorize("demo", "s3cret"), `{"account_id":"echo:demo","account_name":"Echo (demo)"}`);
  assert.equal(error(() => authorize("demo", "nope")).code, "bad_credentials");
});

test("send message answers a stable delivery id", () => {
  const body = `{"account_id":"echo:demo","channel_id":"c1","message_text":"hi"}`;
  const a = handleExtensionJson(echo, "sendmessage", call(), body);
  const b = handleExtensionJson(echo, "sendmessage", call(), body);
  assert.equal(a, b);
  assert.ok(a?.includes(`"message_id":"echo-`));
  // The Rust extension's id for the same message.
  assert.equal(a, `{"message_id":"echo-5017e37f58617461"}`);
  const empty = `{"channel_id":"c1","message_text":" "}`;
  assert.equal(error(() => handleExtensionJson(echo, "sendmessage", call(), empty)).code, "invalid_request");
  assert.deepEqual(testing.logs().map((l) => l.message), ["delivered 2 characters to c1", "delivered 2 characters to c1"]);
});

test("unimplemented methods say so", () => {
  const e = error(() => handleExtensionJson(echo, "event", call(), "{}"));
  assert.deepEqual([e.code, e.status], ["not_supported", 501]);
});

test("toggle logs the account's state", () => {
  handleExtensionJson(echo, "toggle", call(), `{"account_id":"echo:demo","enabled":true}`);
  handleExtensionJson(echo, "toggle", call(), `{"enabled":true,"deleted":true}`);
  assert.deepEqual(testing.logs().map((l) => l.message), ["account echo:demo enabled", "account ? deleted"]);
});

test("missing settings are the host's fault (500)", () => {
  const e = error(() => handleExtensionJson(echo, "authorize", callInfo("echo"), `{"credentials":[]}`));
  assert.deepEqual([e.code, e.status], ["misconfigured", 500]);
});

test("the component export takes the WIT method variant", () => {
  const info = { name: "echo", attempt: 1, settings: `{"login":"demo","password":"s3cret"}` };
  const body = `{"account_id":"echo:demo","channel_id":"c1","message_text":"hi"}`;
  assert.equal(extension.handle(info, { tag: "send-message" }, body), `{"message_id":"echo-5017e37f58617461"}`);
  assert.equal(extension.handle(info, { tag: "pulse" }, ""), undefined);
  assert.throws(() => extension.handle(info, { tag: "other", val: "newwebhook" }, "{}"), { code: "not_supported", status: 501 });
});
