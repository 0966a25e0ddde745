//! `bench reload`: from writing a new plugin version to the first call it serves.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::server::{ms, sign, RunningHost};

pub fn run(repo: &Path, host_bin: &Path, repeats: usize) -> anyhow::Result<()> {
    let plugins = repo.join("plugins/target/wasm32-wasip2/release");
    let hello =
        std::fs::read(plugins.join("hello_bot.wasm")).context("run scripts/build-plugins first")?;
    let copy = std::fs::read(plugins.join("copy_field_bot.wasm"))?;
    let dir = tempfile::tempdir()?;
    let live = dir.path().join("live.wasm");
    std::fs::write(&live, &hello)?;
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ncache_dir = {:?}\n\
         [bots.live]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\ndedup_window_s = 0\n",
        dir.path().join("cache").display().to_string(),
        live.display().to_string()
    );
    let host = RunningHost::start(host_bin, &config)?;
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let body = std::fs::read(repo.join("tests/fixtures/comment-event.json"))?;
    let sig = sign(&body);
    let url = format!("{}/bots/live", host.base);
    // Writes `bytes` (by rename, as a deploy would) and calls until the reply starts with
    // `expect`: the time a user waits for a new version.
    let switch = |bytes: &[u8], expect: &str| -> anyhow::Result<Duration> {
        let tmp = live.with_extension("upload");
        std::fs::write(&tmp, bytes)?;
        let started = Instant::now();
        std::fs::rename(&tmp, &live)?;
        loop {
            let reply = agent
                .post(&url)
                .set("X-Pyrus-Sig", &sig)
                .send_bytes(&body)?
                .into_string()?;
            if reply.contains(expect) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("the new version never served");
            }
        }
    };
    let versions = [(&hello, "Hello,"), (&copy, "CopyField")];
    let mut cold = Vec::new();
    for i in 0..repeats {
        let (base, expect) = versions[(i + 1) % 2];
        // A custom section with a fresh name makes bytes no cache has seen.
        let unique = with_custom_section(base, &format!("bench-{}-{i}", std::process::id()));
        cold.push(switch(&unique, expect)?);
    }
    let mut warm = Vec::new();
    for (i, (bytes, expect)) in versions
        .iter()
        .cycle()
        .skip(1)
        .take(repeats + 2)
        .enumerate()
    {
        let took = switch(bytes, expect)?;
        if i >= 2 {
            warm.push(took); // the first two fill the cache
        }
    }
    println!(
        "reload: write of a new version -> first call it serves (includes the {} ms debounce)",
        100
    );
    for (label, mut times) in [
        ("cold cache (compile)", cold),
        ("warm cache (no compile)", warm),
    ] {
        times.sort();
        println!(
            "  {label:<26} median {:>7.1} ms   min {:>7.1} ms   max {:>7.1} ms   ({} reloads)",
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(*times.last().unwrap()),
            times.len()
        );
    }
    Ok(())
}

/// `component` with a custom section appended: the same program, different bytes.
pub fn with_custom_section(component: &[u8], name: &str) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n == 0 { byte } else { byte | 0x80 });
            if n == 0 {
                break;
            }
        }
    }
    let mut payload = Vec::new();
    leb(name.len(), &mut payload);
    payload.extend_from_slice(name.as_bytes());
    let mut out = component.to_vec();
    out.push(0); // custom section id
    leb(payload.len(), &mut out);
    out.extend_from_slice(&payload);
    out
}
