// The reply builder: the Rust SDK's JSON, key for key and in the same order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BotReply, FieldUpdate } from "../src/index.js";

test("the documented example, byte for byte as the Rust SDK writes it", () => {
  const reply = new BotReply()
    .text("Checked by bot")
    .approve()
    .fieldUpdate(FieldUpdate.byId(7, "OK"))
    .fieldUpdate(FieldUpdate.byCode("u_Amount", 1365.27));
  assert.equal(
    reply.toJson(),
    `{"text":"Checked by bot","approval_choice":"approved","field_updates":[{"id":7,"value":"OK"},{"code":"u_Amount","value":1365.27}]}`,
  );
});

test("an empty reply is an empty object", () => {
  assert.equal(new BotReply().toJson(), "{}");
});

test("every setter, in the Rust field order", () => {
  const reply = new BotReply()
    .channel("telegram")
    .spentMinutes(5)
    .due("2026-01-19T10:00:00Z", 30)
    .dueDate("2026-01-19")
    .addSubscriber({ email: "a@b.c" })
    .addApprover(2, { id: 5 })
    .attach("guid-1")
    .finish()
    .fieldUpdate(FieldUpdate.byName("Status", "done"))
    .reassignTo({ id: 1731 })
    .approvalSteps([1, 2])
    .reject()
    .subject("S")
    .formattedText("<b>x</b>")
    .text("t");
  assert.equal(
    reply.toJson(),
    `{"text":"t","formatted_text":"<b>x</b>","subject":"S","approval_choice":"rejected","approval_steps":[1,2],` +
      `"reassign_to":{"id":1731},"field_updates":[{"name":"Status","value":"done"}],"action":"finished",` +
      `"attachments":["guid-1"],"approvals_added":[[],[{"id":5}]],"subscribers_added":[{"email":"a@b.c"}],` +
      `"due_date":"2026-01-19","due":"2026-01-19T10:00:00Z","duration":30,"spent_minutes":5,"channel":{"type":"telegram"}}`,
  );
  assert.equal(new BotReply().acknowledge().reopen().toJson(), `{"approval_choice":"acknowledged","action":"reopened"}`);
});

test("field updates by id, code and name", () => {
  assert.equal(JSON.stringify(FieldUpdate.byCode("u_Amount", 1365.27)), `{"code":"u_Amount","value":1365.27}`);
  assert.equal(JSON.stringify(FieldUpdate.byId(3, { item_id: 7 })), `{"id":3,"value":{"item_id":7}}`);
  assert.equal(JSON.stringify(FieldUpdate.byName("N", null)), `{"name":"N","value":null}`);
});
