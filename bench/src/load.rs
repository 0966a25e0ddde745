//! Load generation: `wrk` when installed (a C load generator, so the client costs the server
//! little CPU on a 2-core machine), else threads with keep-alive connections in this process.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::server::percentile;
use anyhow::{bail, Context};

/// What one load run measured.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub rps: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Load {
    /// Runs of equal length as one: the mean rate, and the median of their percentiles.
    pub fn combine(runs: &[Load]) -> Load {
        let median = |pick: fn(&Load) -> Duration| {
            let mut values: Vec<Duration> = runs.iter().map(pick).collect();
            values.sort();
            values[values.len() / 2]
        };
        Load {
            rps: runs.iter().map(|l| l.rps).sum::<f64>() / runs.len() as f64,
            p50: median(|l| l.p50),
            p99: median(|l| l.p99),
        }
    }
}

/// One POST to be repeated: where, which body, which signature.
pub struct Target<'a> {
    pub url: &'a str,
    pub body: &'a [u8],
    pub sig: &'a str,
    /// Extra Lua for wrk's `request` function (e.g. to rotate paths); in-process load ignores it.
    pub wrk_request: Option<&'a str>,
}

pub fn wrk_available() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

pub fn run(target: &Target, connections: usize, duration: Duration) -> anyhow::Result<Load> {
    if wrk_available() {
        wrk(target, connections, duration)
    } else {
        in_process(target, connections, duration)
    }
}

fn wrk(target: &Target, connections: usize, duration: Duration) -> anyhow::Result<Load> {
    let dir = tempfile::tempdir()?;
    let body_file = dir.path().join("body");
    std::fs::write(&body_file, target.body)?;
    let script = dir.path().join("post.lua");
    std::fs::write(
        &script,
        format!(
            r#"
wrk.method = "POST"
local f = io.open("{}", "rb")
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Pyrus-Sig"] = "{}"
{}
"#,
            body_file.display(),
            target.sig,
            target.wrk_request.unwrap_or("")
        ),
    )?;
    let out = Command::new("wrk")
        .args(["-t", "2", "-c", &connections.to_string()])
        .args(["-d", &format!("{}s", duration.as_secs().max(1))])
        .arg("--latency")
        .arg("-s")
        .arg(&script)
        .arg(target.url)
        .output()
        .context("run wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    if text.contains("Non-2xx") {
        bail!("some answers were not 2xx:\n{text}");
    }
    parse_wrk(&text).with_context(|| format!("cannot read wrk's output:\n{text}"))
}

fn parse_wrk(text: &str) -> Option<Load> {
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
    };
    Some(Load {
        rps: field("Requests/sec:")?.parse().ok()?,
        p50: wrk_duration(field("50%")?)?,
        p99: wrk_duration(field("99%")?)?,
    })
}

fn wrk_duration(text: &str) -> Option<Duration> {
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let value: f64 = number.parse().ok()?;
    let secs = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

fn in_process(target: &Target, connections: usize, duration: Duration) -> anyhow::Result<Load> {
    let stop = AtomicBool::new(false);
    let times = Mutex::new(Vec::new());
    let failure = Mutex::new(None);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..connections {
            s.spawn(|| {
                let agent = ureq::AgentBuilder::new().build();
                let mut mine = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let r = agent
                        .post(target.url)
                        .set("X-Pyrus-Sig", target.sig)
                        .set("Content-Type", "application/json")
                        .send_bytes(target.body)
                        .map(|r| r.into_string());
                    match r {
                        Ok(Ok(_)) => mine.push(t.elapsed()),
                        Ok(Err(e)) => *failure.lock().unwrap() = Some(e.to_string()),
                        Err(e) => *failure.lock().unwrap() = Some(e.to_string()),
                    }
                }
                times.lock().unwrap().extend(mine);
            });
        }
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
    });
    if let Some(e) = failure.into_inner().unwrap() {
        bail!("a request failed: {e}");
    }
    let mut times = times.into_inner().unwrap();
    if times.is_empty() {
        bail!("no request completed");
    }
    times.sort();
    let pct = |p: f64| percentile(&times, p);
    Ok(Load {
        rps: times.len() as f64 / started.elapsed().as_secs_f64(),
        p50: pct(0.5),
        p99: pct(0.99),
    })
}

/// Whether python3 can run the Flask baseline (flask and gunicorn installed).
pub fn flask_available() -> bool {
    Command::new("python3")
        .args(["-c", "import flask, gunicorn"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_wrk_output() {
        let out = "Running 2s test\n  Latency Distribution\n     50%  412.00us\n     75%    1.02ms\n     90%    2.00ms\n     99%    5.10ms\n  40000 requests in 2.00s\nRequests/sec:  19998.51\nTransfer/sec:      4.38MB\n";
        let l = super::parse_wrk(out).unwrap();
        assert_eq!(l.rps, 19998.51);
        assert_eq!(l.p50.as_micros(), 412);
        assert_eq!(l.p99.as_micros(), 5100);
    }
}
