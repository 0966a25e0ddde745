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
