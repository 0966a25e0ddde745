// Every recorded Pyrus body in ../shared/samples parses, and what a bot reads matches the raw
// JSON (the Rust SDK's sdk/tests/samples.rs, in short). The samples are public data kept
// outside this repository: where the folder is absent the test is skipped, saying so. Point
// PYRUS_SAMPLES_DIR at a copy to run it anywhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { BotRequest, type Field, PluginError, callInfo, handleJson, BotReply } from "../src/index.js";

const dir = process.env.PYRUS_SAMPLES_DIR ?? "";
const bodies: [string, string][] = [];
for (const d of [dir, join(dir, "real")]) {
  if (dir === "" || !existsSync(d)) continue;
  for (const f of readdirSync(d).sort()) {
    if (f.endsWith(".json") || f.endsWith(".txt")) bodies.push([f, readFileSync(join(d, f), "utf8")]);
  }
}
const skip = bodies.length === 0 ? "../shared/samples not found (set PYRUS_SAMPLES_DIR to run this test)" : false;

function checkFields(name: string, fields: Field[], raw: unknown[]): void {
  assert.equal(fields.length, raw.length, `${name}: field count`);
  fields.forEach((f, i) => {
    const r = raw[i] as Record<string, unknown>;
    assert.equal(f.id, r.id === undefined ? undefined : Number(r.id), `${name}: field id`);
    const known = !["", "unknown"].includes(f.type) && f.value.kind !== "unknown";
    // Values of known types are typed, never kept raw (the shapes seen in real traffic fit).
    if (r.value !== undefined && r.value !== null && !["hologram"].includes(f.type)) {
      assert.ok(known || !["text", "money", "number", "date", "catalog", "table", "title", "person"].includes(f.type),
        `${name}: field ${f.id} of type ${f.type} kept as unknown: ${JSON.stringify(r.value).slice(0, 80)}`);
    }
    if (f.value.kind === "title" || f.value.kind === "multiple_choice") {
      checkFields(name, f.value.value.fields, ((r.value as Record<string, unknown>).fields as unknown[]) ?? []);
    }
  });
}

test("every sample parses without loss", { skip }, () => {
  assert.ok(bodies.length >= 15, `expected the shared sample set, found ${bodies.length}`);
  for (const [name, text] of bodies) {
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Not JSON (a body from a library's tests): a 400, never a crash.
      assert.throws(() => BotRequest.parse(text), (e: unknown) => e instanceof PluginError && e.status === 400, name);
      continue;
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) continue;
    const req = BotRequest.parse(text);
    const rawTask = raw.task as Record<string, unknown> | undefined;
    const taskId = raw.task_id ?? rawTask?.id;
    assert.equal(req.taskId(), taskId === undefined ? undefined : Number(taskId), `${name}: task id`);
    if (!rawTask || typeof rawTask !== "object") continue;
    const task = req.task!;
    const email = (rawTask.author as Record<string, unknown> | undefined)?.email;
    assert.equal(task.author?.email(), typeof email === "string" && email.trim() !== "" ? email.trim() : undefined, `${name}: author`);
    const comments = Array.isArray(rawTask.comments) ? rawTask.comments : [];
    assert.equal(task.comments().length, comments.length, `${name}: comments`);
    task.comments().forEach((c, i) => {
      const r = comments[i] as Record<string, unknown>;
      assert.equal(c.textRaw, r.text, `${name}: comment text`);
      checkFields(name, c.fieldUpdates, (r.field_updates as unknown[]) ?? []);
    });
    checkFields(name, task.fields(), Array.isArray(rawTask.fields) ? rawTask.fields : []);
    const last = task.lastTextComment();
    if (last) assert.ok(last.text()!.trim() !== "", name);
    // Every nested field is reachable by the helpers.
    for (const f of task.allFields()) {
      if (f.id !== undefined) assert.ok(task.fieldById(f.id), `${name}: field ${f.id} by id`);
      if (f.code !== undefined) assert.equal(task.fieldByCode(f.code)?.code, f.code);
    }
  }
});

test("a bot answers every sample", { skip }, () => {
  const echoBot = (req: BotRequest) => new BotReply().text(`${req.task?.fields().length ?? 0} fields`);
  for (const [name, text] of bodies) {
    try {
      assert.ok(handleJson(echoBot, callInfo("samples"), text)?.startsWith(`{"text":`), name);
    } catch (e) {
      assert.ok(e instanceof PluginError && e.status === 400, `${name}: ${e}`);
    }
  }
});
