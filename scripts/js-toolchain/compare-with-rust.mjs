// Sends the same signed bodies to Rust plugins and their JS ports on a running pyrus-host and
// compares status and reply: the check that a JS port behaves exactly as the Rust plugin.
//
//   node scripts/js-toolchain/compare-with-rust.mjs BASE SECRET PAIR...
//   PAIR = bot:RUST_BOT:JS_BOT[:JS_BOT...] or ext:RUST_EXT:JS_EXT[:...] (names in the config;
//   every one signed with SECRET). Bot bodies: ../shared/samples (PYRUS_SAMPLES_DIR) and a few
//   made here. Example, with a config serving hello_bot.wasm as hello-rs and hello_bot_js.wasm
//   as hello-js:
//   node scripts/js-toolchain/compare-with-rust.mjs http://127.0.0.1:8080 s3cret bot:hello-rs:hello-js
import { createHmac } from "node:crypto";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
const [base, secret, ...pairs] = process.argv.slice(2);
const samples = process.env.PYRUS_SAMPLES_DIR ?? join(dirname(fileURLToPath(import.meta.url)), "../../../shared/samples");
const botBodies = [];
for (const d of [samples, join(samples, "real")]) {
  if (!existsSync(d)) continue;
  for (const f of readdirSync(d).sort()) if (/\.(json|txt)$/.test(f)) botBodies.push([f, readFileSync(join(d, f))]);
}
for (const [n, b] of Object.entries({
  "empty-object": "{}", "array": "[1]", "not-json": "hello", "empty-email": `{"task":{"id":1,"author":{"id":2,"email":"","first_name":"Bob","last_name":""}}}`,
  "string-ids": `{"task_id":"5"}`, "unicode": `{"task":{"author":{"first_name":"Zoë","last_name":"Ågren 🎉"}}}`,
})) botBodies.push([n, Buffer.from(b)]);
const cred = (l, p) => JSON.stringify({ credentials: [{ code: "login", value: l }, { code: "password", value: p }] });
const extCalls = [
  ["pulse", "GET", ""], ["authorize", "POST", cred("demo", "s3cret")], ["authorize", "POST", cred("demo", "nope")],
  ["authorize", "POST", "[1]"], ["toggle", "POST", `{"account_id":"echo:demo","enabled":false}`],
  ["sendmessage", "POST", `{"account_id":"echo:demo","channel_id":"c1","message_text":"hi"}`],
  ["sendmessage", "POST", `{"account_id":"echo:demo","channel_id":"c1","message_text":"Привет, мир 🎉"}`],
  ["sendmessage", "POST", `{"channel_id":"c1","message_text":" "}`], ["sendmessage", "POST", `{"message_text":"x"}`],
  ["sendmessage", "POST", `{"channel_id":"c1","message_text":"","attachment_ids":[1,"2"]}`],
  ["event", "POST", "{}"], ["createdialog", "POST", "{}"], ["getavailablenumbers", "POST", "{}"],
];
async function call(path, method, body) {
  const sig = createHmac("sha1", secret).update(body).digest("hex");
  const t = performance.now();
  const r = await fetch(base + path, { method, headers: { "X-Pyrus-Sig": sig, "User-Agent": "Pyrus-Bot-4" }, body: method === "GET" ? undefined : body });
  return { status: r.status, text: await r.text(), ms: performance.now() - t };
}
let diffs = 0, same = 0;
const times = {};
for (const pair of pairs) {
  const [kind, rs, ...jss] = pair.split(":");
  const cases = kind === "bot" ? botBodies.map(([n, b]) => [n, `/bots/NAME`, "POST", b]) :
    extCalls.map(([m, verb, b]) => [`${m} ${b.slice(0, 40)}`, `/extensions/NAME/${m}`, verb, Buffer.from(b)]);
  for (const [name, path, verb, body] of cases) {
    const a = await call(path.replace("NAME", rs), verb, body);
    (times[rs] ??= []).push(a.ms);
    for (const js of jss) {
      const b = await call(path.replace("NAME", js), verb, body);
      (times[js] ??= []).push(b.ms);
      let eq = a.status === b.status;
      if (eq && a.text !== b.text) {
        try { eq = JSON.stringify(JSON.parse(a.text)) === JSON.stringify(JSON.parse(b.text)) ? "json-equal" : false; } catch { eq = false; }
      }
      if (eq) same++; else diffs++;
      console.log(`${eq ? (eq === "json-equal" ? "same(json)" : "same") : "DIFF"}  ${rs} vs ${js}  ${name}: ${a.status} ${a.text.slice(0, 100)}${eq ? "" : `\n      js: ${b.status} ${b.text.slice(0, 160)}`}`);
    }
  }
}
const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (const [k, v] of Object.entries(times)) console.log(`${k}: median ${med(v).toFixed(1)} ms over ${v.length} calls`);
console.log(`${same} same, ${diffs} different`);
process.exit(diffs ? 1 : 0);
