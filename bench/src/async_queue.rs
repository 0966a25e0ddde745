//! `bench async`: what async mode costs at the door and how long a call waits in the queue.
//!
//! In one run, against one host: hello-bot in sync mode (the plugin runs in the webhook)
//! and in async mode (the call is committed to the queue, answered 200, and posted later to
//! a mock Pyrus API on loopback), driven by the same client with a distinct task per call
//! (so that no call is a retry of another). Then, at a moderate fixed rate, the time from a
//! call's 200 to its comment reaching the mock API.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::server::{ms, percentile, sign, RunningHost};

pub struct Options {
    pub duration: Duration,
    pub connections: usize,
    /// Calls per second of the queue-latency phase.
    pub rate: u32,
}

/// Comments the mock API received, by task id, with when.
type Posted = Arc<Mutex<HashMap<u64, Instant>>>;

/// A mock Pyrus API: `POST /v4/tasks/{id}/comments` is recorded and answered 200.
fn start_mock_api() -> anyhow::Result<(u16, Posted)> {
    let posted: Posted = Arc::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let seen = posted.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/v4/tasks/{id}/comments",
                axum::routing::post(move |axum::extract::Path(id): axum::extract::Path<u64>| {
                    let seen = seen.clone();
                    async move {
                        seen.lock().unwrap().insert(id, Instant::now());
                        "{}"
                    }
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app).await.expect("mock API");
        });
    });
    Ok((port, posted))
}

fn body(task: u64, api: &str) -> Vec<u8> {
    format!(
        r#"{{"event":"comment","access_token":"bench-token","task_id":{task},"user_id":1,"task":{{"id":{task},"text":"bench","author":{{"id":1,"first_name":"Bob","email":"bob@example.com"}},"comments":[{{"id":1,"text":"hi"}}]}},"api_url":"{api}"}}"#
    )
    .into_bytes()
}

/// What a load phase measured: calls answered 200 per second, and their latency.
struct Phase {
    rps: f64,
    p50: Duration,
    p99: Duration,
    failed: usize,
}

/// `connections` clients calling `url` one call after another for `duration`, each call on
/// a new task id from `next`.
fn load(url: &str, api: &str, next: &AtomicUsize, connections: usize, duration: Duration) -> Phase {
    let times = Mutex::new(Vec::new());
    let failed = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..connections {
            s.spawn(|| {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(60))
                    .build();
                let mut mine = Vec::new();
                while started.elapsed() < duration {
                    let task = next.fetch_add(1, Ordering::Relaxed) as u64;
                    let body = body(task, api);
                    let sig = sign(&body);
                    let at = Instant::now();
                    match agent.post(url).set("X-Pyrus-Sig", &sig).send_bytes(&body) {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.into_string();
                            mine.push(at.elapsed());
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                times.lock().unwrap().extend(mine);
            });
        }
    });
    let elapsed = started.elapsed();
    let mut times = times.into_inner().unwrap();
    times.sort();
    Phase {
        rps: times.len() as f64 / elapsed.as_secs_f64(),
        p50: if times.is_empty() {
            Duration::ZERO
        } else {
            percentile(&times, 0.5)
        },
        p99: if times.is_empty() {
            Duration::ZERO
        } else {
            percentile(&times, 0.99)
        },
        failed: failed.into_inner(),
    }
}

/// Waits until the queue is empty (every accepted call posted), at most `limit`.
fn drain(host: &RunningHost, limit: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let health: serde_json::Value = serde_json::from_str(
            &ureq::get(&format!("{}/healthz", host.base))
                .call()?
                .into_string()?,
        )?;
        if health["queue"]["depth"] == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "the queue did not drain: {health}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What one backend measured.
struct Measured {
    backend: &'static str,
    sync: Phase,
    accepted: Phase,
    /// 200 to comment posted, sorted.
    waits: Vec<Duration>,
}

pub fn run(repo: &Path, host_bin: &Path, options: &Options) -> anyhow::Result<()> {
    let (port, posted) = start_mock_api()?;
    let api = format!("http://127.0.0.1:{port}/v4/");
    let state = tempfile::tempdir()?;
    let redis = crate::kv::start_redis()?;
    let mut stores = vec![(
        "redb",
        format!(
            "[store]\npath = {:?}\n",
            state.path().join("queue.redb").display().to_string()
        ),
    )];
    if let Some((_, url)) = &redis {
        stores.push((
            "redis",
            format!("[store]\nbackend = \"redis\"\nurl = {url:?}\n"),
        ));
    }
    let next = AtomicUsize::new(1);
    let mut results = Vec::new();
    for (backend, store) in stores {
        results.push(measure(
            repo, host_bin, options, backend, &store, &api, &posted, &next,
        )?);
    }
    println!(
        "hello-bot, {} clients, {} s per phase, one host per backend (the client on the same cores)",
        options.connections,
        options.duration.as_secs_f64()
    );
    println!("| backend | sync calls/s | sync p99 ms | async accepted calls/s | accept p50 ms | accept p99 ms | async / sync | failed |");
    println!("|---|---|---|---|---|---|---|---|");
    for m in &results {
        println!(
            "| {} | {:.0} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            m.backend,
            m.sync.rps,
            ms(m.sync.p99),
            m.accepted.rps,
            ms(m.accepted.p50),
            ms(m.accepted.p99),
            m.accepted.rps / m.sync.rps.max(f64::MIN_POSITIVE),
            m.sync.failed + m.accepted.failed,
        );
    }
    println!();
    println!(
        "Queue latency (200 to comment posted on the mock API) at {} calls/s:",
        options.rate
    );
    println!("| backend | calls | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    for m in &results {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} |",
            m.backend,
            m.waits.len(),
            ms(percentile(&m.waits, 0.5)),
            ms(percentile(&m.waits, 0.99)),
            ms(*m.waits.last().unwrap_or(&Duration::ZERO)),
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn measure(
    repo: &Path,
    host_bin: &Path,
    options: &Options,
    backend: &'static str,
    store: &str,
    api: &str,
    posted: &Posted,
    next: &AtomicUsize,
) -> anyhow::Result<Measured> {
    let api = api.to_string();
    let posted = posted.clone();
    let plugin = repo.join("plugins/target/wasm32-wasip2/release/hello_bot.wasm");
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
{store}
[defaults]
pyrus_api_bases = [{api:?}]
[bots.sync]
plugin = {plugin:?}
secret = {{ env = "BENCH_SECRET" }}
[bots.async]
plugin = {plugin:?}
secret = {{ env = "BENCH_SECRET" }}
mode = "async"
"#,
        plugin = plugin.display().to_string(),
    );
    let host = RunningHost::start(host_bin, &config)?;
    host.wait_serving(Instant::now(), Duration::from_secs(120))?;
    // Warm up both paths.
    load(
        &format!("{}/bots/sync", host.base),
        &api,
        next,
        2,
        Duration::from_millis(300),
    );
    load(
        &format!("{}/bots/async", host.base),
        &api,
        next,
        2,
        Duration::from_millis(300),
    );
    drain(&host, Duration::from_secs(120))?;

    let sync = load(
        &format!("{}/bots/sync", host.base),
        &api,
        next,
        options.connections,
        options.duration,
    );
    let accepted = load(
        &format!("{}/bots/async", host.base),
        &api,
        next,
        options.connections,
        options.duration,
    );
    drain(&host, Duration::from_secs(600))?;
    // Queue latency at a moderate, fixed rate: the 200's arrival to the comment's.
    let answered: Mutex<Vec<(u64, Instant)>> = Mutex::default();
    let interval = Duration::from_secs_f64(1.0 / f64::from(options.rate.max(1)));
    let calls = (options.duration.as_secs_f64() * f64::from(options.rate)).max(1.0) as usize;
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let started = Instant::now();
    for i in 0..calls {
        let due = started + interval * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let task = next.fetch_add(1, Ordering::Relaxed) as u64;
        let body = body(task, &api);
        let r = agent
            .post(&format!("{}/bots/async", host.base))
            .set("X-Pyrus-Sig", &sign(&body))
            .send_bytes(&body)?;
        anyhow::ensure!(r.status() == 200, "async call answered {}", r.status());
        answered.lock().unwrap().push((task, Instant::now()));
    }
    drain(&host, Duration::from_secs(120))?;
    let posted = posted.lock().unwrap();
    let mut waits: Vec<Duration> = answered
        .into_inner()
        .unwrap()
        .iter()
        .filter_map(|(task, at)| posted.get(task).map(|p| p.saturating_duration_since(*at)))
        .collect();
    waits.sort();
    anyhow::ensure!(
        waits.len() == calls,
        "{} of {calls} calls were posted",
        waits.len()
    );

    Ok(Measured {
        backend,
        sync,
        accepted,
        waits,
    })
}
