//! End-to-end tests of plugin state (`wasi:keyvalue`) and variables (`wasi:config`): the real
//! binary, the real counter-bot, a redb file, and a real `redis-server` shared by two hosts.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{redis, redis_on, wait_until, Host};

const SECRET: &str = "state-secret";

/// A call on task `id` for a new comment (each call a distinct one, so that none is taken
/// for a retry of another).
fn task(id: u64) -> Vec<u8> {
    static COMMENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let comment = COMMENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        r#"{{"task_id": {id}, "task": {{"id": {id}, "text": "state test", "comments": [{{"id": {comment}}}]}}}}"#
    )
    .into_bytes()
}

/// The count counter-bot answered for a call, or the failure.
fn count(host: &Host, bot: &str, task_id: u64) -> Result<u64, String> {
    let r = host.post_signed(&format!("/bots/{bot}"), SECRET, &task(task_id));
    if r.status != 200 {
        return Err(format!("{} {}", r.status, r.body));
    }
    let text = r.json()["text"].as_str().unwrap_or_default().to_string();
    text.split("called ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no count in {text:?}"))
}

fn text(host: &Host, bot: &str) -> String {
    let r = host.post_signed(&format!("/bots/{bot}"), SECRET, &task(1));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["text"].as_str().unwrap().to_string()
}

/// A host whose redb store is the file `state/state.redb` (kept across hosts).
fn redb_host(state: &Path, extra: &str) -> Host {
    Host::builder(&format!(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [store]
        path = "{}/state.redb"
        {extra}

        [bots.counter]
        plugin = "{{plugins}}/counter_bot.wasm"
        secret = {{ env = "STATE_SECRET" }}
        key_value_stores = ["default"]

        [bots.counter-b]
        plugin = "{{plugins}}/counter_bot.wasm"
        secret = {{ env = "STATE_SECRET" }}
        key_value_stores = ["default"]
        variables = {{ label = "Visits" }}

        [bots.ungranted]
        plugin = "{{plugins}}/counter_bot.wasm"
        secret = {{ env = "STATE_SECRET" }}

        [bots.escape]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "STATE_SECRET" }}
        settings = "kv-escape"
        key_value_stores = ["default"]

        [bots.lister]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "STATE_SECRET" }}
        settings = "kv-list"
        key_value_stores = ["default"]

        [bots.filler]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "STATE_SECRET" }}
        settings = "kv-fill"
        key_value_stores = ["default"]
        timeout_ms = 30_000

        [bots.vars]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "STATE_SECRET" }}
        settings = "vars"
        variables = {{ login = "bot@example.com", security_key = {{ env = "STATE_SECURITY_KEY" }} }}
        "#,
        state.display()
    ))
    .env("STATE_SECRET", SECRET)
    .env("STATE_SECURITY_KEY", "very-secret-security-key")
    .start()
}

#[test]
fn counts_per_task_across_calls_and_restarts() {
    let state = tempfile::tempdir().unwrap();
    {
        let host = redb_host(state.path(), "");
        assert_eq!(count(&host, "counter", 1), Ok(1));
        assert_eq!(count(&host, "counter", 1), Ok(2));
        assert_eq!(count(&host, "counter", 2), Ok(1));
        assert_eq!(count(&host, "counter", 1), Ok(3));
    }
    // A new host process on the same file carries on.
    let host = redb_host(state.path(), "");
    assert_eq!(count(&host, "counter", 1), Ok(4));
    assert_eq!(count(&host, "counter", 2), Ok(2));
}

/// A write the plugin saw succeed (and answered) must be there after `kill -9`, with no
/// shutdown of any kind: each host is killed with SIGKILL the moment its answer arrives.
#[test]
fn kill_9_right_after_an_acknowledged_write_loses_nothing() {
    let state = tempfile::tempdir().unwrap();
    for expected in 1..=4 {
        let mut host = redb_host(state.path(), "");
        assert_eq!(count(&host, "counter", 7), Ok(expected));
        host.kill_9();
    }
    let host = redb_host(state.path(), "");
    assert_eq!(count(&host, "counter", 7), Ok(5));
}

/// Sets the soft limit on the size of files the host may write (its hard limit unchanged):
/// a write past it fails with EFBIG, as on a full disk.
fn limit_file_size(host: &Host, bytes: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let pid = host.pid() as libc::pid_t;
    // SAFETY: prlimit(2) on the child this test spawned, with valid pointers.
    unsafe {
        assert_eq!(
            libc::prlimit(pid, libc::RLIMIT_FSIZE, std::ptr::null(), &mut limit),
            0
        );
        limit.rlim_cur = bytes.min(limit.rlim_max);
        assert_eq!(
            libc::prlimit(pid, libc::RLIMIT_FSIZE, &limit, std::ptr::null_mut()),
            0
        );
    }
}

/// The store's disk fills up under the host (its file may not grow), then frees up: writes
/// fail cleanly (503 or a refused write the plugin sees), the host stays up, calls that do
/// not need the store never notice, the store works again without a restart, and every
/// acknowledged write is still there after `kill -9`.
#[test]
fn a_full_disk_fails_store_writes_cleanly_and_the_store_recovers() {
    let state = tempfile::tempdir().unwrap();
    // The quota stops the filler once the disk has room again.
    let quota = "max_total_kb = 4096";
    let mut host = redb_host(state.path(), quota);
    let mut acknowledged = 0;
    for _ in 0..3 {
        acknowledged = count(&host, "counter", 9).unwrap();
    }
    assert_eq!(acknowledged, 3);
    let size = std::fs::metadata(state.path().join("state.redb"))
        .unwrap()
        .len();
    limit_file_size(&host, size);

    // 10 KiB values until one needs the file to grow.
    let refused = text(&host, "filler");
    assert!(refused.contains("store unavailable"), "{refused}");
    assert!(host.is_running(), "the host died on a full disk");
    // No store: unaffected.
    let r = host.post_signed("/bots/vars", SECRET, &task(1));
    assert_eq!(r.status, 200, "{}", r.body);
    // A store call now: answered, or refused as unavailable, never anything else.
    for _ in 0..3 {
        match count(&host, "counter", 9) {
            Ok(n) => {
                assert_eq!(n, acknowledged + 1);
                acknowledged = n;
            }
            Err(e) => assert!(
                e.starts_with("503") && e.contains("store_unavailable"),
                "{e}"
            ),
        }
    }

    // The disk frees up: the store works again, in the same process.
    limit_file_size(&host, u64::MAX);
    wait_until("the store works again", Duration::from_secs(10), || {
        count(&host, "counter", 9).is_ok_and(|n| {
            assert_eq!(n, acknowledged + 1);
            acknowledged = n;
            true
        })
    });
    let refused = text(&host, "filler");
    assert!(refused.contains("over its limit"), "{refused}");
    let log = host.log();
    assert!(log.contains("store file opened again"), "{log}");
    host.kill_9();

    let host = redb_host(state.path(), quota);
    assert_eq!(count(&host, "counter", 9), Ok(acknowledged + 1));
}

#[test]
fn namespaces_are_isolated() {
    let state = tempfile::tempdir().unwrap();
    let host = redb_host(state.path(), "");
    assert_eq!(count(&host, "counter", 1), Ok(1));
    assert_eq!(count(&host, "counter", 1), Ok(2));
    // Same plugin, same store name, same task: another bot, another count.
    assert_eq!(count(&host, "counter-b", 1), Ok(1));
    assert!(text(&host, "counter-b").starts_with("Visits: "));
    // A plugin listing its store sees only its own keys.
    let listed = text(&host, "lister");
    assert_eq!(listed, "mine-lister", "{listed}");
}

#[test]
fn stores_are_denied_unless_granted_and_the_refusal_is_logged() {
    let state = tempfile::tempdir().unwrap();
    let host = redb_host(state.path(), "");
    let r = host.post_signed("/bots/ungranted", SECRET, &task(1));
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "store_error");
    assert!(r.body.contains("does not grant"), "{}", r.body);
    assert_eq!(
        text(&host, "escape"),
        "refused: the host does not grant this store (key_value_stores)"
    );
    host.wait_for_log(
        "plugin tried to open a store it is not granted",
        Duration::from_secs(5),
    );
    host.wait_for_log("\"store\":\"other\"", Duration::from_secs(5));
}

#[test]
fn values_and_totals_are_capped() {
    let state = tempfile::tempdir().unwrap();
    let host = redb_host(state.path(), "max_total_kb = 64");
    let refused = text(&host, "filler");
    assert!(refused.starts_with("refused after 6:"), "{refused}");
    assert!(refused.contains("over its limit of 65536"), "{refused}");
    // The counter of another bot still works: the quota is per plugin.
    assert_eq!(count(&host, "counter", 1), Ok(1));
    drop(host);

    let state = tempfile::tempdir().unwrap();
    let host = redb_host(state.path(), "max_value_kb = 4");
    let refused = text(&host, "filler");
    assert!(
        refused.starts_with("refused after 0: the value is 10240 bytes, over the limit of 4096"),
        "{refused}"
    );
}

#[test]
fn variables_reach_the_plugin_and_never_the_log() {
    let state = tempfile::tempdir().unwrap();
    let host = redb_host(state.path(), "");
    assert_eq!(
        text(&host, "vars"),
        "login=bot@example.com;security_key=very-secret-security-key"
    );
    let health = host.health().body;
    let log = host.log();
    assert!(!log.contains("very-secret-security-key"), "{log}");
    assert!(!health.contains("very-secret-security-key"));
}

fn redis_host(url: &str) -> Host {
    Host::builder(&format!(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [store]
        backend = "redis"
        url = "{url}"

        [bots.counter]
        plugin = "{{plugins}}/counter_bot.wasm"
        secret = {{ env = "STATE_SECRET" }}
        key_value_stores = ["default"]

        [bots.lister]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "STATE_SECRET" }}
        settings = "kv-list"
        key_value_stores = ["default"]

        [bots.hello]
        plugin = "{{plugins}}/hello_bot.wasm"
        secret = {{ env = "STATE_SECRET" }}
        "#
    ))
    .env("STATE_SECRET", SECRET)
    .start()
}

#[test]
fn two_hosts_share_one_counter_through_redis() {
    let Some(redis) = redis() else { return };
    let a = redis_host(&redis.url);
    let b = redis_host(&redis.url);
    for n in 1..=6 {
        let host = if n % 2 == 0 { &b } else { &a };
        assert_eq!(count(host, "counter", 9), Ok(n));
    }
    // Both hosts at once: every increment lands exactly once.
    std::thread::scope(|s| {
        for host in [&a, &b] {
            s.spawn(move || {
                for _ in 0..10 {
                    count(host, "counter", 10).unwrap();
                }
            });
        }
    });
    assert_eq!(count(&a, "counter", 10), Ok(21));
    // Namespaces hold on Redis too.
    assert_eq!(text(&a, "lister"), "mine-lister");
}

#[test]
fn redis_going_away_fails_store_calls_with_503_and_they_recover() {
    let Some(redis) = redis() else { return };
    let mut host = redis_host(&redis.url);
    assert_eq!(count(&host, "counter", 1), Ok(1));

    let port = redis.port;
    drop(redis);
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let r = host.post_signed("/bots/counter", SECRET, &task(1));
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.error_code(), "store_unavailable", "{}", r.body);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // Calls that need no store never notice.
        assert_eq!(
            host.post_signed("/bots/hello", SECRET, &task(1)).status,
            200
        );
    }

    // Back on the same port (empty: it keeps nothing): the same host recovers on its own.
    let _redis = redis_on(port).unwrap();
    support::wait_until("the store answers again", Duration::from_secs(30), || {
        count(&host, "counter", 1).is_ok()
    });
    assert!(host.is_running());
}

#[test]
fn redis_that_is_not_there_stops_the_host_with_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, err) = Host::builder(&format!(
        r#"
        [store]
        backend = "redis"
        url = "redis://user:hunter2@127.0.0.1:{port}/0"

        [bots.counter]
        plugin = "{{plugins}}/counter_bot.wasm"
        secret = {{ env = "STATE_SECRET" }}
        key_value_stores = ["default"]
        "#
    ))
    .env("STATE_SECRET", SECRET)
    .start_expecting_failure();
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot connect to Redis at redis://127.0.0.1"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

/// A store file that cannot be created (its folder is a file: as a read-only or wrong path
/// would be, even for root) stops the host at start with the reason, not at the first call.
#[test]
fn a_store_that_cannot_be_opened_stops_the_host_with_a_clear_error() {
    let (code, stderr) = Host::builder(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [store]
        path = "{dir}/not-a-folder/state.redb"

        [bots.counter]
        plugin = "{plugins}/counter_bot.wasm"
        secret = { env = "STATE_SECRET" }
        key_value_stores = ["default"]
        "#,
    )
    .file("not-a-folder", "a file where the store's folder should be")
    .env("STATE_SECRET", SECRET)
    .start_expecting_failure();
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("cannot open the store"), "{stderr}");
    assert!(stderr.contains("not-a-folder"), "{stderr}");
    assert!(!stderr.contains(SECRET), "{stderr}");
}
