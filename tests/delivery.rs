//! End-to-end tests of retry de-duplication: the real binary, a real test plugin that counts
//! its runs in its store, real HTTP deliveries with `X-Pyrus-Retry` as Pyrus sends them, on
//! the redb file and on a real `redis-server` shared by two hosts.

mod support;

use std::time::Duration;

use support::{redis, sign, Host};

const SECRET: &str = "delivery-secret";

/// One delivery of a bot call on task 42 whose last comment is `last_comment`: the
/// `access_token` differs between deliveries, as a retry may carry a fresh one.
fn delivery(last_comment: u64, token: &str) -> Vec<u8> {
    format!(
        r#"{{"event":"comment","access_token":"{token}","task_id":42,"user_id":7,
            "task":{{"id":42,"text":"dedup","comments":[{{"id":1,"text":"first"}},{{"id":{last_comment}}}]}},
            "api_url":"https://api.pyrus.com/v4/"}}"#
    )
    .into_bytes()
}

/// Delivers `body` to `bot` as attempt `attempt` of 3; answers status and comment text.
fn deliver(host: &Host, bot: &str, body: &[u8], attempt: u32) -> (u16, String) {
    let sig = sign(SECRET, body);
    let retry = format!("{attempt}/3");
    let r = host.post(
        &format!("/bots/{bot}"),
        body,
        &[
            ("X-Pyrus-Sig", &sig),
            ("X-Pyrus-Retry", &retry),
            ("User-Agent", "Pyrus-Bot-4"),
        ],
    );
    let text = match r.status {
        200 => r.json()["text"].as_str().unwrap_or_default().to_string(),
        _ => r.error_code(),
    };
    (r.status, text)
}

/// The value of the metric line starting with `prefix`, 0 when absent.
fn metric(host: &Host, prefix: &str) -> f64 {
    host.get("/metrics")
        .body
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn redb_host() -> Host {
    Host::builder(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [store]
        path = "{dir}/state.redb"

        [bots.slow]
        plugin = "{plugins}/misbehaving.wasm"
        secret = { env = "DELIVERY_SECRET" }
        settings = "slow-count"
        key_value_stores = ["default"]

        [bots.flaky]
        plugin = "{plugins}/misbehaving.wasm"
        secret = { env = "DELIVERY_SECRET" }
        settings = "flaky-count"
        key_value_stores = ["default"]

        [bots.nodedup]
        plugin = "{plugins}/misbehaving.wasm"
        secret = { env = "DELIVERY_SECRET" }
        settings = "flaky-count"
        key_value_stores = ["default"]
        dedup_window_s = 0
        "#,
    )
    .env("DELIVERY_SECRET", SECRET)
    .start()
}

/// Three deliveries of one call: the second while the first runs, the third after it
/// finished. The plugin runs once (its store counts 1 run) and all three get its answer,
/// the first attempt's. A new comment on the task is a new call and runs again.
#[test]
fn three_deliveries_of_one_call_run_the_plugin_once_and_get_the_same_answer() {
    let host = redb_host();
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| deliver(&host, "slow", &delivery(9, "token-one"), 1));
        // The plugin takes 1.5 s: the retry arrives while it runs.
        std::thread::sleep(Duration::from_millis(400));
        let second = s.spawn(|| deliver(&host, "slow", &delivery(9, "token-two"), 2));
        (first.join().unwrap(), second.join().unwrap())
    });
    assert_eq!(first, (200, "run 1 attempt 1".into()));
    assert_eq!(second, (200, "run 1 attempt 1".into()));
    let third = deliver(&host, "slow", &delivery(9, "token-three"), 3);
    assert_eq!(third, (200, "run 1 attempt 1".into()));
    assert_eq!(
        metric(
            &host,
            "pyrus_duplicates_answered_total{bot=\"slow\",mode=\"sync\"}"
        ),
        2.0
    );

    let next = deliver(&host, "slow", &delivery(10, "token-four"), 1);
    assert_eq!(next, (200, "run 2 attempt 1".into()));
    // Tokens are secrets: none reaches the log.
    let log = host.log();
    assert!(!log.contains("token-"), "{log}");
}

/// A first attempt that failed is not replayed: the retry runs the plugin again, and its
/// success is what later retries get. With `dedup_window_s = 0` every delivery runs.
#[test]
fn a_failed_attempt_is_run_again_and_a_zero_window_turns_deduplication_off() {
    let host = redb_host();
    let body = delivery(9, "token-one");
    assert_eq!(
        deliver(&host, "flaky", &body, 1),
        (500, "first_run_fails".into())
    );
    assert_eq!(
        deliver(&host, "flaky", &body, 2),
        (200, "run 2 attempt 2".into())
    );
    assert_eq!(
        deliver(&host, "flaky", &body, 3),
        (200, "run 2 attempt 2".into())
    );

    assert_eq!(
        deliver(&host, "nodedup", &body, 1),
        (500, "first_run_fails".into())
    );
    assert_eq!(
        deliver(&host, "nodedup", &body, 2),
        (200, "run 2 attempt 2".into())
    );
    assert_eq!(
        deliver(&host, "nodedup", &body, 3),
        (200, "run 3 attempt 3".into())
    );
}

/// The records live in the redb file: a retry after a restart of the host still gets the
/// stored answer.
#[test]
fn a_stored_answer_survives_a_restart_of_the_host() {
    let builder = |dir: &str| {
        Host::builder(&format!(
            r#"
            [server]
            listen = "127.0.0.1:0"
            [store]
            path = "{dir}/state.redb"
            [bots.slow]
            plugin = "{{plugins}}/misbehaving.wasm"
            secret = {{ env = "DELIVERY_SECRET" }}
            settings = "slow-count"
            key_value_stores = ["default"]
            "#
        ))
        .env("DELIVERY_SECRET", SECRET)
    };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().display().to_string();
    let mut host = builder(&dir).start();
    assert_eq!(
        deliver(&host, "slow", &delivery(9, "a"), 1),
        (200, "run 1 attempt 1".into())
    );
    // The sweep commits the records durably about once a second.
    std::thread::sleep(Duration::from_millis(2500));
    host.terminate();
    assert_eq!(host.wait_exit(Duration::from_secs(30)), Some(0));
    drop(host);
    let host = builder(&dir).start();
    assert_eq!(
        deliver(&host, "slow", &delivery(9, "b"), 2),
        (200, "run 1 attempt 1".into())
    );
}

/// Two hosts sharing one Redis: the same call delivered to both while the first runs runs
/// the plugin once, and both answer its answer; a later retry to either is replayed.
#[test]
fn two_hosts_sharing_redis_run_a_call_delivered_to_both_once() {
    let Some(redis) = redis() else { return };
    let config = format!(
        r#"
        [server]
        listen = "127.0.0.1:0"
        [store]
        backend = "redis"
        url = "{}"
        [bots.slow]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "DELIVERY_SECRET" }}
        settings = "slow-count"
        key_value_stores = ["default"]
        "#,
        redis.url
    );
    let a = Host::builder(&config)
        .env("DELIVERY_SECRET", SECRET)
        .start();
    let b = Host::builder(&config)
        .env("DELIVERY_SECRET", SECRET)
        .start();
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| deliver(&a, "slow", &delivery(9, "token-one"), 1));
        std::thread::sleep(Duration::from_millis(400));
        let second = s.spawn(|| deliver(&b, "slow", &delivery(9, "token-two"), 2));
        (first.join().unwrap(), second.join().unwrap())
    });
    assert_eq!(first, (200, "run 1 attempt 1".into()));
    assert_eq!(second, (200, "run 1 attempt 1".into()));
    assert_eq!(
        deliver(&a, "slow", &delivery(9, "token-three"), 3),
        (200, "run 1 attempt 1".into())
    );
    assert_eq!(
        metric(
            &b,
            "pyrus_duplicates_answered_total{bot=\"slow\",mode=\"sync\"}"
        ),
        1.0
    );
}
