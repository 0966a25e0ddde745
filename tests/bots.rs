//! End-to-end tests of bot webhooks: the real `pyrus-host` binary, real compiled plugins,
//! real HTTP.

mod support;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{fixture, Host, Reply};

const HELLO_SECRET: &str = "This-is-bot-secret-key";
const COPY_SECRET: &str = "copy-field-secret";
const TEST_SECRET: &str = "misbehaving-secret";

/// One host for the tests that do not need a config of their own. Its bots cover every
/// behaviour of the test plugin.
fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let mut config = String::from(
            r#"
            [server]
            listen = "127.0.0.1:0"
            max_body_bytes = 4_194_304

            [defaults]
            timeout_ms = 5_000
            memory_mb = 32

            [bots.hello]
            plugin = "{plugins}/hello_bot.wasm"
            secret = { env = "E2E_HELLO_SECRET" }

            [bots.copy]
            plugin = "{plugins}/copy_field_bot.wasm"
            secret = { file = "copy.secret" }
            "#,
        );
        config.push_str(&support::misbehaving(
            "bots",
            "E2E_TEST_SECRET",
            &[
                ("trap", "trap", ""),
                ("loop", "loop", "timeout_ms = 300"),
                ("sleep", "sleep", "timeout_ms = 300"),
                ("memory", "memory", "memory_mb = 16"),
                ("stack", "stack", ""),
                ("recurse", "recurse", ""),
                ("not-json", "not-json", ""),
                ("json-array", "json-array", ""),
                ("nothing", "nothing", ""),
                ("error", "error", ""),
                ("error-422", "error-422", ""),
                ("echo", "echo", "max_reply_kb = 8192"),
                // Delivered again and again with other headers: each delivery must run it.
                ("info", "info", "dedup_window_s = 0"),
            ],
        ));
        Host::builder(&config)
            .env("E2E_HELLO_SECRET", HELLO_SECRET)
            .env("E2E_TEST_SECRET", TEST_SECRET)
            .file("copy.secret", format!("{COPY_SECRET}\n"))
            .start()
    })
}

fn hello(body: &[u8]) -> Reply {
    host().post_signed("/bots/hello", HELLO_SECRET, body)
}

#[test]
fn hello_bot_greets_the_author_and_approves() {
    let r = hello(&fixture("comment-event.json"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({"text": "Hello, bob@example.com. This task approved by bot.", "approval_choice": "approved"})
    );
}

#[test]
fn hello_bot_survives_minimal_bodies() {
    for body in [
        r#"{"event":"test"}"#,
        r#"{"event":"task_received","task_id":"42"}"#,
        r#"{"task":{"id":1,"author":{"id":2,"email":""},"comments":[{"id":3}]}}"#,
    ] {
        let r = hello(body.as_bytes());
        assert_eq!(r.status, 200, "{body}: {}", r.body);
        assert_eq!(r.json()["approval_choice"], "approved");
    }
}

#[test]
fn signature_is_accepted_in_every_form_pyrus_uses() {
    let body = fixture("comment-event.json");
    let sig = support::sign(HELLO_SECRET, &body);
    for form in [
        sig.clone(),
        sig.to_uppercase(),
        format!("  {sig} "),
        format!("sha1={sig}"),
    ] {
        let r = host().post("/bots/hello", &body, &[("X-Pyrus-Sig", &form)]);
        assert_eq!(r.status, 200, "{form:?}: {}", r.body);
    }
}

#[test]
fn bad_signatures_are_refused_before_the_plugin_runs() {
    let body = br#"{"task_id": 777001}"#;
    let good = support::sign(TEST_SECRET, body);
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("missing", vec![]),
        ("empty", vec![("X-Pyrus-Sig", String::new())]),
        (
            "wrong",
            vec![("X-Pyrus-Sig", support::sign(TEST_SECRET, b"other body"))],
        ),
        (
            "other bot's secret",
            vec![("X-Pyrus-Sig", support::sign(HELLO_SECRET, body))],
        ),
        ("truncated", vec![("X-Pyrus-Sig", good[..39].to_string())]),
        ("not hex", vec![("X-Pyrus-Sig", "z".repeat(40))]),
    ];
    for (what, headers) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = host().post("/bots/info", body, &headers);
        assert_eq!(r.status, 403, "{what}: {}", r.body);
        assert_eq!(r.error_code(), "invalid_signature", "{what}");
    }
    // The body was signed with another key: the plugin (which logs every call it gets)
    // must never have run for it.
    let ok = host().post_signed("/bots/info", TEST_SECRET, br#"{"task_id": 777002}"#);
    assert_eq!(ok.status, 200);
    host().wait_for_log("777002", Duration::from_secs(5));
    let log = host().log();
    let plugin_ran_for_rejected = log
        .lines()
        .any(|l| l.contains("777001") && l.contains("info call for"));
    assert!(
        !plugin_ran_for_rejected,
        "the plugin ran for an unsigned body"
    );
}

#[test]
fn unknown_bots_and_routes_are_404_with_an_error_body() {
    let r = host().post_signed("/bots/nobody", HELLO_SECRET, b"{}");
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "unknown_bot");
    let r = host().post("/nowhere", b"{}", &[]);
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "not_found");
    let r = host().get("/bots/hello");
    assert_eq!(r.status, 405);
    assert_eq!(r.error_code(), "method_not_allowed");
}

#[test]
fn paths_that_do_not_decode_get_a_json_error() {
    for (path, get) in [
        ("/bots/%ff", false),
        ("/extensions/%ff/authorize", false),
        ("/extensions/ok/%ff", false),
        ("/extensions/%ff/pulse", true),
    ] {
        let r = if get {
            host().get(path)
        } else {
            host().post(path, b"{}", &[])
        };
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.error_code(), "invalid_path", "{path}");
    }
}

#[test]
fn names_from_the_url_cannot_forge_log_lines() {
    // A newline and an escape sequence in the name, percent-encoded as an attacker would.
    let r = host().post(
        "/bots/a%0A2026-12-01T00:00:00Z%20%20WARN%20forged%1B%5B31m",
        b"{}",
        &[],
    );
    assert_eq!(r.status, 404);
    assert!(
        !r.body.contains('\n') && !r.body.contains('\u{1b}'),
        "{}",
        r.body
    );
    host().wait_for_log("forged", std::time::Duration::from_secs(5));
    let log = host().log();
    let line = log.lines().find(|l| l.contains("forged")).unwrap();
    let json: serde_json::Value = serde_json::from_str(line).unwrap();
    let name = json["span"]["bot"].as_str().unwrap();
    assert!(!name.chars().any(char::is_control), "{name:?}");
    assert!(name.starts_with("a\\n2026"), "{name:?}");
}

#[test]
fn bodies_over_two_megabytes_pass_and_over_the_limit_get_413() {
    // On-premise Pyrus sends bodies over 2 MB; this host's limit is 4 MiB.
    let filler = "x".repeat(3 << 20);
    let body = json!({"task_id": 1, "task": {"id": 1, "text": filler}}).to_string();
    let r = host().post_signed("/bots/echo", TEST_SECRET, body.as_bytes());
    assert_eq!(r.status, 200, "{}", &r.body[..r.body.len().min(200)]);
    // The plugin saw the body byte for byte.
    assert_eq!(r.json()["text"].as_str(), Some(body.as_str()));

    // Past the limit the host answers at once from Content-Length, without reading the body
    // (so a raw connection that never sends it gets the answer).
    let sig = support::sign(TEST_SECRET, b"");
    let r = host().raw_request(&format!(
        "POST /bots/echo HTTP/1.1\r\nHost: x\r\nX-Pyrus-Sig: {sig}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        5 << 20
    ));
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    assert!(r.contains(r#""error_code":"body_too_large""#), "{r}");
}

#[test]
fn signed_bodies_that_are_not_json_objects_get_400() {
    for (body, code) in [
        (&b"not json{{{"[..], "invalid_json"),
        (&b"[1, 2]"[..], "invalid_json"),
        (&b""[..], "invalid_json"),
        (&b"{\"task_id\": \xff}"[..], "invalid_body"),
        (
            &br#"{"TaskId": 123456, "Text": "Approved by bot.", "ApprovalChoice": "Approved"}"#[..],
            "unsupported_protocol",
        ),
    ] {
        let r = host().post_signed("/bots/hello", HELLO_SECRET, body);
        assert_eq!(
            r.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(body),
            r.body
        );
        assert_eq!(r.error_code(), code);
    }
}

#[test]
fn retry_header_user_agent_and_settings_reach_the_plugin() {
    let body = br#"{"task_id": 5}"#;
    let sig = support::sign(TEST_SECRET, body);
    for (retry, attempt, max) in [
        (Some("2/3"), 2, json!(3)),
        (Some("3/3"), 3, json!(3)),
        (Some("2"), 2, Value::Null),
        (Some("0"), 1, Value::Null),
        (Some("4/3"), 4, Value::Null),
        (Some("garbage"), 1, Value::Null),
        (None, 1, Value::Null),
    ] {
        let mut headers = vec![("X-Pyrus-Sig", sig.as_str()), ("User-Agent", "Pyrus-Bot-4")];
        if let Some(retry) = retry {
            headers.push(("X-Pyrus-Retry", retry));
        }
        let r = host().post("/bots/info", body, &headers);
        assert_eq!(r.status, 200, "{}", r.body);
        let info = r.json();
        assert_eq!(info["attempt"], attempt, "{retry:?}");
        assert_eq!(info["max_attempts"], max, "{retry:?}");
        assert_eq!(info["user_agent"], "Pyrus-Bot-4");
        assert_eq!(info["name"], "info");
        assert_eq!(info["settings"], "info");
    }
}

#[test]
fn plugin_failures_fail_only_that_call_with_a_clear_error() {
    let body = br#"{"task_id": 1}"#;
    for (bot, status, code) in [
        ("trap", 500, "plugin_trapped"),
        ("loop", 500, "plugin_timeout"),
        ("sleep", 500, "plugin_timeout"),
        ("memory", 500, "plugin_out_of_memory"),
        ("stack", 500, "plugin_stack_overflow"),
        ("recurse", 500, "plugin_trapped"),
        ("not-json", 500, "invalid_plugin_reply"),
        ("json-array", 500, "invalid_plugin_reply"),
        ("error", 500, "deliberate_failure"),
        ("error-422", 422, "unprocessable"),
    ] {
        let started = Instant::now();
        let r = host().post_signed(&format!("/bots/{bot}"), TEST_SECRET, body);
        assert_eq!(r.status, status, "{bot}: {}", r.body);
        assert_eq!(r.error_code(), code, "{bot}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{bot} was not stopped by its limit"
        );
        // The host survived and other bots answer.
        assert_eq!(hello(b"{}").status, 200, "after {bot}");
    }
    let r = host().post_signed("/bots/nothing", TEST_SECRET, body);
    assert_eq!((r.status, r.body.as_str()), (200, ""));
}

#[test]
fn failures_are_logged_with_plugin_and_cause_and_no_secrets() {
    let body = fixture("comment-event.json");
    assert_eq!(
        host().post_signed("/bots/trap", TEST_SECRET, &body).status,
        500
    );
    assert_eq!(
        host()
            .post_signed("/bots/memory", TEST_SECRET, &body)
            .status,
        500
    );
    assert_eq!(hello(&body).status, 200);
    host().wait_for_log("out_of_memory", Duration::from_secs(5));
    let log = host().log();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let failed = |bot: &str, outcome: &str| {
        lines.iter().any(|l| {
            l["span"]["bot"] == bot
                && l["fields"]["outcome"] == outcome
                && l["span"]["task_id"] == "4242"
                && l["fields"]["cause"].as_str().is_some_and(|c| !c.is_empty())
        })
    };
    assert!(
        failed("trap", "trap"),
        "no trap line naming the bot and cause:\n{log}"
    );
    assert!(failed("memory", "out_of_memory"), "no memory line:\n{log}");
    for secret in [
        HELLO_SECRET,
        TEST_SECRET,
        COPY_SECRET,
        "fixture-token-never-logged",
    ] {
        assert!(!log.contains(secret), "{secret} leaked into the log");
    }
}

#[test]
fn looping_plugins_do_not_stall_other_bots() {
    // Two looping calls would pin both worker threads of a 2-core machine if the host did
    // not make plugins yield; hello calls must keep being answered meanwhile.
    let loops: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| host().post_signed("/bots/loop", TEST_SECRET, b"{}").status))
        .collect();
    let mut ok = 0;
    for _ in 0..20 {
        let r = hello(&fixture("comment-event.json"));
        assert_eq!(r.status, 200, "{}", r.body);
        ok += 1;
    }
    for l in loops {
        assert_eq!(l.join().unwrap(), 500);
    }
    assert_eq!(ok, 20);
}

#[test]
fn copy_field_bot_copies_from_bot_settings() {
    let mut body: Value = serde_json::from_slice(&fixture("comment-event.json")).unwrap();
    body["bot_settings"] =
        json!(r#"{"SourceFieldCode": "u_NeededBy", "TargetFieldCode": "u_Target"}"#);
    let r = host().post_signed("/bots/copy", COPY_SECRET, body.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({
            "text": "Field value was copied by bot 9001.",
            "approval_choice": "approved",
            "field_updates": [{"code": "u_Target", "value": "2026-02-01"}]
        })
    );
    // The copy bot's key is its own: hello's key does not open it.
    let r = host().post_signed("/bots/copy", HELLO_SECRET, body.to_string().as_bytes());
    assert_eq!(r.status, 403);
}

#[test]
fn healthz_lists_the_loaded_bots() {
    let r = host().health();
    assert_eq!(r.status, 200);
    let h = r.json();
    assert_eq!(h["status"], "ok");
    let names: Vec<&str> = h["bots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"hello") && names.contains(&"copy"),
        "{names:?}"
    );
    assert!(!r.body.contains(HELLO_SECRET) && !r.body.contains(COPY_SECRET));
}

#[test]
fn every_recorded_pyrus_sample_is_answered() {
    let Some(dir) = support::shared_samples() else {
        eprintln!("SKIPPED: ../shared/samples not found (set PYRUS_SAMPLES_DIR to run this test)");
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .chain(std::fs::read_dir(dir.join("real")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "only {} samples", files.len());
    for path in files {
        let body = std::fs::read(&path).unwrap();
        let raw: Value = serde_json::from_slice(&body).unwrap();
        let r = hello(&body);
        assert_eq!(r.status, 200, "{}: {}", path.display(), r.body);
        let reply = r.json();
        assert_eq!(reply["approval_choice"], "approved", "{}", path.display());
        let text = reply["text"].as_str().unwrap();
        match raw["task"]["author"]["email"]
            .as_str()
            .filter(|e| !e.is_empty())
        {
            Some(email) => assert_eq!(text, format!("Hello, {email}. This task approved by bot.")),
            None => assert!(text.starts_with("Hello"), "{text}"),
        }
    }
    // The official CopyField demo runners send no task; with one added, the copy works.
    for name in [
        "examples_aws-copyfield_demorunner.json",
        "examples_yandex-copyfield_demorunner_string-ids.json",
    ] {
        let body = std::fs::read(dir.join(name)).unwrap();
        let r = host().post_signed("/bots/copy", COPY_SECRET, &body);
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert!(r.json()["text"]
            .as_str()
            .unwrap()
            .contains("no field with code u_Source"));
        let mut with_task: Value = serde_json::from_slice(&body).unwrap();
        with_task["task"] = json!({"id": 123456789, "fields": [
            {"id": 1, "type": "text", "code": "u_Source", "value": "text copied from u_Source"},
            {"id": 2, "type": "text", "code": "u_Target"}]});
        let r = host().post_signed("/bots/copy", COPY_SECRET, with_task.to_string().as_bytes());
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(
            r.json(),
            json!({"text": "Field value was copied by bot 123456.", "approval_choice": "approved",
                   "field_updates": [{"code": "u_Target", "value": "text copied from u_Source"}]})
        );
    }
    // The pyrusapi-go fixture is signed in that SDK's test with key `security_key`, UPPERCASE.
    let body = std::fs::read(dir.join("pyrusapi-go_testdata_event.json")).unwrap();
    let sig = support::sign(HELLO_SECRET, &body).to_uppercase();
    let r = host().post("/bots/hello", &body, &[("X-Pyrus-Sig", &sig)]);
    assert_eq!(r.status, 200);
    // The help center's invalid-JSON reply sample and the not-JSON body both get 400.
    let body = std::fs::read(dir.join("aiopyrus_invalid-json.txt")).unwrap();
    assert_eq!(hello(&body).status, 400);
}

#[test]
fn config_errors_name_the_key_and_stop_the_host() {
    let cases = [
        (
            "[bots.a]\nplugin = \"{plugins}/hello_bot.wasm\"\n",
            "bots.a.secret",
        ),
        (
            "[bots.a]\nplugin = \"{plugins}/hello_bot.wasm\"\nsecret = { env = \"E2E_SURELY_UNSET\" }\n",
            "E2E_SURELY_UNSET",
        ),
        (
            "[bots.a]\nplugin = \"{dir}/missing.wasm\"\nsecret = { env = \"E2E_SET\" }\n",
            "bots.a.plugin",
        ),
        (
            "[bots.a]\nplugin = \"{dir}/host.toml\"\nsecret = { env = \"E2E_SET\" }\n",
            "not a WebAssembly component",
        ),
        ("[server]\nlisten = \"127.0.0.1:0\"\ntypo = 1\n", "typo"),
    ];
    for (config, needle) in cases {
        let (code, stderr) = Host::builder(config)
            .env("E2E_SET", "x")
            .start_expecting_failure();
        assert_ne!(code, 0, "{config}");
        assert!(
            stderr.contains(needle),
            "{config}: {needle:?} not in:\n{stderr}"
        );
        assert!(
            stderr.contains("host.toml"),
            "the error does not name the file:\n{stderr}"
        );
    }
}

#[test]
fn sign_prints_the_signature_with_only_that_bots_secret_available() {
    let (dir, config) = Host::builder(
        "[bots.hello]\nplugin = \"{plugins}/hello_bot.wasm\"\nsecret = { file = \"hello.key\" }\n\
         [bots.other]\nplugin = \"{plugins}/hello_bot.wasm\"\nsecret = { env = \"E2E_UNSET_FOR_SIGN\" }\n",
    )
    .file("hello.key", format!("{HELLO_SECRET}\n"))
    .without_admin_token()
    .prepare();
    let body = dir.path().join("body.json");
    std::fs::write(&body, fixture("comment-event.json")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pyrus-host"))
        .args(["sign", "--config"])
        .arg(&config)
        .arg("hello")
        .arg(&body)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        support::sign(HELLO_SECRET, &fixture("comment-event.json"))
    );
    // The other bot's secret is not there: signing for it names the key.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pyrus-host"))
        .args(["sign", "--config"])
        .arg(&config)
        .arg("other")
        .arg(&body)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bots.other.secret"));
}
