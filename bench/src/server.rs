//! Starting the servers under test, and what every benchmark shares.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The secret every benchmark signs with: the one the Flask baseline has built in.
pub const SECRET: &str = "This-is-bot-secret-key";

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The `p` quantile (0..=1) of sorted, non-empty samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

pub fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// A server under test, in its own process, on a free port; killed on drop.
pub struct RunningHost {
    child: Child,
    pub base: String,
    /// What the server logged until it listened.
    pub startup_log: Vec<String>,
    _dir: tempfile::TempDir,
}

impl RunningHost {
    /// `pyrus-host serve` with `config_text`.
    pub fn start(bin: &Path, config_text: &str) -> anyhow::Result<RunningHost> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("bench.toml");
        std::fs::write(&config, config_text)?;
        let mut cmd = Command::new(bin);
        cmd.args(["--log-format", "json", "serve", "--config"])
            .arg(&config)
            .env("BENCH_SECRET", SECRET)
            // As in production: one log line per call (drained and discarded below).
            .env("RUST_LOG", "info");
        Self::spawn(cmd, dir)
    }

    /// A server that logs `{"fields":{"message":"listening","addr":..}}` on stderr once it
    /// accepts connections (pyrus-host, and `bench serve-native`).
    pub fn spawn(mut cmd: Command, dir: tempfile::TempDir) -> anyhow::Result<RunningHost> {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("start {cmd:?}"))?;
        let stderr = child.stderr.take().unwrap();
        let mut reader = BufReader::new(stderr);
        let mut startup_log = Vec::new();
        let addr = loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                bail!("{cmd:?} exited before listening: {startup_log:?}");
            }
            let line = line.trim_end().to_string();
            let json: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            startup_log.push(line);
            if json["fields"]["message"] == "listening" {
                break json["fields"]["addr"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe (cheaply: the
        // benchmark shares the server's cores).
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        Ok(RunningHost {
            child,
            base: format!("http://{addr}"),
            startup_log,
            _dir: dir,
        })
    }

    /// A server on a known port that answers HTTP once up (Flask under gunicorn).
    pub fn spawn_on_port(
        mut cmd: Command,
        port: u16,
        dir: tempfile::TempDir,
    ) -> anyhow::Result<RunningHost> {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("start {cmd:?}"))?;
        let host = RunningHost {
            child,
            base: format!("http://127.0.0.1:{port}"),
            startup_log: Vec::new(),
            _dir: dir,
        };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("{cmd:?} did not listen on port {port}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(host)
    }

    /// The fields of the host's "plugins loaded" log line (`cached`, `compiling`, ...).
    pub fn plugins_loaded(&self) -> serde_json::Value {
        self.startup_log
            .iter()
            .filter(|l| l.contains("plugins loaded"))
            .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|json| json["fields"].clone())
            .unwrap_or_default()
    }

    /// Waits until every plugin serves: those the compile cache lacked compile in the
    /// background, and `/healthz` says "compiling" until they are done. Returns the time
    /// since `started`.
    pub fn wait_serving(
        &self,
        started: std::time::Instant,
        limit: Duration,
    ) -> anyhow::Result<Duration> {
        loop {
            let health: serde_json::Value = serde_json::from_str(
                &ureq::get(&format!("{}/healthz", self.base))
                    .call()?
                    .into_string()?,
            )?;
            if health["status"] == "ok" {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                bail!(
                    "plugins still compiling after {} s: {health}",
                    limit.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A number from the server's `/proc/PID/status` (`VmRSS:`, `Threads:`), 0 if absent.
    pub fn status_field(&self, name: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    }

    /// Resident memory now and at its peak, in KiB.
    pub fn rss_kib(&self) -> (u64, u64) {
        (self.status_field("VmRSS:"), self.status_field("VmHWM:"))
    }

    pub fn threads(&self) -> u64 {
        self.status_field("Threads:")
    }

    /// File descriptors the server has open: (files, pipes and the like; sockets).
    pub fn open_fds(&self) -> (usize, usize) {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{}/fd", self.child.id())) else {
            return (0, 0);
        };
        let (mut files, mut sockets) = (0, 0);
        for fd in dir.flatten() {
            let target = std::fs::read_link(fd.path()).unwrap_or_default();
            if target.to_string_lossy().starts_with("socket:") {
                sockets += 1;
            } else {
                files += 1;
            }
        }
        (files, sockets)
    }

    pub fn peak_rss_kib(&self) -> u64 {
        self.rss_kib().1
    }
}

impl Drop for RunningHost {
    fn drop(&mut self) {
        // SIGTERM first: gunicorn's master then stops its workers, which SIGKILL would orphan.
        // SAFETY: kill(2) on the pid of a child this process spawned.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on loopback (for servers that cannot report the one they chose).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
