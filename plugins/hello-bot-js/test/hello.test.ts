// The Rust hello-bot's unit tests, ported: same bodies, same expected replies.
import { test } from "node:test";
import assert from "node:assert/strict";
import { callInfo, handleJson } from "pyrus-plugin-sdk";
import { bot, hello } from "../src/index.js";

function reply(body: string): Record<string, unknown> {
  const out = handleJson(hello, callInfo("hello"), body);
  assert.ok(out !== undefined);
  return JSON.parse(out) as Record<string, unknown>;
}

test("greets the author and approves", () => {
  const r = reply(`{"task":{"id":1,"author":{"id":2,"email":"bob@example.com"},
    "comments":[{"id":3,"author":{"id":2}}]}}`);
  assert.equal(r.text, "Hello, bob@example.com. This task approved by bot.");
  assert.equal(r.approval_choice, "approved");
});

test("survives missing pieces", () => {
  let r = reply(`{"task":{"id":1,"author":{"id":2,"email":"","first_name":"Bob","last_name":""}}}`);
  assert.equal(r.text, "Hello, Bob. This task approved by bot.");
  r = reply(`{"task_id":"5"}`);
  assert.equal(r.text, "Hello. This task approved by bot.");
});

test("answers byte for byte what the Rust bot answers", () => {
  const out = handleJson(hello, callInfo("hello"), `{"task":{"author":{"email":"bob@example.com"}}}`);
  assert.equal(out, `{"text":"Hello, bob@example.com. This task approved by bot.","approval_choice":"approved"}`);
});

test("the component export answers the WIT way", () => {
  const info = { name: "hello", attempt: 1, maxAttempts: null, userAgent: null, settings: null };
  assert.equal(bot.handle(info, `{"task_id":5}`), `{"text":"Hello. This task approved by bot.","approval_choice":"approved"}`);
  // A body that is not a JSON object: thrown as the WIT plugin-error record, 400.
  assert.throws(() => bot.handle(info, "[1]"), (e: unknown) => {
    const err = e as { code: string; status: number };
    return err.code === "invalid_request" && err.status === 400 && !(e instanceof Error);
  });
});
