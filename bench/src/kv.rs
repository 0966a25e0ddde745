//! The cost of plugin state: each store backend's get / set / increment as the host performs
//! them, and a whole in-process call of counter-bot (one increment per call) beside hello-bot
//! (no state) on the same backend.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use pyrus_host::capabilities::keyvalue::backend::Scope;
use pyrus_host::capabilities::keyvalue::Store;
use pyrus_host::config::Config;
use pyrus_host::host::Host;
use pyrus_host::names::Kind;
use pyrus_host::runtime::{CallInfo, Request};

use crate::server::{free_port, percentile, us};

pub(crate) struct RedisServer(Child);

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn start_redis() -> anyhow::Result<Option<(RedisServer, String)>> {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("redis: SKIPPED (no redis-server; Debian: apt-get install redis-server)");
        return Ok(None);
    }
    let port = free_port()?;
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let server = RedisServer(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(10),
            "redis did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Some((server, format!("redis://127.0.0.1:{port}/0"))))
}

pub fn run(repo: &Path, ops: usize, calls: usize) -> anyhow::Result<()> {
    let state = tempfile::tempdir()?;
    let redis = start_redis()?;
    let mut backends = vec![(
        "redb",
        format!(
            "[store]\npath = {:?}\n",
            state.path().join("bench.redb").display().to_string()
        ),
    )];
    if let Some((_, url)) = &redis {
        backends.push((
            "redis",
            format!("[store]\nbackend = \"redis\"\nurl = {url:?}\n"),
        ));
    }
    let plugins = repo.join("plugins/target/wasm32-wasip2/release");
    println!("| backend | operation | p50 us | p99 us |");
    println!("|---|---|---|---|");
    let mut call_rows = Vec::new();
    for (name, store_section) in &backends {
        let text = format!(
            "{store_section}\n[bots.counter]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\n\
             key_value_stores = [\"default\"]\n[bots.hello]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\n",
            plugins.join("counter_bot.wasm").display().to_string(),
            plugins.join("hello_bot.wasm").display().to_string(),
        );
        std::env::set_var("BENCH_SECRET", "bench");
        let config = Config::parse(&state.path().join(format!("{name}.toml")), &text)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let store = rt.block_on(Store::open(&config.capabilities.keyvalue))?;
        for (op, times) in rt.block_on(backend_ops(&store, ops))? {
            println!(
                "| {name} | {op} | {:.1} | {:.1} |",
                us(percentile(&times, 0.5)),
                us(percentile(&times, 0.99))
            );
        }
        // The bench's own store is closed first: a redb file has one owner at a time.
        drop(store);
        let host = Host::load_all(&config, &rt, false)?;
        let runtime = &host.runtime;
        let body = r#"{"task_id": 1, "task": {"id": 1}}"#;
        for bot in ["hello", "counter"] {
            let loaded = host.registry.get(Kind::Bot, bot).context("loaded")?;
            let mut times = Vec::with_capacity(calls);
            rt.block_on(async {
                for i in 0..calls + 100 {
                    let info = CallInfo {
                        name: bot.into(),
                        attempt: 1,
                        max_attempts: None,
                        user_agent: None,
                        settings: None,
                    };
                    let started = Instant::now();
                    loaded
                        .plugin
                        .call(
                            runtime,
                            loaded.plugin.admit(runtime)?,
                            info,
                            Request::Bot(body.to_string()),
                        )
                        .await?;
                    if i >= 100 {
                        times.push(started.elapsed());
                    }
                }
                anyhow::Ok(())
            })?;
            times.sort();
            call_rows.push((name.to_string(), bot, times));
        }
    }
    println!();
    println!("In-process call, fresh instance (counter-bot increments once per call):");
    println!("| backend | plugin | p50 us | p99 us |");
    println!("|---|---|---|---|");
    for (backend, bot, times) in &call_rows {
        println!(
            "| {backend} | {bot} | {:.1} | {:.1} |",
            us(percentile(times, 0.5)),
            us(percentile(times, 0.99))
        );
    }
    Ok(())
}

type OpTimes = Vec<(&'static str, Vec<Duration>)>;

async fn backend_ops(store: &Store, ops: usize) -> anyhow::Result<OpTimes> {
    let scope = Scope {
        namespace: "bots/bench".into(),
        bucket: "default".into(),
    };
    let value = vec![b'v'; 100];
    let mut out: OpTimes = Vec::new();
    let backend = &store.backend;
    let mut times = Vec::with_capacity(ops);
    for i in 0..ops {
        let started = Instant::now();
        backend
            .set(scope.clone(), format!("key-{i}"), value.clone(), u64::MAX)
            .await?;
        times.push(started.elapsed());
    }
    out.push(("set 100 B", times));
    let mut times = Vec::with_capacity(ops);
    for i in 0..ops {
        let started = Instant::now();
        let got = backend.get(scope.clone(), format!("key-{i}")).await?;
        times.push(started.elapsed());
        anyhow::ensure!(got.as_deref() == Some(&value[..]), "read back");
    }
    out.push(("get 100 B", times));
    let mut times = Vec::with_capacity(ops);
    for _ in 0..ops {
        let started = Instant::now();
        backend
            .increment(scope.clone(), "counter".into(), 1, u64::MAX)
            .await?;
        times.push(started.elapsed());
    }
    out.push(("increment", times));
    for (_, times) in &mut out {
        times.sort();
    }
    Ok(out)
}
