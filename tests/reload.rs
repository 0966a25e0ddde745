//! End-to-end tests of hot reload: plugin files and the config change under a running host,
//! with no failed call and no restart.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use support::{plugin, wait_until, Host};

const SECRET: &str = "reload-secret";
const WAIT: Duration = Duration::from_secs(60);

fn bytes(crate_name: &str) -> Vec<u8> {
    std::fs::read(plugin(crate_name)).unwrap()
}

fn start(extra: &str) -> Host {
    let config = format!(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [bots.live]
        plugin = "live.wasm"
        secret = {{ env = "RELOAD_SECRET" }}
        {extra}
        "#
    );
    Host::builder(&config)
        .env("RELOAD_SECRET", SECRET)
        .file("live.wasm", bytes("hello-bot"))
        .start()
}

/// The fixture call, for a new comment each time: a repeated delivery of one call is
/// answered with the first answer (retry de-duplication), whatever version serves now.
fn body() -> Vec<u8> {
    static COMMENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let fixture = std::fs::read(support::repo().join("tests/fixtures/comment-event.json")).unwrap();
    let mut call: serde_json::Value = serde_json::from_slice(&fixture).unwrap();
    let id = 1_000_000 + COMMENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    call["task"]["comments"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "id": id }));
    serde_json::to_vec(&call).unwrap()
}

/// Which version answered: `hello` or `copy` (copy-field-bot without settings explains
/// itself in a comment), or the failed status.
fn version(host: &Host) -> Result<&'static str, String> {
    let r = host.post_signed("/bots/live", SECRET, &body());
    if r.status != 200 {
        return Err(format!("{} {}", r.status, r.body));
    }
    let text = r.json()["text"].as_str().unwrap_or_default().to_string();
    if text.starts_with("Hello") {
        Ok("hello")
    } else if text.starts_with("CopyField") {
        Ok("copy")
    } else {
        Err(format!("unexpected reply {text}"))
    }
}

fn health(host: &Host, bot: &str) -> Value {
    let h = host.health().json();
    h["bots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == bot)
        .cloned()
        .unwrap_or(Value::Null)
}

fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    hex::encode(Sha1::digest(bytes))
}

/// Replaces `path` as editors and deploy tools do: write a temp file, rename it over.
fn write_by_rename(path: &Path, contents: &[u8]) {
    let tmp = path.with_extension("tmp-upload");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn new_versions_load_under_steady_traffic_without_a_failed_call() {
    let host = start("");
    let live = host.dir().join("live.wasm");
    assert_eq!(version(&host), Ok("hello"));

    let stop = AtomicBool::new(false);
    let failures = Mutex::new(Vec::new());
    let seen = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                match version(&host) {
                    Ok(v) => seen.lock().unwrap().push(v),
                    Err(e) => failures.lock().unwrap().push(e),
                }
            }
        });
        let serving = |v: &'static str| {
            wait_until(&format!("{v} serves"), WAIT, || {
                seen.lock().unwrap().last() == Some(&v)
            })
        };
        // 1. In-place write, as `cargo build` does (truncate, then write).
        std::fs::write(&live, bytes("copy-field-bot")).unwrap();
        serving("copy");
        // 2. Write-to-temp-then-rename, as editors and deploy tools do.
        write_by_rename(&live, &bytes("hello-bot"));
        serving("hello");
        // 3. Deleted, then created again.
        std::fs::remove_file(&live).unwrap();
        std::thread::sleep(Duration::from_millis(400));
        std::fs::write(&live, bytes("copy-field-bot")).unwrap();
        serving("copy");
        // 4. A symlink switched to another file.
        let v1 = host.dir().join("v1.wasm");
        std::fs::write(&v1, bytes("hello-bot")).unwrap();
        let link = host.dir().join("live.link");
        std::os::unix::fs::symlink(&v1, &link).unwrap();
        std::fs::rename(&link, &live).unwrap();
        serving("hello");
        stop.store(true, Ordering::Relaxed);
    });
    let failures = failures.into_inner().unwrap();
    let seen = seen.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "failed calls during reloads: {failures:?}"
    );
    println!("{} calls during 4 reloads, all 200", seen.len());
    let h = health(&host, "live");
    assert_eq!(h["hash"], sha1_hex(&bytes("hello-bot")));
    assert!(h["load_count"].as_u64().unwrap() >= 5, "{h}");
    assert!(h["last_error"].is_null(), "{h}");
}

#[test]
fn a_file_that_does_not_load_leaves_the_old_version_serving() {
    let host = start("");
    let live = host.dir().join("live.wasm");
    for (what, contents, needle) in [
        (
            "garbage",
            b"\0asm but not really".to_vec(),
            "not a WebAssembly component",
        ),
        (
            "a truncated component",
            bytes("copy-field-bot")[..5000].to_vec(),
            "not a WebAssembly component",
        ),
        ("an extension", bytes("echo-extension"), "bot-plugin"),
    ] {
        std::fs::write(&live, &contents).unwrap();
        wait_until(&format!("{what} is reported"), WAIT, || {
            health(&host, "live")["last_error"]
                .as_str()
                .is_some_and(|e| e.contains(needle))
        });
        assert_eq!(version(&host), Ok("hello"), "after {what}");
        assert_eq!(host.health().json()["status"], "degraded");
    }
    // A good version clears the error.
    std::fs::write(&live, bytes("copy-field-bot")).unwrap();
    wait_until("the good version serves", WAIT, || {
        version(&host) == Ok("copy")
    });
    assert!(health(&host, "live")["last_error"].is_null());
    assert_eq!(host.health().json()["status"], "ok");
}

#[test]
fn config_edits_add_remove_and_change_bots() {
    let host = start("");
    let config = host.dir().join("host.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(host.dir().join("added.secret"), "added-secret-1\n").unwrap();

    // Add a bot, with its secret in a file.
    std::fs::write(
        &config,
        format!(
            "{original}\n[bots.added]\nplugin = \"{}\"\nsecret = {{ file = \"added.secret\" }}\n",
            plugin("hello-bot").display()
        ),
    )
    .unwrap();
    wait_until("the added bot answers", WAIT, || {
        host.post_signed("/bots/added", "added-secret-1", &body())
            .status
            == 200
    });

    // A changed secret file is read again on reload.
    std::fs::write(host.dir().join("added.secret"), "added-secret-2\n").unwrap();
    write_by_rename(
        &config,
        std::fs::read_to_string(&config).unwrap().as_bytes(),
    );
    wait_until("the new secret is used", WAIT, || {
        host.post_signed("/bots/added", "added-secret-2", &body())
            .status
            == 200
    });
    assert_eq!(
        host.post_signed("/bots/added", "added-secret-1", &body())
            .status,
        403
    );

    // An invalid config keeps the last good one, and says why.
    std::fs::write(&config, "[bots.live\nthis is not toml").unwrap();
    wait_until("the config error is reported", WAIT, || {
        host.health().json()["reload"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("host.toml"))
    });
    assert_eq!(version(&host), Ok("hello"));
    assert_eq!(
        host.post_signed("/bots/added", "added-secret-2", &body())
            .status,
        200
    );

    // Remove the bot.
    std::fs::write(&config, &original).unwrap();
    wait_until("the removed bot is gone", WAIT, || {
        host.post_signed("/bots/added", "added-secret-2", &body())
            .status
            == 404
    });
    assert_eq!(version(&host), Ok("hello"));
    assert!(host.health().json()["reload"]["last_error"].is_null());
}

#[test]
fn a_warm_cache_start_does_not_compile() {
    let cache = tempfile::tempdir().unwrap();
    let extra = format!(
        "[bots.other]\nplugin = \"{}\"\nsecret = {{ env = \"RELOAD_SECRET\" }}\n",
        plugin("copy-field-bot").display()
    );
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ncache_dir = \"{}\"\n\
         [bots.live]\nplugin = \"{}\"\nsecret = {{ env = \"RELOAD_SECRET\" }}\n{extra}",
        cache.path().display(),
        plugin("hello-bot").display()
    );
    let loaded = |host: &Host| -> (u64, u64) {
        host.wait_for_log("plugins loaded", Duration::from_secs(5));
        let line: Value = host
            .log()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["fields"]["message"] == "plugins loaded")
            .unwrap();
        (
            line["fields"]["compiling"].as_u64().unwrap(),
            line["fields"]["cached"].as_u64().unwrap(),
        )
    };
    let cold = Host::builder(&config).env("RELOAD_SECRET", SECRET).start();
    assert_eq!(loaded(&cold), (2, 0));
    drop(cold);
    let warm = Host::builder(&config).env("RELOAD_SECRET", SECRET).start();
    assert_eq!(loaded(&warm), (0, 2));
    assert_eq!(warm.post_signed("/bots/live", SECRET, &body()).status, 200);
    assert_eq!(warm.post_signed("/bots/other", SECRET, &body()).status, 200);
}

/// Reading the watched files (backups, `pyrus-host check`, another host starting) is not a
/// change: it must not reload.
#[test]
fn reading_the_files_does_not_reload() {
    let host = start("");
    // Let the start-up settle, then read everything the host watches, several times.
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        std::fs::read(host.dir().join("live.wasm")).unwrap();
        std::fs::read(host.dir().join("host.toml")).unwrap();
    }
    std::thread::sleep(Duration::from_millis(600));
    let reloads = host.health().json()["reload"]["reloads"].clone();
    assert_eq!(reloads, 0, "{}", host.log());
    // A write still does.
    std::fs::write(host.dir().join("live.wasm"), bytes("copy-field-bot")).unwrap();
    wait_until("the write is served", WAIT, || version(&host) == Ok("copy"));
}

#[test]
fn a_busy_file_beside_the_plugin_does_not_hold_back_a_reload() {
    let host = start("");
    assert_eq!(version(&host), Ok("hello"));
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        // A log file in the plugin's folder, written every few milliseconds, as a host's own
        // log or a store file would be.
        s.spawn(|| {
            use std::io::Write;
            let mut log = std::fs::File::create(host.dir().join("host.log")).unwrap();
            while !stop.load(Ordering::Relaxed) {
                let _ = writeln!(log, "a log line");
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        write_by_rename(&host.dir().join("live.wasm"), &bytes("copy-field-bot"));
        // The writer never pauses: the old debounce waited for a quiet folder forever.
        let served = wait_until_ok(Duration::from_secs(5), || version(&host) == Ok("copy"));
        stop.store(true, Ordering::Relaxed);
        assert!(
            served,
            "the new version was not served while the log kept changing"
        );
    });
}

#[test]
fn a_reload_keeps_the_concurrency_gate_and_the_call_in_flight() {
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n{}",
        support::misbehaving(
            "bots",
            "RELOAD_SECRET",
            &[("single", "sleep", "timeout_ms = 3_000\nmax_concurrency = 1")]
        )
    );
    let host = Host::builder(&config).env("RELOAD_SECRET", SECRET).start();
    let reloads = || host.health().json()["reload"]["reloads"].as_u64().unwrap();
    std::thread::scope(|s| {
        // Holds the one permit for 3 s.
        let first = s.spawn(|| host.post_signed("/bots/single", SECRET, b"{}"));
        std::thread::sleep(Duration::from_millis(300));
        // A config edit that changes nothing for this plugin.
        let path = host.dir().join("host.toml");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("\n# edited\n");
        std::fs::write(&path, text).unwrap();
        wait_until("the config reloads", WAIT, || reloads() >= 1);
        // The reloaded plugin shares the gate: still one call at a time.
        let second = host.post_signed("/bots/single", SECRET, b"{}");
        assert_eq!(second.status, 503, "{}", second.body);
        assert_eq!(second.error_code(), "plugin_busy");
        assert_eq!(first.join().unwrap().status, 500);
    });
}

/// Polls `check` until it returns true (true) or `timeout` passes (false).
fn wait_until_ok(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

#[test]
fn a_plugin_folder_removed_and_restored_never_stops_the_host() {
    let folder = tempfile::tempdir().unwrap();
    let plugins = folder.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::write(plugins.join("live.wasm"), bytes("hello-bot")).unwrap();
    let config = format!(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [bots.live]
        plugin = "{}"
        secret = {{ env = "RELOAD_SECRET" }}
        "#,
        plugins.join("live.wasm").display()
    );
    let mut host = Host::builder(&config).env("RELOAD_SECRET", SECRET).start();
    assert_eq!(version(&host), Ok("hello"));

    // The whole folder goes (a bad deploy, an unmounted volume): the loaded version serves.
    std::fs::remove_dir_all(&plugins).unwrap();
    wait_until("the missing file is reported", WAIT, || {
        health(&host, "live")["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("live.wasm"))
    });
    for _ in 0..5 {
        assert_eq!(version(&host), Ok("hello"));
    }

    // It comes back with a new version: served without a restart.
    std::fs::create_dir(&plugins).unwrap();
    std::fs::write(plugins.join("live.wasm"), bytes("copy-field-bot")).unwrap();
    wait_until("the restored folder's version serves", WAIT, || {
        version(&host) == Ok("copy")
    });
    assert!(health(&host, "live")["last_error"].is_null());
    assert!(host.is_running());
}

#[test]
fn a_config_that_cannot_be_read_keeps_the_last_good_one() {
    let host = start("");
    let config = host.dir().join("host.toml");
    let original = std::fs::read(&config).unwrap();

    // The config file becomes unreadable (here: a folder where the file was).
    std::fs::remove_file(&config).unwrap();
    std::fs::create_dir(&config).unwrap();
    wait_until("the unreadable config is reported", WAIT, || {
        host.health().json()["reload"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("host.toml"))
    });
    assert_eq!(version(&host), Ok("hello"));
    assert_eq!(host.get("/healthz").json()["status"], "degraded");

    // Readable again, with a change: applied.
    std::fs::remove_dir(&config).unwrap();
    std::fs::write(host.dir().join("live.wasm"), bytes("copy-field-bot")).unwrap();
    std::fs::write(&config, &original).unwrap();
    wait_until("the config is read again", WAIT, || {
        version(&host) == Ok("copy")
    });
    wait_until("the error clears", WAIT, || {
        host.health().json()["reload"]["last_error"].is_null()
    });
}

/// Kubernetes updates a mounted ConfigMap by swapping the `..data` symlink, never writing
/// `host.toml` itself: the host must notice and reload (with `watch = true`).
#[test]
fn a_config_map_update_by_symlink_swap_reloads() {
    let config = r#"
        [server]
        listen = "127.0.0.1:0"

        [bots.live]
        plugin = "live.wasm"
        secret = { env = "RELOAD_SECRET" }
    "#;
    let host = Host::builder(config)
        .env("RELOAD_SECRET", SECRET)
        .file("live.wasm", bytes("hello-bot"))
        .config_as_configmap()
        .start();
    assert_eq!(version(&host), Ok("hello"));
    let original = std::fs::read_to_string(host.dir().join("host.toml")).unwrap();
    let added = format!(
        "{original}\n[bots.added]\nplugin = \"live.wasm\"\nsecret = {{ env = \"RELOAD_SECRET\" }}\n"
    );
    support::swap_configmap(host.dir(), "v2", &added);
    wait_until("the added bot answers", WAIT, || {
        host.post_signed("/bots/added", SECRET, &body()).status == 200
    });
    // A bad update keeps the last good config; the next, fixed one still reloads.
    support::swap_configmap(host.dir(), "v3", "[bots.live\nnot toml");
    wait_until("the bad update is reported", WAIT, || {
        host.health().json()["reload"]["last_error"].is_string()
    });
    assert_eq!(version(&host), Ok("hello"));
    support::swap_configmap(host.dir(), "v4", &original);
    wait_until("the added bot is gone", WAIT, || {
        host.post_signed("/bots/added", SECRET, &body()).status == 404
    });
}
