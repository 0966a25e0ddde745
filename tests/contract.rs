//! End-to-end tests of the plugin contract's versions: components built against the
//! released `pyrus:plugin@0.1.0` (kept prebuilt in tests/fixtures/contract-0.1.0, rebuilt by
//! scripts/build-contract-fixtures) answer through today's host exactly as before, beside
//! 0.2.0 plugins; a 0.2.0 extension that implements only `/sendmessage` loads and declines
//! the rest with 501; and a component that fits no version is refused with what it exports.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};
use support::{fixture, Host};

const SECRET: &str = "contract-test-secret";

fn fixtures() -> PathBuf {
    support::repo().join("tests/fixtures/contract-0.1.0")
}

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let config = format!(
            r#"
            [server]
            listen = "127.0.0.1:0"

            [bots.hello-0-1]
            plugin = "{old}/hello_bot.wasm"
            secret = {{ env = "CONTRACT_SECRET" }}

            [bots.hello]
            plugin = "{{plugins}}/hello_bot.wasm"
            secret = {{ env = "CONTRACT_SECRET" }}

            [extensions.echo-0-1]
            plugin = "{old}/echo_extension.wasm"
            secret = {{ env = "CONTRACT_SECRET" }}
            settings = '{{"login": "demo", "password": "s3cret"}}'

            [extensions.echo-before-inbound]
            plugin = "{old}/echo_extension_before_inbound.wasm"
            secret = {{ env = "CONTRACT_SECRET" }}
            settings = '{{"login": "demo", "password": "s3cret"}}'

            [extensions.echo-0-1-inbound]
            plugin = "{old}/echo_extension.wasm"
            secret = {{ env = "CONTRACT_SECRET" }}
            inbound = true

            [extensions.echo]
            plugin = "{{plugins}}/echo_extension.wasm"
            secret = {{ env = "CONTRACT_SECRET" }}
            settings = '{{"login": "demo", "password": "s3cret"}}'

            [extensions.sender]
            plugin = "{{plugins}}/sendmessage_only.wasm"
            secret = {{ env = "CONTRACT_SECRET" }}
            "#,
            old = fixtures().display()
        );
        Host::builder(&config)
            .env("CONTRACT_SECRET", SECRET)
            .start()
    })
}

fn post(path: &str, body: &Value) -> support::Reply {
    host().post_signed(path, SECRET, body.to_string().as_bytes())
}

fn credentials(login: &str, password: &str) -> Value {
    json!({"credentials": [{"code": "login", "value": login}, {"code": "password", "value": password}]})
}

#[test]
fn a_bot_built_for_0_1_0_answers_as_the_current_one() {
    let body = fixture("comment-event.json");
    let old = host().post_signed("/bots/hello-0-1", SECRET, &body);
    let new = host().post_signed("/bots/hello", SECRET, &body);
    assert_eq!(old.status, 200, "{}", old.body);
    assert_eq!(
        old.json(),
        json!({"text": "Hello, bob@example.com. This task approved by bot.", "approval_choice": "approved"})
    );
    assert_eq!(old.json(), new.json());
    // Refusals are the host's, whatever the version.
    let r = host().post("/bots/hello-0-1", &body, &[("X-Pyrus-Sig", "00")]);
    assert_eq!(r.status, 403);
}

#[test]
fn extensions_built_for_0_1_0_answer_every_webhook_as_before() {
    for name in ["echo-0-1", "echo-before-inbound", "echo"] {
        let base = format!("/extensions/{name}");
        let r = host().get(&format!("{base}/pulse"));
        assert_eq!((r.status, r.body.as_str()), (200, ""), "{name}");

        let r = post(&format!("{base}/authorize"), &credentials("demo", "s3cret"));
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(
            r.json(),
            json!({"account_id": "echo:demo", "account_name": "Echo (demo)"}),
            "{name}"
        );
        let r = post(&format!("{base}/authorize"), &credentials("demo", "wrong"));
        assert_eq!(
            (r.status, r.error_code()),
            (400, "bad_credentials".into()),
            "{name}"
        );

        let message = json!({"account_id": "echo:demo", "channel_id": "chat-1",
                             "message_text": "Hello from Pyrus",
                             "credentials": [{"code": "login", "value": "demo"}]});
        let r = post(&format!("{base}/sendmessage"), &message);
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert!(
            r.json()["message_id"]
                .as_str()
                .unwrap()
                .starts_with("echo-"),
            "{name}: {}",
            r.body
        );

        let r = post(
            &format!("{base}/createdialog"),
            &json!({"account_id": "echo:demo"}),
        );
        assert_eq!(
            (r.status, r.error_code()),
            (501, "not_supported".into()),
            "{name}"
        );
    }
}

#[test]
fn inbound_calls_reach_a_0_1_0_extension_only_when_enabled() {
    // The 0.1.0 SDK's default `inbound` declines with its own 404 `not_supported`: that
    // answer proves the call reached the plugin's 0.1.0 `inbound` export.
    let r = host().post("/extensions/echo-0-1-inbound/inbound/hook?x=1", b"{}", &[]);
    assert_eq!(
        (r.status, r.error_code()),
        (404, "not_supported".into()),
        "{}",
        r.body
    );
    // Not enabled in the config: the host answers, the plugin never runs.
    let r = host().post("/extensions/echo-0-1/inbound/hook", b"{}", &[]);
    assert_eq!(
        (r.status, r.error_code()),
        (404, "unknown_inbound".into()),
        "{}",
        r.body
    );
}

#[test]
fn an_extension_that_only_sends_messages_declines_the_rest_with_501() {
    let r = post(
        "/extensions/sender/sendmessage",
        &json!({"account_id": "a", "channel_id": "c", "message_text": "hi"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"sent": true}));
    for method in [
        "authorize",
        "toggle",
        "event",
        "createdialog",
        "getavailablenumbers",
    ] {
        let r = post(&format!("/extensions/sender/{method}"), &json!({}));
        assert_eq!(r.status, 501, "{method}: {}", r.body);
        assert_eq!(r.error_code(), "not_supported", "{method}");
    }
    let r = host().get("/extensions/sender/pulse");
    assert_eq!((r.status, r.error_code()), (501, "not_supported".into()));
}

#[test]
fn healthz_names_the_contract_each_plugin_targets() {
    let h: Value = host().health().json();
    let contract = |section: &str, name: &str| {
        h[section]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {h}"))["contract"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        contract("bots", "hello-0-1"),
        "pyrus:plugin/bot-plugin@0.1.0"
    );
    assert_eq!(contract("bots", "hello"), "pyrus:plugin/bot-plugin@0.2.0");
    assert_eq!(
        contract("extensions", "echo-0-1"),
        "pyrus:plugin/extension-plugin@0.1.0"
    );
    assert_eq!(
        contract("extensions", "sender"),
        "pyrus:plugin/extension-plugin@0.2.0"
    );
}

fn check(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let text = config
        .replace("{plugins}", &support::plugins().display().to_string())
        .replace("{old}", &fixtures().display().to_string());
    let path = dir.path().join("host.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pyrus-host"))
        .args(["check", "--config"])
        .arg(&path)
        .env("CONTRACT_SECRET", SECRET)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn check_names_each_plugins_contract_and_what_does_not_fit() {
    let (code, out) = check(
        r#"
        [bots.old]
        plugin = "{old}/hello_bot.wasm"
        secret = { env = "CONTRACT_SECRET" }
        [extensions.relay]
        plugin = "{plugins}/relay_extension.wasm"
        secret = { env = "CONTRACT_SECRET" }
        inbound = true
        "#,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("world pyrus:plugin/bot-plugin@0.1.0"), "{out}");
    assert!(
        out.contains("world pyrus:plugin/extension-inbound-plugin@0.2.0"),
        "{out}"
    );

    let (code, out) = check(
        r#"
        [bots.ext]
        plugin = "{plugins}/sendmessage_only.wasm"
        secret = { env = "CONTRACT_SECRET" }
        [extensions.no-inbound]
        plugin = "{plugins}/sendmessage_only.wasm"
        secret = { env = "CONTRACT_SECRET" }
        inbound = true
        [extensions.old-no-inbound]
        plugin = "{old}/echo_extension_before_inbound.wasm"
        secret = { env = "CONTRACT_SECRET" }
        inbound = true
        "#,
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("bots.ext.plugin")
            && out.contains("it exports pyrus:plugin/extension@0.2.0")
            && out.contains("pyrus:plugin/bot@0.1.0 or pyrus:plugin/bot@0.2.0")
            && out.contains("configure it under [extensions]"),
        "{out}"
    );
    assert!(
        out.contains("extensions.no-inbound.plugin")
            && out.contains("takes no inbound calls")
            && out.contains("extension-inbound-plugin"),
        "{out}"
    );
    assert!(
        out.contains("extensions.old-no-inbound.plugin")
            && out.contains("(pyrus:plugin/extension-plugin@0.1.0)"),
        "{out}"
    );
}
