//! Plugins written in Python (componentize-py) and TypeScript (jco) against the same WIT,
//! through the real binary: one table of cases run against every language's build of the
//! same example, and the Python SDK's host paths (store, variables, outbound HTTP, errors)
//! and the sandbox from inside a real Python component.

mod support;

use serde_json::{json, Value};
use support::mock::MockServer;
use support::{js_plugins, python_plugins, Host};

const SECRET: &str = "languages-secret";

/// A host serving each `(section, name, wasm, extra config lines)`.
fn host(plugins: &[(&str, &str, &str, &str)]) -> Host {
    let mut config = String::from(
        "[server]\nlisten = \"127.0.0.1:0\"\n[store]\npath = \"{dir}/store.redb\"\n[defaults]\nmemory_mb = 64\ntimeout_ms = 20000\n",
    );
    for (section, name, wasm, extra) in plugins {
        config.push_str(&format!(
            "[{section}.{name}]\nplugin = \"{{plugins}}/{wasm}\"\nsecret = {{ env = \"LANG_SECRET\" }}\n{extra}\n"
        ));
    }
    Host::builder(&config).env("LANG_SECRET", SECRET).start()
}

/// Bots only.
fn bots(bots: &[(&str, &str, &str)]) -> Host {
    let all: Vec<_> = bots.iter().map(|(n, w, e)| ("bots", *n, *w, *e)).collect();
    host(&all)
}

/// What a reply must be: its status and JSON, an error's status and code, or only its
/// status (the body must then equal the first language's).
enum Expect {
    Json(Value),
    Error(u16, &'static str),
    Status(u16),
}

/// Runs every case against every build (`paths[i]` + the case's suffix) and reports all the
/// differences at once: each answer must meet the expectation and equal the first build's
/// (the Rust reference) in status and JSON.
fn check_table(host: &Host, paths: &[&str], cases: &[(&str, &str, Value, Expect)]) {
    let mut failures = Vec::new();
    for (what, suffix, body, expect) in cases {
        let body = match body {
            Value::String(raw) => raw.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        };
        let mut reference: Option<(u16, Option<Value>)> = None;
        for path in paths {
            let reply = host.post_signed(&format!("{path}{suffix}"), SECRET, &body);
            let json = serde_json::from_str::<Value>(&reply.body).ok();
            let ok = match expect {
                Expect::Json(want) => reply.status == 200 && json.as_ref() == Some(want),
                Expect::Error(status, code) => {
                    reply.status == *status
                        && json.as_ref().is_some_and(|v| v["error_code"] == *code)
                }
                Expect::Status(status) => reply.status == *status,
            };
            let same = match &reference {
                None => true,
                // Error messages may word things differently; codes and replies may not.
                Some((status, _)) if matches!(expect, Expect::Error(..)) => *status == reply.status,
                Some(first) => *first == (reply.status, json.clone()),
            };
            if !ok || !same {
                failures.push(format!(
                    "{path}{suffix}, {what}: got {} {}",
                    reply.status, reply.body
                ));
            }
            reference.get_or_insert((reply.status, json));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn hello(text: &str) -> Expect {
    Expect::Json(json!({"text": text, "approval_choice": "approved"}))
}

fn hello_cases() -> Vec<(&'static str, &'static str, Value, Expect)> {
    vec![
        (
            "author with email",
            "",
            json!({"event": "comment", "task_id": 11, "user_id": 3, "access_token": "t",
                   "task": {"id": 11, "author": {"id": 2, "email": "bob@example.com",
                   "first_name": "Bob", "last_name": "Smith"},
                   "comments": [{"id": 3, "author": {"id": 2}}]}}),
            hello("Hello, bob@example.com. This task approved by bot."),
        ),
        (
            "empty email: the name",
            "",
            json!({"task": {"id": 1, "author": {"id": 2, "email": "", "first_name": "Bob", "last_name": ""}}}),
            hello("Hello, Bob. This task approved by bot."),
        ),
        (
            "blank email, first and last name, unicode",
            "",
            json!({"task": {"id": 1, "author": {"id": 2, "email": "  ", "first_name": "Ёжик",
                   "last_name": "В Тумане"}}}),
            hello("Hello, Ёжик В Тумане. This task approved by bot."),
        ),
        (
            "no author",
            "",
            json!({"task_id": "5"}),
            hello("Hello. This task approved by bot."),
        ),
        (
            "author without email or name",
            "",
            json!({"task": {"author": {"id": 2}}}),
            hello("Hello. This task approved by bot."),
        ),
        (
            "ids as strings, nulls and unknown keys",
            "",
            json!({"task_id": "12", "user_id": "4", "new_key": [1, {"x": null}],
                   "task": {"id": "12", "author": {"id": "2", "email": "a@b.c", "first_name": null},
                   "fields": [{"id": "1", "type": "brand_new", "value": {"z": 1}}],
                   "comments": [{"id": "9", "text": null}]}}),
            hello("Hello, a@b.c. This task approved by bot."),
        ),
        (
            "not a JSON object",
            "",
            Value::String("[1, 2]".into()),
            Expect::Error(400, "invalid_json"),
        ),
        (
            "not JSON at all",
            "",
            Value::String("{\"task\": ".into()),
            Expect::Error(400, "invalid_json"),
        ),
    ]
}

#[test]
fn hello_bot_answers_the_same_in_rust_python_and_typescript() {
    python_plugins();
    js_plugins();
    let host = bots(&[
        ("hello-rust", "hello_bot.wasm", ""),
        ("hello-python", "hello_bot_py.wasm", ""),
        ("hello-ts", "hello_bot_js.wasm", ""),
    ]);
    check_table(
        &host,
        &["/bots/hello-rust", "/bots/hello-python", "/bots/hello-ts"],
        &hello_cases(),
    );
}

#[test]
fn echo_extension_answers_the_same_in_rust_and_typescript() {
    js_plugins();
    let settings = r#"settings = '{"login": "demo", "password": "pa55"}'"#;
    let host = host(&[
        ("extensions", "echo-rust", "echo_extension.wasm", settings),
        ("extensions", "echo-ts", "echo_extension_js.wasm", settings),
    ]);
    let creds = |login: &str, password: &str| json!({"credentials": [{"code": "login", "value": login}, {"code": "password", "value": password}]});
    let cases = vec![
        (
            "good credentials",
            "/authorize",
            creds("demo", "pa55"),
            Expect::Json(json!({"account_id": "echo:demo", "account_name": "Echo (demo)"})),
        ),
        (
            "wrong password",
            "/authorize",
            creds("demo", "nope"),
            Expect::Error(400, "bad_credentials"),
        ),
        (
            "toggle",
            "/toggle",
            json!({"account_id": "echo:demo", "enabled": true}),
            Expect::Status(200),
        ),
        (
            "a message",
            "/sendmessage",
            json!({"account_id": "echo:demo", "channel_id": "chat-42", "message_text": "Привет"}),
            Expect::Status(200),
        ),
        (
            "no channel",
            "/sendmessage",
            json!({"message_text": "hi"}),
            Expect::Error(400, "invalid_request"),
        ),
        (
            "an empty message",
            "/sendmessage",
            json!({"channel_id": "c", "message_text": "  "}),
            Expect::Error(400, "invalid_request"),
        ),
        (
            "not implemented",
            "/createdialog",
            json!({}),
            Expect::Error(501, "not_supported"),
        ),
        (
            "a body that is not an object",
            "/sendmessage",
            Value::String("[1]".into()),
            Expect::Error(400, "invalid_json"),
        ),
    ];
    check_table(
        &host,
        &["/extensions/echo-rust", "/extensions/echo-ts"],
        &cases,
    );
}

#[test]
fn copy_field_bot_answers_the_same_in_rust_and_python() {
    python_plugins();
    let settings = r#"settings = '{"SourceFieldCode": "u_Source", "TargetFieldCode": "u_Target"}'"#;
    let host = bots(&[
        ("copy-rust", "copy_field_bot.wasm", settings),
        ("copy-python", "copy_field_bot_py.wasm", settings),
    ]);
    let nested = json!({"user_id": 77, "task": {"id": 1, "fields": [
        {"id": 1, "type": "title", "value": {"fields": [
            {"id": 2, "type": "money", "code": "u_Source", "value": 1365.27}]}},
        {"id": 3, "type": "money", "code": "u_Target"}]}});
    let from_table = json!({"bot_settings": r#"{"SourceFieldCode":"u_In","TargetFieldCode":"u_Out"}"#,
        "task": {"fields": [{"id": 5, "type": "table", "value": [{"row_id": 0, "cells": [
            {"id": 6, "type": "catalog", "code": "u_In", "value": {"item_id": 42, "values": ["x"]}}]}]}]}});
    let cases = vec![
        (
            "nested money value, host settings",
            "",
            nested,
            Expect::Json(json!({"text": "Field value was copied by bot 77.",
                "approval_choice": "approved",
                "field_updates": [{"code": "u_Target", "value": 1365.27}]})),
        ),
        (
            "catalog in a table, bot_settings first",
            "",
            from_table,
            Expect::Json(json!({"text": "Field value was copied by bot.",
                "approval_choice": "approved",
                "field_updates": [{"code": "u_Out", "value": {"item_id": 42}}]})),
        ),
        (
            "checkmark as text",
            "",
            json!({"task": {"fields": [{"id": 2, "type": "checkmark", "code": "u_Source", "value": "checked"}]}}),
            Expect::Json(json!({"text": "Field value was copied by bot.",
                "approval_choice": "approved",
                "field_updates": [{"code": "u_Target", "value": "checked"}]})),
        ),
        (
            "no such field",
            "",
            json!({"task": {"fields": []}}),
            Expect::Json(
                json!({"text": "CopyField bot cannot copy: the task has no field with code u_Source."}),
            ),
        ),
        (
            "a value that cannot be copied",
            "",
            json!({"task": {"fields": [{"id": 2, "type": "table", "code": "u_Source", "value": []}]}}),
            Expect::Json(
                json!({"text": "CopyField bot cannot copy: the value of u_Source cannot be copied (field type table)."}),
            ),
        ),
    ];
    check_table(&host, &["/bots/copy-rust", "/bots/copy-python"], &cases);
}

/// The probe's JSON answer (its comment text).
fn probe(host: &Host, bot: &str, body: Value) -> Value {
    let reply = host.post_signed(&format!("/bots/{bot}"), SECRET, body.to_string().as_bytes());
    assert_eq!(reply.status, 200, "{bot}: {}", reply.body);
    serde_json::from_str(reply.json()["text"].as_str().unwrap()).unwrap()
}

#[test]
fn a_python_plugin_is_denied_files_environment_and_sockets() {
    python_plugins();
    // Something listens, so that a connect could succeed if the sandbox let it out.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let host = bots(&[("sandbox", "probe_py.wasm", "settings = \"sandbox\"")]);
    let out = probe(&host, "sandbox", json!({"port": port}));
    assert!(out["file"]["error"].is_string(), "file: {out}");
    assert!(out["home"]["error"].is_string(), "HOME: {out}");
    assert_eq!(out["env"]["ok"], "{}", "the environment is empty: {out}");
    assert!(out["socket"]["error"].is_string(), "socket: {out}");
    // The root folder is empty or unreadable: no host files.
    assert!(
        out["listdir"]["error"].is_string() || out["listdir"]["ok"] == "[]",
        "listdir: {out}"
    );
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "the plugin reached the socket");
}

#[test]
fn the_python_sdk_reaches_the_store_variables_and_outbound_http_in_the_host() {
    python_plugins();
    let mock = MockServer::start();
    mock.answer(
        "/echo",
        200,
        &[("Content-Type", "application/json")],
        r#"{"pong": true}"#,
    );
    let allowed = format!("http://127.0.0.1:{}", mock.port);
    let url = mock.url("/echo");
    let host = bots(&[
        (
            "state",
            "probe_py.wasm",
            // The same body twice on purpose: two runs, not a retry answered once.
            "settings = \"state\"\nkey_value_stores = [\"default\"]\ndedup_window_s = 0",
        ),
        (
            "vars",
            "probe_py.wasm",
            "settings = \"variables\"\nvariables = { greeting = \"hi there\", other = \"x\" }",
        ),
        (
            "http",
            "probe_py.wasm",
            &format!(
                "settings = \"http\"\nvariables = {{ url = \"{url}\" }}\nallowed_outbound_hosts = [\"{allowed}\"]"
            ),
        ),
    ]);

    let first = probe(&host, "state", json!({}));
    let second = probe(&host, "state", json!({}));
    assert_eq!(first["count"], 1, "{first}");
    assert_eq!(second["count"], 2, "{second}");
    assert_eq!(second["last"], json!({"count": 2, "note": "ünï"}));
    assert_eq!(second["keys"], json!(["calls", "last"]));
    assert_eq!(second["other"]["error"], "StoreError", "{second}");

    let vars = probe(&host, "vars", json!({}));
    assert_eq!(vars["greeting"], "hi there");
    assert_eq!(vars["all"], json!(["greeting", "other"]));
    assert_eq!(vars["missing"]["error"], "PluginError");

    let out = probe(&host, "http", json!({}));
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(out["body"], r#"{"pong": true}"#);
    assert_eq!(out["type"], "application/json");
    assert_eq!(out["denied"]["error"], "HttpError", "{out}");
    let sent = mock.requests();
    assert_eq!(sent.len(), 1, "only the allowed request left the host");
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].body, r#"{"from":"python"}"#);
    assert_eq!(
        sent[0].headers.get("x-probe").map(String::as_str),
        Some("1")
    );
}

#[test]
fn python_failures_become_clean_answers_and_logs_are_escaped() {
    python_plugins();
    let host = bots(&[
        ("raise", "probe_py.wasm", "settings = \"raise\""),
        ("error", "probe_py.wasm", "settings = \"error\""),
        ("log", "probe_py.wasm", "settings = \"log\""),
    ]);
    // An unexpected exception: 500 (Pyrus retries), named but not quoted; the traceback
    // goes to the host log.
    let reply = host.post_signed("/bots/raise", SECRET, b"{}");
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert_eq!(reply.error_code(), "plugin_failed");
    assert!(!reply.body.contains("unexpected failure"), "{}", reply.body);
    host.wait_for_log("an unexpected failure", std::time::Duration::from_secs(10));

    let reply = host.post_signed("/bots/error", SECRET, b"{}");
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.error_code(), "custom_code");
    assert_eq!(reply.json()["error"], "a custom message");

    let reply = host.post_signed("/bots/log", SECRET, b"{}");
    assert_eq!(reply.status, 200, "{}", reply.body);
    host.wait_for_log("first line", std::time::Duration::from_secs(10));
    // The Python message and the traceback arrive escaped: one event each, no control
    // character in them, the newline shown as `\n`.
    let log = host.log();
    let plugin_messages: Vec<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "plugin")
        .filter_map(|l| l["fields"]["message"].as_str().map(str::to_owned))
        .collect();
    let logged = plugin_messages
        .iter()
        .find(|m| m.contains("first line"))
        .expect("the plugin's message is logged");
    assert!(
        logged.contains("first line\\nINFO forged line"),
        "{logged:?}"
    );
    let traceback = plugin_messages
        .iter()
        .find(|m| m.contains("an unexpected failure"))
        .expect("the traceback is logged");
    assert!(traceback.contains("Traceback"), "{traceback:?}");
    for message in &plugin_messages {
        assert!(!message.chars().any(char::is_control), "{message:?}");
    }
}
