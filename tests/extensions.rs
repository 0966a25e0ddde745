//! End-to-end tests of extension webhooks: the real `pyrus-host` binary, real compiled
//! plugins (`echo-extension`, and the test plugin's extension side), real HTTP.

mod support;

use std::sync::OnceLock;

use serde_json::{json, Value};
use support::{Host, Reply};

const ECHO_SECRET: &str = "echo-extension-secret";
const TEST_SECRET: &str = "misbehaving-extension-secret";

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let mut config = String::from(
            r#"
            [server]
            listen = "127.0.0.1:0"

            [extensions.echo]
            plugin = "{plugins}/echo_extension.wasm"
            secret = { env = "E2E_ECHO_SECRET" }
            settings = '{"login": "demo", "password": "s3cret"}'

            [bots.hello]
            plugin = "{plugins}/hello_bot.wasm"
            secret = { env = "E2E_ECHO_SECRET" }
            "#,
        );
        config.push_str(&support::misbehaving(
            "extensions",
            "E2E_TEST_SECRET",
            &[
                ("trap", "trap", ""),
                ("loop", "loop", "timeout_ms = 300"),
                ("info", "info", ""),
                ("not-json", "not-json", ""),
                ("error", "error", ""),
                ("error-422", "error-422", ""),
            ],
        ));
        Host::builder(&config)
            .env("E2E_ECHO_SECRET", ECHO_SECRET)
            .env("E2E_TEST_SECRET", TEST_SECRET)
            .start()
    })
}

fn echo(method: &str, body: &Value) -> Reply {
    host().post_signed(
        &format!("/extensions/echo/{method}"),
        ECHO_SECRET,
        body.to_string().as_bytes(),
    )
}

fn credentials(login: &str, password: &str) -> Value {
    json!({"credentials": [{"code": "login", "value": login}, {"code": "password", "value": password}]})
}

#[test]
fn pulse_answers_with_or_without_a_signature_but_not_a_wrong_one() {
    let r = host().get("/extensions/echo/pulse");
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    let sig = support::sign(ECHO_SECRET, b"");
    let r = host().get_with("/extensions/echo/pulse", &[("X-Pyrus-Sig", &sig)]);
    assert_eq!(r.status, 200);
    let wrong = support::sign("another key", b"");
    let r = host().get_with("/extensions/echo/pulse", &[("X-Pyrus-Sig", &wrong)]);
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "invalid_signature");
}

#[test]
fn authorize_checks_credentials() {
    let r = echo("authorize", &credentials("demo", "s3cret"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({"account_id": "echo:demo", "account_name": "Echo (demo)"})
    );

    let r = echo("authorize", &credentials("demo", "hunter2-typo"));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error_code(), "bad_credentials");
    // The password the user typed is not echoed back.
    assert!(!r.body.contains("hunter2"));
}

#[test]
fn toggle_and_sendmessage_are_served() {
    let r = echo(
        "toggle",
        &json!({"account_id": "echo:demo", "enabled": false, "deleted": false}),
    );
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    host().wait_for_log(
        "account echo:demo disabled",
        std::time::Duration::from_secs(5),
    );

    let message = json!({"account_id": "echo:demo", "channel_id": "chat-1",
                         "message_text": "Hello from Pyrus", "attachment_ids": [101, 102],
                         "credentials": [{"code": "login", "value": "demo"}]});
    let first = echo("sendmessage", &message);
    assert_eq!(first.status, 200, "{}", first.body);
    let id = first.json()["message_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("echo-"), "{id}");
    assert_eq!(
        echo("sendmessage", &message).json()["message_id"],
        id.as_str()
    );

    let r = echo(
        "sendmessage",
        &json!({"channel_id": "chat-1", "message_text": ""}),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "invalid_request");
}

#[test]
fn unimplemented_methods_answer_not_supported() {
    for method in ["event", "createdialog", "getavailablenumbers"] {
        let r = echo(method, &json!({"account_id": "echo:demo"}));
        assert_eq!(r.status, 501, "{method}: {}", r.body);
        assert_eq!(r.error_code(), "not_supported", "{method}");
    }
}

#[test]
fn every_method_reaches_the_matching_export() {
    for (method, function) in [
        ("authorize", "authorize"),
        ("toggle", "toggle"),
        ("event", "event"),
        ("sendmessage", "send-message"),
        ("createdialog", "create-dialog"),
        ("getavailablenumbers", "get-available-numbers"),
    ] {
        let body = json!({"account_id": "a1", "method": method}).to_string();
        let sig = support::sign(TEST_SECRET, body.as_bytes());
        let r = host().post(
            &format!("/extensions/info/{method}"),
            body.as_bytes(),
            &[
                ("X-Pyrus-Sig", &sig),
                ("X-Pyrus-Retry", "2/3"),
                ("User-Agent", "Pyrus-Extensions-1"),
            ],
        );
        assert_eq!(r.status, 200, "{method}: {}", r.body);
        let info = r.json();
        assert_eq!(info["function"], function);
        assert_eq!(
            info["request"],
            body.as_str(),
            "the body reached the plugin intact"
        );
        assert_eq!(
            (info["attempt"].as_u64(), info["max_attempts"].as_u64()),
            (Some(2), Some(3))
        );
        assert_eq!(info["user_agent"], "Pyrus-Extensions-1");
        assert_eq!(info["name"], "info");
    }
    let r = host().get("/extensions/info/pulse");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["function"], "pulse");
}

#[test]
fn refusals_have_the_right_status() {
    let body = json!({"account_id": "a1"});
    // Unknown method, unknown extension, POST to pulse.
    let r = echo("sendsmoke", &body);
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "unknown_method");
    let r = host().post_signed("/extensions/nobody/toggle", ECHO_SECRET, b"{}");
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "unknown_extension");
    let r = echo("pulse", &body);
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.error_code(), "method_not_allowed");
    // Signatures: missing, wrong, another extension's key.
    let r = host().post("/extensions/echo/toggle", b"{}", &[]);
    assert_eq!(r.status, 403);
    let r = host().post_signed("/extensions/echo/toggle", TEST_SECRET, b"{}");
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "invalid_signature");
    // Signed but not a JSON object.
    let r = host().post_signed("/extensions/echo/toggle", ECHO_SECRET, b"[true]");
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "invalid_json");
}

#[test]
fn plugin_failures_map_to_statuses() {
    for (name, status, code) in [
        ("trap", 500, "plugin_trapped"),
        ("loop", 500, "plugin_timeout"),
        ("not-json", 500, "invalid_plugin_reply"),
        ("error", 400, "deliberate_failure"),
        ("error-422", 422, "unprocessable"),
    ] {
        let r = host().post_signed(
            &format!("/extensions/{name}/sendmessage"),
            TEST_SECRET,
            b"{}",
        );
        assert_eq!(r.status, status, "{name}: {}", r.body);
        assert_eq!(r.error_code(), code, "{name}");
        assert_eq!(
            echo("toggle", &json!({"enabled": true})).status,
            200,
            "after {name}"
        );
    }
    // A bot on the same host is untouched.
    let r = host().post_signed("/bots/hello", ECHO_SECRET, b"{}");
    assert_eq!(r.status, 200);
}

#[test]
fn healthz_lists_extensions() {
    let h = host().health().json();
    let names: Vec<&str> = h["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"echo") && names.contains(&"info"),
        "{names:?}"
    );
}

/// A component of the wrong world is refused with the world it lacks and the config key:
/// by `pyrus-host check` (which also fills the compile cache), at start when the cache has
/// it (the host does not start), and, when it compiles in the background after the host
/// listens, on `/healthz` (degraded, with the reason for the admin) and with a 503 for its
/// calls, while the other plugins serve.
#[test]
fn a_component_of_the_wrong_world_is_refused_at_load() {
    for (section, file, world) in [
        ("extensions", "hello_bot.wasm", "extension-plugin"),
        ("bots", "echo_extension.wasm", "bot-plugin"),
    ] {
        let config = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ncache_dir = \"{{dir}}/cache\"\n\
             [{section}.x]\nplugin = \"{{plugins}}/{file}\"\nsecret = {{ env = \"S\" }}\n\
             [bots.hello]\nplugin = \"{{plugins}}/hello_bot.wasm\"\nsecret = {{ env = \"S\" }}\n"
        );
        // A cold cache: the host listens, then finds the problem in the background.
        let builder = Host::builder(&config).env("S", "k");
        let host = builder.start();
        let health = host.health().json();
        assert_eq!(health["status"], "degraded", "{health}");
        let x = format!("{section}.x");
        let error = health["load_errors"][&x]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(error.contains(world), "{health}");
        let log = host.log();
        assert!(
            log.contains(world) && log.contains(&format!("{x}.plugin")),
            "{log}"
        );
        let path = if section == "bots" {
            "/bots/x".to_string()
        } else {
            "/extensions/x/event".into()
        };
        let r = host.post_signed(&path, "k", b"{}");
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.error_code(), "plugin_not_loaded", "{}", r.body);
        assert_eq!(host.post_signed("/bots/hello", "k", b"{}").status, 200);
        drop(host);

        // `check` says why and fills the cache; a start from that cache refuses at once.
        let (dir, config_path) = Host::builder(&config).env("S", "k").prepare();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pyrus-host"))
            .args(["check", "--config"])
            .arg(&config_path)
            .env("S", "k")
            .env("PYRUS_TEST_ADMIN_TOKEN", support::TEST_ADMIN_TOKEN)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success() && stdout.contains(world), "{stdout}");
        let cached = std::fs::read_dir(dir.path().join("cache"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert!(cached >= 1, "check filled no cache");
        let (code, stderr) = Host::builder(&config)
            .env("S", "k")
            .start_expecting_failure_in(dir);
        assert_ne!(code, 0);
        assert!(
            stderr.contains(world) && stderr.contains(&format!("{x}.plugin")),
            "{stderr}"
        );
    }
}
