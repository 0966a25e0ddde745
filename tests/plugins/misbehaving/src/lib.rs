//! A plugin that misbehaves on purpose, for the host's end-to-end tests. The host config's
//! `settings` picks the behaviour, so one component serves every test bot and extension: it
//! exports the `bot`, the `extension` and the `inbound` interface of `pyrus:plugin@0.2.0`,
//! every function and every extension method behaving alike.
//!
//! It implements the WIT interfaces directly (not through the SDK's traits) so that it can
//! also return what the SDK would never produce, such as a reply that is not JSON.

use pyrus_plugin_sdk::bindings::bot_world::exports::pyrus::plugin0_2_0::bot;
use pyrus_plugin_sdk::bindings::bot_world::pyrus::plugin0_2_0::types::{CallInfo, PluginError};
use pyrus_plugin_sdk::bindings::extension_inbound_world::exports::pyrus::plugin0_2_0::inbound::{
    self, InboundRequest, InboundResponse,
};
use pyrus_plugin_sdk::bindings::extension_world::exports::pyrus::plugin0_2_0::extension::{
    self, Method,
};

struct Misbehaving;

type Reply = Result<Option<String>, PluginError>;

impl bot::Guest for Misbehaving {
    fn handle(info: CallInfo, request: String) -> Reply {
        behave("handle", info, request)
    }
}

impl extension::Guest for Misbehaving {
    fn handle(info: CallInfo, method: Method, request: String) -> Reply {
        let function = match &method {
            Method::Pulse => "pulse",
            Method::Authorize => "authorize",
            Method::Toggle => "toggle",
            Method::Event => "event",
            Method::SendMessage => "send-message",
            Method::CreateDialog => "create-dialog",
            Method::GetAvailableNumbers => "get-available-numbers",
            // A webhook the contract does not name behaves alike, under its own name.
            Method::Other(name) => name,
        };
        behave(function, info, request)
    }
}

impl inbound::Guest for Misbehaving {
    fn handle(info: CallInfo, request: InboundRequest) -> Result<InboundResponse, PluginError> {
        // More headers than the host passes on.
        if info.settings.as_deref() == Some("many-headers") {
            return Ok(InboundResponse {
                status: 200,
                headers: (0..101).map(|i| (format!("x-h{i}"), "v".into())).collect(),
                body: Vec::new(),
            });
        }
        // Echoes what the host handed over, or behaves as the settings say.
        let seen = format!(
            "{} {} {} {}",
            request.method,
            request.path,
            request.query.unwrap_or_default(),
            String::from_utf8_lossy(&request.body)
        );
        match behave("inbound", info, seen)? {
            Some(text) => Ok(InboundResponse {
                status: 200,
                headers: vec![("x-seen".into(), "yes".into())],
                body: text.into_bytes(),
            }),
            None => Ok(InboundResponse {
                status: 204,
                headers: Vec::new(),
                body: Vec::new(),
            }),
        }
    }
}

/// `len` bytes of text in one allocation of exactly that size.
fn filled(len: usize) -> String {
    let mut text = String::with_capacity(len);
    text.extend(std::iter::repeat_n('e', len));
    text
}

fn behave(function: &str, info: CallInfo, request: String) -> Reply {
    match info.settings.as_deref().unwrap_or("") {
        // A Rust panic: the instance traps with `unreachable`.
        "trap" => panic!("deliberate panic in a test plugin"),
        // Spins forever without calling the host.
        "loop" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        // Blocks in a WASI sleep, which epoch interruption cannot see.
        "sleep" => {
            std::thread::sleep(std::time::Duration::from_secs(3600));
            Ok(None)
        }
        // A slow but well-behaved call: sleeps 2 s, then answers.
        "slow" => {
            std::thread::sleep(std::time::Duration::from_secs(2));
            Ok(Some(r#"{"text":"slow but done"}"#.to_string()))
        }
        // Counts its runs in its store, takes 1.5 s, and answers which run and attempt it
        // was: what tells a replayed answer from a second run.
        "slow-count" => {
            let store = pyrus_plugin_sdk::store::Store::open("default").map_err(store_error)?;
            let run = store.increment("runs", 1).map_err(store_error)?;
            std::thread::sleep(std::time::Duration::from_millis(1500));
            Ok(Some(text_reply(&format!(
                "run {run} attempt {}",
                info.attempt
            ))))
        }
        // Counts its runs; the first one fails (500), later ones answer which run they were.
        "flaky-count" => {
            let store = pyrus_plugin_sdk::store::Store::open("default").map_err(store_error)?;
            let run = store.increment("runs", 1).map_err(store_error)?;
            if run == 1 {
                return Err(PluginError {
                    code: "first_run_fails".into(),
                    message: "the first run fails on purpose".into(),
                    status: None,
                });
            }
            Ok(Some(text_reply(&format!(
                "run {run} attempt {}",
                info.attempt
            ))))
        }
        // Fills its store with 10 KiB values until the host refuses; answers the refusal.
        "kv-fill" => {
            let store = pyrus_plugin_sdk::store::Store::open("default").map_err(store_error)?;
            for i in 0..100_000 {
                if let Err(e) = store.set(&format!("fill-{i}"), vec![7u8; 10 * 1024]) {
                    return Ok(Some(text_reply(&format!("refused after {i}: {e}"))));
                }
            }
            Ok(Some(text_reply("never refused")))
        }
        // Opens a store its config does not grant.
        "kv-escape" => match pyrus_plugin_sdk::store::Store::open("other") {
            Ok(_) => Ok(Some(text_reply("opened a store that was not granted"))),
            Err(e) => Ok(Some(text_reply(&format!("refused: {e}")))),
        },
        // Lists every key it can see, and writes one of its own.
        "kv-list" => {
            let store = pyrus_plugin_sdk::store::Store::open("default").map_err(store_error)?;
            store
                .set(&format!("mine-{}", info.name), "x")
                .map_err(store_error)?;
            let keys = store.keys().map_err(store_error)?;
            Ok(Some(text_reply(&keys.join(","))))
        }
        // GETs the URL in its `url` variable; answers the status and body, or the error.
        "fetch" => {
            let url = pyrus_plugin_sdk::variables::get("url").unwrap_or_default();
            match pyrus_plugin_sdk::http::send(pyrus_plugin_sdk::http::Request::get(url)) {
                Ok(r) => Ok(Some(text_reply(&format!("{} {}", r.status, r.text())))),
                Err(e) => Ok(Some(text_reply(&format!("error: {e}")))),
            }
        }
        // GETs the URL until the host refuses; answers how many went out.
        "fetch-many" => {
            let url = pyrus_plugin_sdk::variables::get("url").unwrap_or_default();
            for i in 0..100 {
                let request = pyrus_plugin_sdk::http::Request::get(url.clone());
                if let Err(e) = pyrus_plugin_sdk::http::send(request) {
                    return Ok(Some(text_reply(&format!("sent {i}, then: {e}"))));
                }
            }
            Ok(Some(text_reply("sent 100")))
        }
        // Comments on the task through the Pyrus API with the webhook's token and api_url.
        "comment" => {
            let req = pyrus_plugin_sdk::BotRequest::parse(&request).map_err(|e| {
                store_error(pyrus_plugin_sdk::store::StoreError::Json(e.to_string()))
            })?;
            let task_id = req.task_id().map(|id| id.0).unwrap_or_default();
            let api =
                pyrus_plugin_sdk::pyrus::PyrusApi::for_bot(&req).map_err(PluginError::from_api)?;
            let reply = pyrus_plugin_sdk::BotReply::new().text("posted through the API");
            match api.comment_task(task_id, &reply) {
                Ok(task) => Ok(Some(text_reply(&format!(
                    "commented: {}",
                    task["task"]["id"]
                )))),
                Err(e) => Ok(Some(text_reply(&format!("error: {e}")))),
            }
        }
        // Answers every variable the host gives it.
        "vars" => {
            let all = pyrus_plugin_sdk::variables::all();
            let text: Vec<String> = all.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Ok(Some(text_reply(&text.join(";"))))
        }
        // Grows memory until the limit stops it.
        "memory" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        // Overflows the data stack Rust keeps in linear memory.
        "recurse" => Ok(Some(recurse(0, &request).to_string())),
        // Overflows the wasm call stack itself.
        "stack" => Ok(Some(deep(u64::MAX).to_string())),
        // 48 MiB handed to the host three ways, each built in place (the plugin's memory
        // holds it once): as an error message, as a reply, as one log message.
        "error-48mib" => Err(PluginError {
            code: "big".into(),
            message: filled(48 << 20),
            status: None,
        }),
        "reply-48mib" => {
            let mut reply = String::with_capacity((48 << 20) + 12);
            reply.push_str(r#"{"text":""#);
            reply.extend(std::iter::repeat_n('r', 48 << 20));
            reply.push_str(r#""}"#);
            Ok(Some(reply))
        }
        "log-48mib" => {
            pyrus_plugin_sdk::log::info(filled(48 << 20));
            Ok(None)
        }
        // A reply far over any sane size (needs a memory limit above 100 MiB).
        "big-reply" => Ok(Some(format!(r#"{{"text":"{}"}}"#, "x".repeat(100 << 20)))),
        // Floods the host log through the log import, stdout and stderr.
        "log-flood" => {
            let line = "y".repeat(1024);
            for _ in 0..100_000 {
                pyrus_plugin_sdk::log::info(&line);
            }
            Ok(None)
        }
        "stdout-flood" => {
            use std::io::Write;
            let chunk = "z".repeat(1024) + "\n";
            for _ in 0..10_000 {
                let _ = std::io::stdout().write_all(chunk.as_bytes());
                let _ = std::io::stderr().write_all(chunk.as_bytes());
            }
            Ok(None)
        }
        // Text meant to forge host log lines, in every channel a plugin has: the log
        // import, stdout, and (with "huge-error") a 10 MiB error.
        "log-forge" => {
            let forged = "first\n2026-12-01T00:00:00.000000Z  INFO forged line\u{1b}[31m";
            pyrus_plugin_sdk::log::info(forged);
            println!("{forged}");
            println!("second stdout line");
            Ok(None)
        }
        // Asks the host for far more random bytes than any plugin needs.
        "random-flood" => Ok(Some(
            wasip2::random::random::get_random_bytes(64 << 20)
                .len()
                .to_string(),
        )),
        "huge-error" => Err(PluginError {
            code: "bad\ncode".into(),
            message: format!(
                "line one\nFAKE INFO forged\u{1b}[31m{}",
                "e".repeat(10 << 20)
            ),
            status: None,
        }),
        // Tries to reach what a plugin must not: files, the environment, the network.
        "escape" => Ok(Some(escape(&request).to_string())),
        "not-json" => Ok(Some("this is not JSON".into())),
        "json-array" => Ok(Some("[1, 2, 3]".into())),
        "nothing" => Ok(None),
        "error" => Err(PluginError {
            code: "deliberate_failure".into(),
            message: "the plugin refused on purpose".into(),
            status: None,
        }),
        "error-422" => Err(PluginError {
            code: "unprocessable".into(),
            message: "the plugin refused with a status".into(),
            status: Some(422),
        }),
        // Echoes the body, to prove it arrives byte for byte.
        "echo" => Ok(Some(serde_json::json!({ "text": request }).to_string())),
        // Reports what the host told it about the call.
        "info" => {
            pyrus_plugin_sdk::log::info(format!("info call for {}", info.name));
            Ok(Some(
                serde_json::json!({
                    "function": function,
                    "request": request,
                    "name": info.name,
                    "attempt": info.attempt,
                    "max_attempts": info.max_attempts,
                    "user_agent": info.user_agent,
                    "settings": info.settings,
                    "delivery": match pyrus_plugin_sdk::delivery::mode() {
                        pyrus_plugin_sdk::delivery::Mode::Sync => "sync",
                        pyrus_plugin_sdk::delivery::Mode::Queued => "queued",
                    },
                })
                .to_string(),
            ))
        }
        other => Err(PluginError {
            code: "unknown_mode".into(),
            message: format!("unknown test mode {other:?}"),
            status: None,
        }),
    }
}

/// Reports what each escape attempt got. `request` may carry `{"connect": "127.0.0.1:PORT"}`.
fn escape(request: &str) -> serde_json::Value {
    let outcome = |r: Result<String, std::io::Error>| match r {
        Ok(v) => serde_json::json!({ "ok": v }),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    };
    let target = serde_json::from_str::<serde_json::Value>(request)
        .ok()
        .and_then(|v| v["connect"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "127.0.0.1:80".into());
    serde_json::json!({
        "read_file": outcome(std::fs::read_to_string("/etc/passwd")),
        "list_root": outcome(std::fs::read_dir("/").map(|d| format!("{} entries", d.count()))),
        "write_file": outcome(std::fs::write("/tmp/escaped", b"x").map(|()| "written".into())),
        "env": std::env::vars().map(|(k, _)| k).collect::<Vec<_>>(),
        "args": std::env::args().collect::<Vec<_>>(),
        "connect": outcome(std::net::TcpStream::connect(&target).map(|_| "connected".into())),
        "resolve": outcome(
            std::net::ToSocketAddrs::to_socket_addrs("localhost:80").map(|a| format!("{:?}", a.collect::<Vec<_>>()))
        ),
    })
}

#[inline(never)]
fn deep(n: u64) -> u64 {
    if std::hint::black_box(n) == 0 {
        return 0;
    }
    std::hint::black_box(deep(n - 1)) + 1
}

#[inline(never)]
fn recurse(depth: u64, s: &str) -> u64 {
    let frame = std::hint::black_box([depth; 64]);
    if s.is_empty() {
        return frame[0];
    }
    recurse(depth + 1, s) + frame[1]
}

pyrus_plugin_sdk::bindings::bot_world::__export_bot_world!(
    Misbehaving with_types_in pyrus_plugin_sdk::bindings::bot_world
);
// The extension-inbound world's macro exports both `extension` and `inbound`.
pyrus_plugin_sdk::bindings::extension_inbound_world::__export_extension_inbound_world!(
    Misbehaving with_types_in pyrus_plugin_sdk::bindings::extension_inbound_world
);

fn text_reply(text: &str) -> String {
    format!(r#"{{"text":{}}}"#, serde_json::to_string(text).unwrap())
}

fn store_error(e: pyrus_plugin_sdk::store::StoreError) -> PluginError {
    PluginError {
        code: "store_error".into(),
        message: e.to_string(),
        status: Some(500),
    }
}

trait FromApi {
    fn from_api(e: pyrus_plugin_sdk::pyrus::ApiError) -> Self;
}

impl FromApi for PluginError {
    fn from_api(e: pyrus_plugin_sdk::pyrus::ApiError) -> Self {
        PluginError {
            code: "pyrus_api_error".into(),
            message: e.to_string(),
            status: Some(502),
        }
    }
}
