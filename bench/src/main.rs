//! Benchmarks that print numbers. Build the host first (`cargo build --release -p pyrus-host`)
//! and the plugins (`scripts/build-plugins`), then e.g.
//!
//! ```sh
//! cargo run --release -p bench -- sequential --calls 5000
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
        Bench::Sequential { calls, body } => {
            let body = std::fs::read(
                body.unwrap_or_else(|| repo.join("tests/fixtures/comment-event.json")),
            )?;
            sequential(&repo, &host_bin, calls, &body)
        }
    }
}

fn sequential(repo: &Path, host_bin: &Path, calls: usize, body: &[u8]) -> anyhow::Result<()> {
    let plugin = repo.join("plugins/target/wasm32-wasip2/release/hello_bot.wasm");
    if !plugin.exists() {
        bail!("{} not found: run scripts/build-plugins", plugin.display());
    }
    let host = RunningHost::start(host_bin, &plugin)?;
    let url = format!("{}/bots/hello", host.base);
    let sig = sign(body);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let call = || -> anyhow::Result<Duration> {
        let started = Instant::now();
        let resp = agent
            .post(&url)
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
    let mut times = Vec::with_capacity(calls);
    let started = Instant::now();
    for _ in 0..calls {
        times.push(call()?);
    }
    let total = started.elapsed();
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "sequential signed calls to hello-bot ({} byte body, {calls} calls)",
        body.len()
    );
    println!(
        "p50 {:>8.1} us   p99 {:>8.1} us   max {:>8.1} us   {:.0} calls/s",
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
    fn start(bin: &Path, plugin: &Path) -> anyhow::Result<RunningHost> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("bench.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = \"127.0.0.1:0\"\n[bots.hello]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\n",
                plugin.display().to_string()
            ),
        )?;
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

impl Drop for RunningHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
