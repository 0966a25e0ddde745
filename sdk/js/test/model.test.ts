// The models: every field type, tolerance of odd shapes, ids as strings, the helpers.
// Ports of the Rust SDK's model tests (sdk/src/model/*.rs).
import { beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { BotRequest, Field, type FieldValue, Person, Task, catalogValueOf, fieldValue, parseId, toUpdateValue } from "../src/index.js";
import * as testing from "../src/testing.js";

beforeEach(() => testing.reset());

const field = (json: unknown): Field => {
  const f = Field.from(json);
  assert.ok(f);
  return f;
};

test("every documented type is typed", () => {
  const cases: [unknown, FieldValue][] = [
    [{ type: "text", value: "a" }, { kind: "text", value: "a" }],
    [{ type: "money", value: 1365.27 }, { kind: "number", value: 1365.27 }],
    [{ type: "money", value: 1365 }, { kind: "number", value: 1365 }],
    [{ type: "number", value: "0,5" }, { kind: "number", value: 0.5 }],
    [{ type: "number", value: "0,0000000000" }, { kind: "number", value: 0 }],
    [{ type: "date", value: "2026-01-19" }, { kind: "date", value: "2026-01-19" }],
    [{ type: "time", value: "10:30" }, { kind: "time", value: "10:30" }],
    [{ type: "checkmark", value: "checked" }, { kind: "checkmark", value: true }],
    [{ type: "checkmark", value: "unchecked" }, { kind: "checkmark", value: false }],
    [{ type: "flag", value: "none" }, { kind: "flag", value: "none" }],
    [{ type: "due_date", value: "2026-01-19", duration: 30 }, { kind: "date", value: "2026-01-19" }],
    [{ type: "due_date_time", value: "2026-01-19T10:00:00Z" }, { kind: "datetime", value: "2026-01-19T10:00:00Z" }],
    [{ type: "step", value: 2 }, { kind: "step", value: 2 }],
    [{ type: "note", value: "n" }, { kind: "text", value: "n" }],
    [{ type: "status", value: "open" }, { kind: "text", value: "open" }],
    [{ type: "email", value: "a@b.c" }, { kind: "text", value: "a@b.c" }],
    [{ type: "phone", value: "+1" }, { kind: "text", value: "+1" }],
    [{ type: "creation_date", value: "2026-01-19" }, { kind: "date", value: "2026-01-19" }],
    [{ type: "text" }, { kind: "empty" }],
    [{ type: "text", value: null }, { kind: "empty" }],
  ];
  for (const [json, want] of cases) assert.deepEqual(field(json).value, want, JSON.stringify(json));
  assert.equal(field({ type: "due_date", value: "2026-01-19", duration: 30 }).duration, 30);

  const composite: [unknown, FieldValue["kind"]][] = [
    [{ type: "catalog", value: { item_id: 1, item_ids: [1], headers: ["H"], values: ["v"], rows: [["v"]] } }, "catalog"],
    [{ type: "file", value: [{ id: 1, name: "a.pdf", size: 3, md5: "x", url: "u", version: 0 }] }, "files"],
    [{ type: "person", value: { id: 1, first_name: "A", email: "a@b.c", type: "user" } }, "person"],
    [{ type: "author", value: { id: 1 } }, "person"],
    [{ type: "table", value: [{ row_id: 0, cells: [{ id: 2, type: "text", value: "c" }] }, { row_id: 1 }] }, "table"],
    [{ type: "multiple_choice", value: { choice_id: 2, choice_ids: [2], choice_names: ["X"] } }, "multiple_choice"],
    [{ type: "title", value: { checkmark: "unchecked", fields: [{ id: 3, type: "text", value: "t" }] } }, "title"],
    [{ type: "form_link", value: { task_id: 5, task_ids: [5], subject: "s" } }, "form_link"],
    [{ type: "project", value: { projects: [{ id: 1, name: "P" }] } }, "project"],
  ];
  for (const [json, kind] of composite) assert.equal(field(json).value.kind, kind, JSON.stringify(json));

  const cat = field(composite[0]![0]).value;
  assert.ok(cat.kind === "catalog");
  assert.equal(catalogValueOf(cat.value, "H"), "v");
  assert.equal(catalogValueOf(cat.value, "nope"), undefined);
  const file = field(composite[1]![0]).value;
  assert.ok(file.kind === "files");
  assert.deepEqual(file.value[0], { id: 1, name: "a.pdf", size: 3, md5: "x", url: "u", version: 0, rootId: undefined });
});

test("odd shapes and unknown types are kept, not fatal", () => {
  assert.deepEqual(field({ type: "catalog", value: "weird" }).value, { kind: "unknown", value: "weird" });
  const f = field({ type: "hologram", value: { x: 1 } });
  assert.equal(f.type, "hologram");
  assert.deepEqual(f.value, { kind: "unknown", value: { x: 1 } });
  assert.deepEqual(field({ type: "number", value: "12abc" }).value, { kind: "unknown", value: "12abc" });
  assert.deepEqual(field({ type: "step", value: 1.5 }).value, { kind: "unknown", value: 1.5 });
  assert.equal(Field.from("not a field"), undefined);
});

test("update values for copying", () => {
  assert.deepEqual(field({ type: "catalog", value: { item_id: 7, item_ids: [7] } }).toUpdateValue(), { item_id: 7 });
  assert.deepEqual(field({ type: "catalog", value: { item_ids: [7, 8] } }).toUpdateValue(), { item_ids: [7, 8] });
  assert.deepEqual(field({ type: "person", value: { id: 9 } }).toUpdateValue(), { id: 9 });
  assert.deepEqual(field({ type: "person", value: { email: "a@b.c" } }).toUpdateValue(), { email: "a@b.c" });
  assert.equal(field({ type: "checkmark", value: "checked" }).toUpdateValue(), "checked");
  assert.equal(field({ type: "table", value: [] }).toUpdateValue(), undefined);
  assert.equal(toUpdateValue(fieldValue("money", 1365)), 1365);
  assert.deepEqual(field({ type: "file", value: [{ id: 4 }, { name: "x" }] }).toUpdateValue(), [{ attachment_id: 4 }]);
  assert.deepEqual(field({ type: "form_link", value: { task_id: 5 } }).toUpdateValue(), { task_id: 5 });
  assert.equal(field({ type: "text" }).toUpdateValue(), null);
});

test("ids parse from numbers and numeric strings", () => {
  assert.equal(parseId(123), 123);
  assert.equal(parseId("123"), 123);
  assert.equal(parseId(" 42 "), 42);
  assert.equal(parseId("abc"), undefined);
  assert.equal(parseId(1.5), undefined);
  assert.equal(parseId(null), undefined);
});

test("a bot request parses tolerantly and hides its token", () => {
  const req = BotRequest.parse(`{"event":"comment","task_id":"42","access_token":"t0ken","user_id":"7",
    "api_url":"https://api.pyrus.com/v4/","task":{"id":42,"author":{"id":1,"email":"bob@example.com"}},
    "something_new":{"x":1}}`);
  assert.equal(req.taskId(), 42);
  assert.equal(req.userId, 7);
  assert.equal(req.event, "comment");
  assert.equal(req.author()?.email(), "bob@example.com");
  assert.equal(req.accessToken?.expose(), "t0ken");
  assert.ok(!JSON.stringify(req).includes("t0ken"));
  assert.ok(!String(req.accessToken).includes("t0ken"));
  assert.equal(BotRequest.parse(`{"task":{"id":9}}`).taskId(), 9);
  assert.equal(BotRequest.parse(`{"event":"task_created"}`).event, "task_created");
  // A field of an unexpected type reads as absent instead of failing the call.
  const odd = BotRequest.parse(`{"task":"x","task_id":{"a":1},"bot_settings":5}`);
  assert.equal(odd.task, undefined);
  assert.equal(odd.taskId(), undefined);
  assert.equal(odd.botSettings, undefined);
});

test("a body that is not a JSON object is a 400", () => {
  for (const body of ["[1]", "hello", "", "null"]) {
    assert.throws(() => BotRequest.parse(body), { code: "invalid_request", status: 400 }, body);
  }
});

test("bot settings: absent, blank, JSON and broken", () => {
  assert.equal(BotRequest.parse(`{}`).botSettingsJson(), undefined);
  assert.equal(BotRequest.parse(`{"bot_settings":"  "}`).botSettingsJson(), undefined);
  const s = BotRequest.parse(`{"bot_settings": "{\\"SourceFieldCode\\": \\"u_Src\\"}"}`).botSettingsJson<{ SourceFieldCode: string }>();
  assert.equal(s?.SourceFieldCode, "u_Src");
  assert.throws(() => BotRequest.parse(`{"bot_settings":"{oops"}`).botSettingsJson(), { code: "misconfigured", status: 500 });
});

test("people: empty emails are none, names trimmed", () => {
  const p = Person.from({ id: 1, email: "", first_name: " Bob ", last_name: "" });
  assert.ok(p);
  assert.equal(p.email(), undefined);
  assert.equal(p.fullName(), "Bob");
  assert.deepEqual(p.toRef(), { id: 1 });
  assert.equal(Person.from({})?.fullName(), "");
  assert.equal(Person.from(null), undefined);
});

test("lists are read on demand and tolerate garbage", () => {
  const task = Task.from({
    id: 1, author: { id: 2, email: "a@b.c" }, fields: "not a list", comments: null,
    steps: [{ step: 1, name: "Start" }, { step: 2, name: "Check" }], current_step: 2,
    approvals: [[{ person: { id: 5 }, approval_choice: "approved" }], [{ person: { id: 6 }, approval_choice: "waiting" }]],
  });
  assert.ok(task);
  assert.deepEqual(task.fields(), []);
  assert.deepEqual(task.comments(), []);
  assert.equal(task.steps()[0]?.name, "Start");
  assert.equal(task.author?.email(), "a@b.c");
  assert.equal(task.currentStep()?.name, "Check");
  assert.equal(task.currentApprovals()[0]?.person?.id, 6);
  assert.deepEqual(testing.logs(), [{ level: "warn", message: "task.fields is not a list; read as empty" }]);
});

test("helpers find nested fields and the last text comment", () => {
  const task = Task.from({
    fields: [
      { id: 1, type: "title", value: { fields: [{ id: 2, type: "text", code: "u_Inner", name: "Inner", value: "found" }] } },
      { id: 3, type: "table", value: [{ row_id: 0, cells: [{ id: 4, type: "money", code: "u_Cell", value: 5 }] }] },
      { id: 5, type: "multiple_choice", value: { choice_ids: [1], fields: [{ id: 6, type: "text", code: "u_Choice", value: "c" }] } },
    ],
    comments: [{ id: 1, text: "hi" }, { id: 2, text: "  " }, { id: 3, approval_choice: "approved" }],
  });
  assert.ok(task);
  assert.equal(task.fieldByCode("u_Inner")?.text(), "found");
  assert.equal(task.fieldByName("Inner")?.id, 2);
  assert.equal(task.fieldById(4)?.number(), 5);
  assert.equal(task.fieldByCode("u_Choice")?.text(), "c");
  assert.equal(task.field({ code: "nope" }), undefined);
  assert.deepEqual([...task.allFields()].map((f) => f.id), [1, 2, 3, 4, 5, 6]);
  assert.equal(task.comments().length, 3);
  assert.equal(task.lastComment()?.id, 3);
  assert.equal(task.lastTextComment()?.text(), "hi");
  assert.equal(task.currentStep(), undefined);
});

test("comments read their changes", () => {
  const task = Task.from({
    comments: [{
      id: "10", author: { id: 1 }, reassigned_to: { id: 2 }, approval_choice: "rejected", approval_step: 1,
      field_updates: [{ id: 7, type: "text", value: "x" }], channel: { type: "telegram", to: { id: 1 } },
      approvals_added: [[{ person: { id: 3 } }]], subscribers_added: [{ id: 4 }], attachments: [{ id: 9, name: "f" }],
      action: "finished", added_list_ids: ["11"],
    }],
  });
  const c = task?.lastComment();
  assert.ok(c);
  assert.equal(c.id, 10);
  assert.equal(c.text(), undefined);
  assert.equal(c.reassignedTo?.id, 2);
  assert.equal(c.approvalChoice, "rejected");
  assert.equal(c.fieldUpdates[0]?.text(), "x");
  assert.equal(c.channel?.type, "telegram");
  assert.equal(c.approvalsAdded[0]?.[0]?.person?.id, 3);
  assert.equal(c.subscribersAdded[0]?.id, 4);
  assert.equal(c.attachments[0]?.name, "f");
  assert.equal(c.action, "finished");
  assert.deepEqual(c.addedListIds, [11]);
});
