//! End-to-end tests of the sandbox: a hostile plugin hurts only its own calls and reaches
//! nothing it was not granted.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::Host;

const SECRET: &str = "sandbox-secret";

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let mut config = String::from(
            r#"
            [server]
            listen = "127.0.0.1:0"

            [runtime]
            max_wasm_stack_kb = 256

            [defaults]
            timeout_ms = 2_000
            memory_mb = 32
            # The same bodies are sent again and again, at once: every one must run.
            dedup_window_s = 0

            [bots.hello]
            plugin = "{plugins}/hello_bot.wasm"
            secret = { env = "SANDBOX_SECRET" }

            # The example plugins start with 4 MiB of memory (.cargo/config.toml).
            [bots.hello-in-2mb]
            plugin = "{plugins}/hello_bot.wasm"
            secret = { env = "SANDBOX_SECRET" }
            memory_mb = 2
            "#,
        );
        config.push_str(&support::misbehaving(
            "bots",
            "SANDBOX_SECRET",
            &[
                ("trap", "trap", ""),
                ("loop", "loop", "timeout_ms = 300"),
                ("sleep", "sleep", "timeout_ms = 300"),
                // What these test is the memory and reply limits, not time: a debug build
                // on the long lane (nice 10) beside the hostile load below can need more
                // than the default 2 s.
                ("memory", "memory", "memory_mb = 16\ntimeout_ms = 10_000"),
                ("stack", "stack", ""),
                (
                    "big-reply",
                    "big-reply",
                    "memory_mb = 1024\ntimeout_ms = 10_000",
                ),
                ("log-flood", "log-flood", "timeout_ms = 10_000"),
                ("stdout-flood", "stdout-flood", "timeout_ms = 10_000"),
                ("escape", "escape", ""),
                ("log-forge", "log-forge", ""),
                ("huge-error", "huge-error", ""),
                ("random-flood", "random-flood", "memory_mb = 8"),
                ("single", "sleep", "timeout_ms = 1_500\nmax_concurrency = 1"),
                ("fuel", "loop", "timeout_ms = 10_000\nfuel = 5_000_000"),
            ],
        ));
        Host::builder(&config)
            .env("SANDBOX_SECRET", SECRET)
            .env("SANDBOX_VISIBLE_TO_PLUGINS", "it must not be")
            .start()
    })
}

fn call(bot: &str, body: &[u8]) -> support::Reply {
    host().post_signed(&format!("/bots/{bot}"), SECRET, body)
}

#[test]
fn plugins_reach_no_file_env_or_network() {
    let port = host().base.rsplit(':').next().unwrap().to_string();
    // The host itself listens on this port: a plugin must not be able to call it.
    let body = json!({"connect": format!("127.0.0.1:{port}")}).to_string();
    let r = call("escape", body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let got = r.json();
    for attempt in ["read_file", "list_root", "write_file", "connect", "resolve"] {
        assert!(
            got[attempt]["error"].is_string(),
            "{attempt} was not denied: {got}"
        );
    }
    assert_eq!(
        got["env"],
        json!([]),
        "the plugin sees environment variables"
    );
    assert!(!r.body.contains("SANDBOX"), "host env leaked: {}", r.body);
    assert!(!std::path::Path::new("/tmp/escaped").exists());
}

#[test]
fn floods_are_capped_and_tagged() {
    let r = call("log-flood", br#"{"task_id": 31337}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call("stdout-flood", br#"{"task_id": 31338}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    host().wait_for_log("plugin output over the", Duration::from_secs(10));
    host().wait_for_log(
        "log messages over the per-call cap",
        Duration::from_secs(10),
    );
    let log = host().log();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let from = |task: &str, target: &str| {
        lines
            .iter()
            .filter(|l| l["span"]["task_id"] == task && l["target"] == target)
            .count()
    };
    let logged = from("31337", "plugin");
    assert!(
        (100..=101).contains(&logged),
        "{logged} plugin log lines for one call"
    );
    let printed: usize = lines
        .iter()
        .filter(|l| {
            l["span"]["task_id"] == "31338"
                && l["target"] == "plugin"
                && l["fields"]["stream"].is_string()
        })
        .filter_map(|l| l["fields"]["message"].as_str())
        .map(str::len)
        .sum();
    assert!(
        printed > 0 && printed <= 2 * 16 * 1024,
        "{printed} bytes of stdout/stderr logged"
    );
    assert!(lines
        .iter()
        .any(|l| l["span"]["bot"] == "stdout-flood" && l["fields"]["stream"] == "stderr"));
}

#[test]
fn plugin_text_is_escaped_and_capped_before_it_reaches_a_body_or_the_log() {
    // A 10 MiB error message with newlines and terminal escapes, and a code that is not one.
    let r = call("huge-error", br#"{"task_id": 4242}"#);
    assert_eq!(r.status, 500, "{}", &r.body[..r.body.len().min(300)]);
    assert!(r.body.len() < 4096, "{} bytes of error body", r.body.len());
    assert_eq!(r.error_code(), "bad_code");
    let message = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("line one\\nFAKE INFO forged\\u{1b}[31m"),
        "{message}"
    );
    assert!(!message.chars().any(char::is_control), "{message:?}");

    let r = call("log-forge", br#"{"task_id": 4243}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    host().wait_for_log("second stdout line", Duration::from_secs(10));
    let log = host().log();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let from = |task: &str| {
        lines
            .iter()
            .filter(move |l| l["span"]["task_id"] == task)
            .collect::<Vec<_>>()
    };
    // The plugin's text arrives escaped: no control character survives in any field.
    let plugin_lines: Vec<_> = from("4243")
        .into_iter()
        .filter(|l| l["target"] == "plugin")
        .collect();
    for l in &plugin_lines {
        let message = l["fields"]["message"].as_str().unwrap();
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert!(message.contains("first\\n2026-12-01"), "{message:?}");
    }
    // One event from the log import and one for stdout, however many lines it printed.
    assert_eq!(plugin_lines.len(), 2, "{plugin_lines:?}");
    let stdout = plugin_lines
        .iter()
        .find(|l| l["fields"]["stream"] == "stdout")
        .expect("one stdout event");
    assert!(stdout["fields"]["message"]
        .as_str()
        .unwrap()
        .ends_with("\\nsecond stdout line"));
    // The failed call's log line carries the capped cause, not 10 MiB.
    let failed = from("4242")
        .into_iter()
        .find(|l| l["fields"]["message"] == "call failed")
        .expect("the failure is logged");
    let cause = failed["fields"]["cause"].as_str().unwrap();
    assert!(
        cause.len() < 4096 && !cause.chars().any(char::is_control),
        "{cause:?}"
    );
}

#[test]
fn random_bytes_are_bounded_by_the_host() {
    // 64 MiB of random bytes for an 8 MiB plugin: refused before the host makes them.
    let started = Instant::now();
    let r = call("random-flood", br#"{"task_id": 1}"#);
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.error_code(), "plugin_trapped");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_limit_below_the_initial_memory_fails_cleanly() {
    let r = call("hello-in-2mb", br#"{"task_id": 1}"#);
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.json()["error_code"], "plugin_out_of_memory", "{}", r.body);
    // The plugin was linked with 4 MiB of initial memory, and the refusal says so.
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("asked for 4 MiB of memory, over its limit of 2 MiB"),
        "{}",
        r.body
    );
    assert_eq!(call("hello", br#"{"task_id": 1}"#).status, 200);
}

#[test]
fn oversized_reply_fails_the_call() {
    let r = call("big-reply", b"{}");
    assert_eq!(r.status, 500, "{}", &r.body[..r.body.len().min(300)]);
    assert_eq!(r.error_code(), "plugin_reply_too_large");
}

#[test]
fn a_plugin_over_its_concurrency_gets_503_at_once() {
    // `single` sleeps until its 1.5 s timeout and may run once at a time: of calls sent
    // together, one runs (500, timeout) and the others are refused while it still runs.
    let barrier = std::sync::Barrier::new(4);
    let results: Vec<(u16, String, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let r = call("single", b"{}");
                    (r.status, r.error_code(), Instant::now())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ran: Vec<_> = results.iter().filter(|r| r.0 == 500).collect();
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 503).collect();
    assert!(!refused.is_empty(), "none refused: {results:?}");
    assert!(ran.iter().any(|r| r.1 == "plugin_timeout"), "{results:?}");
    let first_run_ended = ran.iter().map(|r| r.2).min().unwrap();
    for (_, code, ended) in &refused {
        assert_eq!(code, "plugin_busy");
        assert!(
            *ended < first_run_ended,
            "a refusal waited for the running call"
        );
    }
}

/// The whole pool taken (`[runtime] max_instances = 3`, three slow calls of three plugins,
/// none over its own concurrency): the next call of any plugin is refused at once with 503
/// `busy` (never a 500 from the allocator), and served as soon as a slot is free again.
#[test]
fn a_full_instance_pool_answers_503_busy_at_once() {
    let mut config = String::from(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [runtime]
        max_instances = 3

        [bots.hello]
        plugin = "{plugins}/hello_bot.wasm"
        secret = { env = "SANDBOX_SECRET" }
        "#,
    );
    config.push_str(&support::misbehaving(
        "bots",
        "SANDBOX_SECRET",
        &[
            ("slow-a", "slow", ""),
            ("slow-b", "slow", ""),
            ("slow-c", "slow", ""),
        ],
    ));
    let host = Host::builder(&config).env("SANDBOX_SECRET", SECRET).start();
    let hello = |host: &Host| host.post_signed("/bots/hello", SECRET, b"{}");
    assert_eq!(hello(&host).status, 200);
    std::thread::scope(|s| {
        let slow: Vec<_> = ["slow-a", "slow-b", "slow-c"]
            .map(|bot| {
                let host = &host;
                s.spawn(move || host.post_signed(&format!("/bots/{bot}"), SECRET, b"{}"))
            })
            .into_iter()
            .collect();
        // The three slow calls (2 s each) hold every slot: wait until they are all in.
        support::wait_until("three calls in flight", Duration::from_secs(5), || {
            host.get("/metrics")
                .body
                .lines()
                .any(|l| l == "pyrus_instances_in_use 3")
        });
        let started = Instant::now();
        let refused = hello(&host);
        assert_eq!(refused.status, 503, "{}", refused.body);
        assert_eq!(refused.error_code(), "busy", "{}", refused.body);
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        for call in slow {
            let r = call.join().unwrap();
            assert_eq!(r.status, 200, "{}", r.body);
        }
    });
    assert_eq!(hello(&host).status, 200);
}

/// The documented answer to each hostile bot's call.
fn expected(bot: &str) -> (u16, Option<&'static str>) {
    match bot {
        "trap" => (500, Some("plugin_trapped")),
        "loop" | "sleep" => (500, Some("plugin_timeout")),
        "memory" => (500, Some("plugin_out_of_memory")),
        "stack" => (500, Some("plugin_stack_overflow")),
        "fuel" => (500, Some("plugin_out_of_fuel")),
        "log-flood" | "stdout-flood" | "escape" => (200, None),
        other => panic!("no expectation for {other}"),
    }
}

#[test]
fn a_fuel_budget_stops_a_loop_before_its_timeout() {
    let started = Instant::now();
    let r = call("fuel", b"{}");
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.error_code(), "plugin_out_of_fuel");
    // 5 million units run in milliseconds; the 10 s timeout was not what stopped it.
    assert!(started.elapsed() < Duration::from_secs(9));
}

#[test]
fn hostile_plugins_under_load_do_not_hurt_hello_bot() {
    let hostile = [
        "trap",
        "loop",
        "sleep",
        "memory",
        "stack",
        "log-flood",
        "stdout-flood",
        "escape",
    ];
    let stop = AtomicBool::new(false);
    let hostile_calls = AtomicUsize::new(0);
    let hello_body =
        std::fs::read(support::repo().join("tests/fixtures/comment-event.json")).unwrap();
    let (before, _) = host().rss_kib();
    let mut hello_ok = 0;
    std::thread::scope(|s| {
        for bot in hostile {
            for _ in 0..2 {
                let (stop, hostile_calls) = (&stop, &hostile_calls);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let r = call(bot, b"{}");
                        let want = expected(bot);
                        assert_eq!(r.status, want.0, "{bot}: {}", r.body);
                        if let Some(code) = want.1 {
                            assert_eq!(r.error_code(), code, "{bot}");
                        }
                        hostile_calls.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        }
        let deadline = Instant::now() + Duration::from_secs(6);
        while Instant::now() < deadline {
            let r = call("hello", &hello_body);
            assert_eq!(r.status, 200, "hello failed under hostile load: {}", r.body);
            assert_eq!(
                r.json()["text"],
                "Hello, bob@example.com. This task approved by bot."
            );
            hello_ok += 1;
        }
        stop.store(true, Ordering::Relaxed);
    });
    let (after, peak) = host().rss_kib();
    println!(
        "hello-bot: {hello_ok} calls, all 200, beside {} hostile calls; host RSS {} MiB before, {} MiB after, peak {} MiB",
        hostile_calls.load(Ordering::Relaxed),
        before / 1024,
        after / 1024,
        peak / 1024
    );
    assert!(hello_ok >= 10, "only {hello_ok} hello calls in 6 s");
    // 16 hostile callers, the largest allowed 32 MiB each: the host must stay far below
    // what unbounded plugins would take.
    assert!(peak < 1024 * 1024, "peak RSS {} MiB", peak / 1024);
    assert_eq!(call("hello", &hello_body).status, 200);
    // Every failure was logged with the plugin and its cause.
    let log = host().log();
    for bot in hostile.iter().filter(|b| expected(b).0 >= 500) {
        let named = log.lines().any(|l| {
            l.contains(&format!(r#""bot":"{bot}""#))
                && l.contains(r#""cause":"#)
                && l.contains(r#""status":500"#)
        });
        assert!(named, "no failure line names {bot} and its cause");
    }
}

/// What a plugin hands the host (an error, a reply, a log message) is bounded before it is
/// copied: 48 MiB handed over by a 64 MiB plugin raises the host's peak RSS by the plugin's
/// own memory and a small constant, never by a second copy of the 48 MiB. The old host
/// copied each whole (+87 MiB measured for the error, against +40 MiB now).
#[test]
fn what_a_plugin_hands_the_host_is_bounded_before_it_is_copied() {
    let mut config = String::from(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [defaults]
        memory_mb = 64
        timeout_ms = 10_000
        "#,
    );
    let bots = ["error-48mib", "reply-48mib", "log-48mib"];
    let entries: Vec<_> = bots.iter().map(|b| (*b, *b, "")).collect();
    config.push_str(&support::misbehaving("bots", "SANDBOX_SECRET", &entries));
    let host = Host::builder(&config).env("SANDBOX_SECRET", SECRET).start();
    let call = |bot: &str| host.post_signed(&format!("/bots/{bot}"), SECRET, b"{}");
    // Once each first: the instance slots and the host's own buffers settle.
    for bot in bots {
        call(bot);
    }
    const BOUND_KIB: u64 = (64 + 8) << 10;
    for bot in bots {
        // The previous call's memory is given back after its answer: wait until it is.
        let mut last = host.rss_kib().0;
        support::wait_until("the host's RSS settles", Duration::from_secs(10), || {
            std::thread::sleep(Duration::from_millis(200));
            let now = host.rss_kib().0;
            std::mem::replace(&mut last, now).abs_diff(now) < 1024
        });
        host.reset_peak_rss();
        let (base, _) = host.rss_kib();
        let r = call(bot);
        let (_, peak) = host.rss_kib();
        println!(
            "{bot}: {} -> peak RSS +{} MiB over {} MiB",
            r.status,
            peak.saturating_sub(base) >> 10,
            base >> 10
        );
        assert_eq!(r.status, 500, "{bot}: {}", &r.body[..r.body.len().min(300)]);
        assert!(r.body.len() < 4096, "{bot}: {} bytes of body", r.body.len());
        match bot {
            // The error keeps its code and the start of its message, cut.
            "error-48mib" => {
                assert_eq!(r.error_code(), "big");
                let message = r.json()["error"].as_str().unwrap().to_string();
                assert!(
                    message.starts_with("eeee") && message.ends_with('…'),
                    "{message}"
                );
            }
            _ => {
                assert_eq!(
                    r.error_code(),
                    "plugin_reply_too_large",
                    "{bot}: {}",
                    r.body
                );
                assert!(r.body.contains("bytes at once"), "{bot}: {}", r.body);
            }
        }
        assert!(
            peak.saturating_sub(base) <= BOUND_KIB,
            "{bot}: peak RSS rose {} MiB, over memory_mb + 8 MiB",
            peak.saturating_sub(base) >> 10
        );
    }
}
