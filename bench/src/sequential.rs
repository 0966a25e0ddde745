//! `bench sequential`: hello-bot latency over HTTP, one call after another.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::server::{percentile, sign, us, RunningHost};

pub fn run(repo: &Path, host_bin: &Path, calls: usize, body: &[u8]) -> anyhow::Result<()> {
    let plugins = release_plugins(repo, &["hello_bot.wasm"])?;
    let host = RunningHost::start(host_bin, &hello_config(&plugins))?;
    let call = hello_caller(&host.base, body)?;
    println!(
        "sequential signed calls to hello-bot over HTTP ({} byte body, {calls} calls each)",
        body.len()
    );
    measure("alone", calls, &call)?;
    Ok(())
}

/// The folder of the release-built plugins, once `files` are all there.
pub fn release_plugins(repo: &Path, files: &[&str]) -> anyhow::Result<PathBuf> {
    let plugins = repo.join("plugins/target/wasm32-wasip2/release");
    for file in files {
        if !plugins.join(file).exists() {
            bail!(
                "{} not found: run scripts/build-plugins",
                plugins.join(file).display()
            );
        }
    }
    Ok(plugins)
}

/// A config serving hello-bot as `hello`, signed with the bench secret.
pub fn hello_config(plugins: &Path) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[bots.hello]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\ndedup_window_s = 0\n",
        plugins.join("hello_bot.wasm").display().to_string()
    )
}

/// One signed call of hello-bot at `base` with `body`, timed and checked; warmed up with
/// 200 calls before it is returned.
pub fn hello_caller<'a>(
    base: &str,
    body: &'a [u8],
) -> anyhow::Result<impl Fn() -> anyhow::Result<Duration> + 'a> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let sig = sign(body);
    let hello = format!("{base}/bots/hello");
    let call = move || -> anyhow::Result<Duration> {
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
    Ok(call)
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
