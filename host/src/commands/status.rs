//! `pyrus-host status`: the admin page's table in a terminal, read from the running host's
//! `GET /admin/api/plugins` (the config gives its address and admin token).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use pyrus_host::config::{Config, Secrets};
use pyrus_host::text::sanitize;
use serde_json::Value;

#[derive(clap::Args)]
pub struct StatusArgs {
    /// The running host's TOML config file (for its address and `[admin] token`).
    #[arg(long, short)]
    config: PathBuf,
    /// Print the JSON as the host answered it instead of the table.
    #[arg(long)]
    json: bool,
    /// The host's address, when it is not the config's `listen` (e.g. port 0, or behind a
    /// proxy): `http://HOST:PORT`.
    #[arg(long)]
    url: Option<String>,
}

/// The most the status command reads of the host's answer.
const MAX_ANSWER_BYTES: usize = 16 << 20;
/// Minutes of the calls sparkline in the table.
const SPARK_MINUTES: usize = 30;

pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load_with(&args.config, Secrets::Defer)?;
    let Some(token) = config.admin_token.clone() else {
        bail!(
            "{}: [admin] token is not set, so the host serves no admin endpoint to read",
            args.config.display()
        );
    };
    if config.server.tls.is_some() && args.url.is_some() {
        eprintln!("warning: the host serves HTTPS, but --url is plain HTTP: the admin token goes unencrypted");
    }
    if config.server.tls.is_some() && args.url.is_none() {
        bail!("the host serves HTTPS; `status` reads plain HTTP hosts only (use curl with the admin token on /admin/api/plugins)");
    }
    let addr = match &args.url {
        Some(url) => {
            let authority = url.strip_prefix("http://").with_context(|| {
                format!("--url {url}: status reads plain HTTP hosts: http://HOST:PORT")
            })?;
            let authority = authority.trim_end_matches('/');
            std::net::ToSocketAddrs::to_socket_addrs(authority)
                .with_context(|| format!("--url {url}"))?
                .next()
                .with_context(|| format!("--url {url}: no address"))?
        }
        None => {
            let mut addr = config.server.listen;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            addr
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let token = String::from_utf8_lossy(token.expose()).into_owned();
    let body = rt
        .block_on(async {
            tokio::time::timeout(
                Duration::from_secs(10),
                get(addr, "/admin/api/plugins", &token),
            )
            .await
        })
        .context("the host did not answer within 10 s")?
        .with_context(|| format!("reading http://{addr}/admin/api/plugins"))?;
    let json: Value = serde_json::from_slice(&body).context("the host's answer is not JSON")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", table(&json));
    }
    Ok(ExitCode::SUCCESS)
}

async fn get(addr: std::net::SocketAddr, path: &str, token: &str) -> anyhow::Result<Vec<u8>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, addr.to_string())
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("reading the answer: {e}"))?
        .to_bytes();
    if !status.is_success() {
        bail!(
            "the host answered {status}: {}",
            sanitize(&String::from_utf8_lossy(&body), 200)
        );
    }
    Ok(body.to_vec())
}

/// The table: a row per plugin, with a sparkline of its calls over the last half hour.
fn table(json: &Value) -> String {
    let mut rows = vec![[
        "KIND",
        "NAME",
        "VER",
        "CALLS 15m",
        "ERR 15m",
        "P99 15m",
        "CPU",
        "PEAK MEM",
        "QUEUE",
        "CALLS/MIN, 30 MIN",
    ]
    .map(String::from)];
    let empty = Vec::new();
    for p in json["plugins"].as_array().unwrap_or(&empty) {
        let text = |v: &Value| sanitize(v.as_str().unwrap_or("?"), 60).into_owned();
        let minutes = p["minutes"].as_array().unwrap_or(&empty);
        let calls: Vec<f64> = minutes
            .iter()
            .rev()
            .take(SPARK_MINUTES)
            .rev()
            .map(|m| m["calls"].as_f64().unwrap_or(0.0))
            .collect();
        rows.push([
            text(&p["kind"]),
            text(&p["name"]),
            format!("v{}", p["version"]),
            p["calls_15m"].to_string(),
            p["errors_15m"].to_string(),
            p["p99_15m_ms"]
                .as_f64()
                .map_or("–".into(), |ms| format!("{ms:.1} ms")),
            format!("{:.1}%", p["cpu_share"].as_f64().unwrap_or(0.0) * 100.0),
            match p["peak_memory_mb"].as_f64() {
                Some(mb) => format!("{mb:.1}/{} MiB", p["memory_limit_mb"]),
                None => format!("–/{} MiB", p["memory_limit_mb"]),
            },
            queue(&p["queue"]),
            spark(&calls),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!(
        "pyrus-host {} · {} · {} instances in use\n",
        sanitize(json["version"].as_str().unwrap_or("?"), 40),
        sanitize(json["status"].as_str().unwrap_or("?"), 40),
        json["instances_in_use"]
    );
    for row in rows {
        let cells: Vec<String> = (row.iter().zip(&widths))
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// An async bot's jobs in the queue at the last sample: `3 jobs, oldest 12s` (and how many
/// are parked); empty for the others.
fn queue(q: &Value) -> String {
    let Some(depth) = q["depth"].as_u64() else {
        return String::new();
    };
    let mut cell = format!(
        "{depth} jobs, oldest {}s",
        q["oldest_age_s"].as_u64().unwrap_or(0)
    );
    if let Some(parked) = q["parked"].as_u64().filter(|&n| n > 0) {
        cell.push_str(&format!(", {parked} parked"));
    }
    cell
}

/// Block characters from the lowest to the highest value (a space for none).
fn spark(values: &[f64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().fold(0.0, f64::max);
    values
        .iter()
        .map(|&v| match (v, max) {
            (v, _) if v <= 0.0 => ' ',
            (v, max) => BLOCKS[((v / max * 7.0).round() as usize).min(7)],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_escapes_what_the_host_sent() {
        let json = serde_json::json!({
            "version": "0.1.0", "status": "ok", "instances_in_use": 0,
            "plugins": [{"kind": "bot", "name": "evil\u{1b}[31m", "version": 2,
                "calls_15m": 3, "errors_15m": 1, "p99_15m_ms": 12.5, "cpu_share": 0.25,
                "peak_memory_mb": 3.0, "memory_limit_mb": 64,
                "minutes": [{"calls": 0}, {"calls": 1}, {"calls": 4}]},
                {"kind": "bot", "name": "queued", "version": 1, "calls_15m": 0,
                "errors_15m": 0, "cpu_share": 0.0, "memory_limit_mb": 64, "minutes": [],
                "queue": {"depth": 7, "oldest_age_s": 42, "parked": 1, "sampled_at": 0}}]
        });
        let out = table(&json);
        assert!(!out.contains('\u{1b}'), "{out}");
        assert!(
            out.contains("evil\\u{1b}[31m") && out.contains("12.5 ms") && out.contains("25.0%"),
            "{out}"
        );
        assert!(out.contains(" ▃█"), "{out}");
        let queued = out.lines().find(|l| l.contains(" queued ")).unwrap();
        assert!(queued.contains("7 jobs, oldest 42s, 1 parked"), "{out}");
        let evil = out.lines().find(|l| l.contains(" evil")).unwrap();
        assert!(!evil.contains("jobs"), "a sync bot has no queue: {out}");
    }
}
