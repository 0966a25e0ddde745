//! Benchmarks that print numbers. Build the host first (`cargo build --release -p pyrus-host`)
//! and the plugins (`scripts/build-plugins`), then e.g.
//!
//! ```sh
//! cargo run --release -p bench -- sequential --calls 5000 --hostile 4
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use hmac::{Hmac, Mac};
use sha1::Sha1;

#[derive(Parser)]
#[command(about = "Benchmarks of pyrus-host over real HTTP")]
struct Cli {
    /// The pyrus-host binary (default: beside this one, i.e. the same cargo profile).
    #[arg(long, global = true)]
    host_bin: Option<PathBuf>,
    #[command(subcommand)]
    command: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// Latency of signed calls to hello-bot sent one after another on one keep-alive
    /// connection: each is a full HTTP round trip, signature check and fresh instance.
    Sequential {
        /// How many calls to time (after 200 warm-up calls).
        #[arg(long, default_value_t = 5000)]
        calls: usize,
        /// The body to send (default: tests/fixtures/comment-event.json).
        #[arg(long)]
        body: Option<PathBuf>,
        /// Measure twice in the same run: alone, then with hostile plugins (looping, memory
        /// bomb, trapping, sleeping) called non-stop by this many threads beside it.
        #[arg(long, value_name = "THREADS")]
        hostile: Option<usize>,
    },
    /// Time from writing a new plugin version to the first call it serves, over HTTP, with a
    /// cold compile cache (bytes never seen before) and a warm one (bytes seen before).
    Reload {
        /// Reloads to time for each cache state.
        #[arg(long, default_value_t = 10)]
        repeats: usize,
    },
}

const SECRET: &str = "bench-secret";

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let host_bin = match cli.host_bin {
        Some(p) => p,
        None => std::env::current_exe()?.with_file_name("pyrus-host"),
    };
    if !host_bin.exists() {
        bail!(
            "{} not found: build it with the same profile (cargo build --release -p pyrus-host)",
            host_bin.display()
        );
    }
    match cli.command {
        Bench::Sequential {
            calls,
            body,
            hostile,
        } => {
            let body = std::fs::read(
                body.unwrap_or_else(|| repo.join("tests/fixtures/comment-event.json")),
            )?;
            sequential(&repo, &host_bin, calls, &body, hostile)
        }
        Bench::Reload { repeats } => reload(&repo, &host_bin, repeats),
    }
}

/// Hostile bots for `--hostile`: name, test-plugin mode, limits.
const HOSTILE: [(&str, &str, &str); 4] = [
    ("loop", "loop", "timeout_ms = 300"),
    ("memory", "memory", "memory_mb = 16"),
    ("trap", "trap", ""),
    ("sleep", "sleep", "timeout_ms = 300"),
];

fn sequential(
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

fn measure(
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
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "  {label:<32} p50 {:>8.1} us   p99 {:>8.1} us   max {:>9.1} us   {:>6.0} calls/s",
        us(pct(0.50)),
        us(pct(0.99)),
        us(*times.last().unwrap()),
        calls as f64 / total.as_secs_f64()
    );
    Ok(())
}

fn reload(repo: &Path, host_bin: &Path, repeats: usize) -> anyhow::Result<()> {
    let plugins = repo.join("plugins/target/wasm32-wasip2/release");
    let hello =
        std::fs::read(plugins.join("hello_bot.wasm")).context("run scripts/build-plugins first")?;
    let copy = std::fs::read(plugins.join("copy_field_bot.wasm"))?;
    let dir = tempfile::tempdir()?;
    let live = dir.path().join("live.wasm");
    std::fs::write(&live, &hello)?;
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ncache_dir = {:?}\n\
         [bots.live]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\n",
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
fn with_custom_section(component: &[u8], name: &str) -> Vec<u8> {
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A `pyrus-host serve` on a free port; killed on drop.
struct RunningHost {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl RunningHost {
    fn start(bin: &Path, config_text: &str) -> anyhow::Result<RunningHost> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("bench.toml");
        std::fs::write(&config, config_text)?;
        let mut child = Command::new(bin)
            .args(["--log-format", "json", "serve", "--config"])
            .arg(&config)
            .env("BENCH_SECRET", SECRET)
            // Per-call log lines would measure the terminal, not the host.
            .env("RUST_LOG", "warn,pyrus_host=info,pyrus_host::server=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let Some(line) = lines.next() else {
                bail!("pyrus-host exited before listening");
            };
            let line = line?;
            let json: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if json["fields"]["message"] == "listening" {
                break json["fields"]["addr"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
            }
        };
        // Keep draining stderr so the host never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(RunningHost {
            child,
            base: format!("http://{addr}"),
            _dir: dir,
        })
    }
}

impl RunningHost {
    fn peak_rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for RunningHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
