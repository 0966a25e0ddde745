//! `bench sequential`: hello-bot latency over HTTP, one call after another, alone and beside
//! hostile plugins.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::server::{percentile, sign, us, RunningHost};

/// Hostile bots for `--hostile`: name, test-plugin mode, limits.
const HOSTILE: [(&str, &str, &str); 4] = [
    ("loop", "loop", "timeout_ms = 300"),
    ("memory", "memory", "memory_mb = 16"),
    ("trap", "trap", ""),
    ("sleep", "sleep", "timeout_ms = 300"),
];

pub fn run(
    repo: &Path,
    host_bin: &Path,
    calls: usize,
    body: &[u8],
    hostile: Option<usize>,
) -> anyhow::Result<()> {
    let plugins = repo.join("plugins/target/wasm32-wasip2/release");
    for file in ["hello_bot.wasm", "misbehaving.wasm"] {
        if !plugins.join(file).exists() {
            bail!(
                "{} not found: run scripts/build-plugins",
                plugins.join(file).display()
            );
        }
    }
    let mut config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[bots.hello]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\n",
        plugins.join("hello_bot.wasm").display().to_string()
    );
    for (name, mode, extra) in HOSTILE {
        config.push_str(&format!(
            "[bots.{name}]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\nsettings = \"{mode}\"\n{extra}\n",
            plugins.join("misbehaving.wasm").display().to_string()
        ));
    }
    let host = RunningHost::start(host_bin, &config)?;
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let sig = sign(body);
    let hello = format!("{}/bots/hello", host.base);
    let call = || -> anyhow::Result<Duration> {
        let started = Instant::now();
        let resp = agent
            .post(&hello)
            .set("X-Pyrus-Sig", &sig)
            .set("Content-Type", "application/json")
            .send_bytes(body)?;
        let text = resp.into_string()?;
        let elapsed = started.elapsed();
        if !text.contains("approved") {
            bail!("unexpected reply: {text}");
        }
        Ok(elapsed)
    };
    for _ in 0..200 {
        call()?;
    }
    println!(
        "sequential signed calls to hello-bot over HTTP ({} byte body, {calls} calls each)",
        body.len()
    );
    measure("alone", calls, &call)?;
    if let Some(threads) = hostile {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let hostile_calls = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| -> anyhow::Result<()> {
            for t in 0..threads {
                let (stop, hostile_calls, base) = (&stop, &hostile_calls, &host.base);
                s.spawn(move || {
                    let agent = ureq::AgentBuilder::new().build();
                    let empty = sign(b"{}");
                    let mut i = t;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let bot = HOSTILE[i % HOSTILE.len()].0;
                        let _ = agent
                            .post(&format!("{base}/bots/{bot}"))
                            .set("X-Pyrus-Sig", &empty)
                            .send_bytes(b"{}");
                        hostile_calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        i += 1;
                    }
                });
            }
            let result = measure(&format!("beside {threads} hostile callers"), calls, &call);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            result
        })?;
        println!(
            "  ({} hostile calls answered meanwhile; host peak RSS {} MiB)",
            hostile_calls.load(std::sync::atomic::Ordering::Relaxed),
            host.peak_rss_kib() / 1024
        );
    }
    Ok(())
}

pub fn measure(
    label: &str,
    calls: usize,
    call: &dyn Fn() -> anyhow::Result<Duration>,
) -> anyhow::Result<()> {
    let mut times = Vec::with_capacity(calls);
    let started = Instant::now();
    for _ in 0..calls {
        times.push(call()?);
    }
    let total = started.elapsed();
    times.sort();
    let pct = |p: f64| percentile(&times, p);
    println!(
        "  {label:<32} p50 {:>8.1} us   p99 {:>8.1} us   max {:>9.1} us   {:>6.0} calls/s",
        us(pct(0.50)),
        us(pct(0.99)),
        us(*times.last().unwrap()),
        calls as f64 / total.as_secs_f64()
    );
    Ok(())
}
