//! `bench soak`: a long run with everything at once (good calls, calls that write state,
//! hostile plugins, a plugin reloaded over and over, idle and slowloris connections, bad
//! signatures and oversized bodies), printing the host's RSS, open files, threads and the good
//! calls' latency every interval, then whether any of them grew.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::hostile::{call_until_stopped, MIX};
use crate::reload::with_custom_section;
use crate::sequential::release_plugins;
use crate::server::{ms, percentile, sign, RunningHost};

/// The hostile bots of the soak: one of each kind of abuse (the full mix is `bench hostile`).
const HOSTILE: &[&str] = &[
    "loop-300",
    "sleep",
    "memory-64",
    "trap",
    "big-reply",
    "huge-error",
    "log-flood",
    "stdout-flood",
    "random-flood",
    "not-json",
];

pub struct Options {
    pub duration: Duration,
    pub interval: Duration,
}

/// What the callers saw during one interval.
#[derive(Default)]
struct Interval {
    good: Vec<Duration>,
    failed: usize,
    counted: usize,
}

pub fn run(repo: &Path, host_bin: &Path, options: &Options) -> anyhow::Result<()> {
    let plugins = release_plugins(
        repo,
        &[
            "hello_bot.wasm",
            "counter_bot.wasm",
            "copy_field_bot.wasm",
            "misbehaving.wasm",
        ],
    )?;
    let work = tempfile::tempdir()?;
    let live = work.path().join("live.wasm");
    let hello = std::fs::read(plugins.join("hello_bot.wasm"))?;
    let copy = std::fs::read(plugins.join("copy_field_bot.wasm"))?;
    std::fs::write(&live, &hello)?;
    let file = |name: &str| format!("{:?}", plugins.join(name).display().to_string());
    let mut config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nmax_connections = 2000\nheader_timeout_ms = 5000\n\
         cache_dir = {:?}\n\
         [store]\npath = {:?}\n\
         [bots.hello]\nplugin = {}\nsecret = {{ env = \"BENCH_SECRET\" }}\ndedup_window_s = 0\n\
         [bots.counter]\nplugin = {}\nsecret = {{ env = \"BENCH_SECRET\" }}\ndedup_window_s = 0\nkey_value_stores = [\"default\"]\n\
         [bots.live]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\ndedup_window_s = 0\n",
        work.path().join("cache").display().to_string(),
        work.path().join("state.redb").display().to_string(),
        file("hello_bot.wasm"),
        file("counter_bot.wasm"),
        live.display().to_string(),
    );
    for (name, mode, extra) in MIX.iter().filter(|(n, _, _)| HOSTILE.contains(n)) {
        config.push_str(&format!(
            "[bots.{name}]\nplugin = {}\nsecret = {{ env = \"BENCH_SECRET\" }}\ndedup_window_s = 0\nsettings = \"{mode}\"\nmax_concurrency = 1\n{extra}\n",
            file("misbehaving.wasm")
        ));
    }
    let host = RunningHost::start(host_bin, &config)?;
    let base = host.base.clone();
    let addr = base.trim_start_matches("http://").to_string();
    let body = std::fs::read(repo.join("tests/fixtures/comment-event.json"))?;
    let sig = sign(&body);

    println!(
        "soak: {} s, a report every {} s. Good traffic: 2 clients calling hello and counter \
         (one store write per call); {} hostile bots called non-stop; the `live` bot rewritten \
         every 5 s (a cold compile every 4th time); 300 idle connections and 20 slowloris ones \
         renewed every 10 s; bad signatures and 20 MiB bodies.",
        options.duration.as_secs(),
        options.interval.as_secs(),
        HOSTILE.len()
    );
    println!(
        "{:>6} {:>9} {:>6} {:>8} {:>7} {:>9} {:>9} {:>9} {:>8} {:>6} {:>7}",
        "time",
        "RSS MiB",
        "files",
        "sockets",
        "threads",
        "p50 ms",
        "p99 ms",
        "max ms",
        "good",
        "failed",
        "reloads"
    );

    let (files, sockets) = host.open_fds();
    println!(
        "  at start: RSS {:.1} MiB, {files} files and {sockets} sockets open, {} threads",
        host.rss_kib().0 as f64 / 1024.0,
        host.threads()
    );
    let stop = AtomicBool::new(false);
    let interval = Mutex::new(Interval::default());
    let reloads = AtomicUsize::new(0);
    let mut rows: Vec<(f64, u64, usize)> = Vec::new();
    std::thread::scope(|s| -> anyhow::Result<()> {
        // Good traffic: each answer checked.
        for bot in ["hello", "counter"] {
            let (stop, interval, base, body, sig) = (&stop, &interval, &base, &body, &sig);
            s.spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                let url = format!("{base}/bots/{bot}");
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let ok = agent
                        .post(&url)
                        .set("X-Pyrus-Sig", sig)
                        .send_bytes(body)
                        .ok()
                        .and_then(|r| r.into_string().ok())
                        .is_some_and(|text| text.contains("\"text\""));
                    let took = started.elapsed();
                    let mut now = interval.lock().unwrap();
                    if !ok {
                        now.failed += 1;
                    } else if bot == "hello" {
                        now.good.push(took);
                    } else {
                        now.counted += 1;
                    }
                }
            });
        }
        // Hostile traffic: answers ignored.
        for name in HOSTILE {
            let (stop, base) = (&stop, &base);
            s.spawn(move || call_until_stopped(base, name, stop));
        }
        // Reloads: a new version of `live` every 5 s, cold (unseen bytes) every 4th time.
        {
            let (stop, reloads, live) = (&stop, &reloads, &live);
            let (hello, copy) = (&hello, &copy);
            s.spawn(move || {
                let mut i = 0usize;
                while !sleep_unless(stop, Duration::from_secs(5)) {
                    i += 1;
                    let base = if i.is_multiple_of(2) { hello } else { copy };
                    let bytes = if i.is_multiple_of(4) {
                        with_custom_section(base, &format!("soak-{i}"))
                    } else {
                        base.clone()
                    };
                    let tmp = live.with_extension("upload");
                    if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, live).is_ok() {
                        reloads.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        // Abusive connections: idle ones and slowloris ones, renewed every 10 s.
        {
            let (stop, addr) = (&stop, &addr);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut idle: Vec<TcpStream> = (0..300)
                        .filter_map(|_| TcpStream::connect(addr.as_str()).ok())
                        .collect();
                    let mut slow: Vec<TcpStream> = (0..20)
                        .filter_map(|_| TcpStream::connect(addr.as_str()).ok())
                        .collect();
                    for _ in 0..10 {
                        for stream in &mut slow {
                            let _ = stream.write_all(b"P");
                        }
                        if sleep_unless(stop, Duration::from_secs(1)) {
                            break;
                        }
                    }
                    idle.clear();
                }
            });
        }
        // Bad input: wrong signatures and bodies over the limit.
        {
            let (stop, base, body) = (&stop, &base, &body);
            s.spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                let url = format!("{base}/bots/hello");
                let huge = vec![b' '; 20 << 20];
                while !sleep_unless(stop, Duration::from_millis(50)) {
                    let _ = agent.post(&url).set("X-Pyrus-Sig", "00").send_bytes(body);
                    let _ = agent.post(&url).set("X-Pyrus-Sig", "00").send_bytes(&huge);
                }
            });
        }

        let started = Instant::now();
        while started.elapsed() < options.duration {
            std::thread::sleep(options.interval);
            let now = std::mem::take(&mut *interval.lock().unwrap());
            let (rss, threads) = (host.rss_kib().0, host.threads());
            let (files, sockets) = host.open_fds();
            let mut good = now.good;
            good.sort();
            let pct = |p: f64| {
                if good.is_empty() {
                    f64::NAN
                } else {
                    ms(percentile(&good, p))
                }
            };
            println!(
                "{:>5}s {:>9.1} {:>6} {:>8} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>8} {:>6} {:>7}",
                started.elapsed().as_secs(),
                rss as f64 / 1024.0,
                files,
                sockets,
                threads,
                pct(0.5),
                pct(0.99),
                good.last().map(|d| ms(*d)).unwrap_or(f64::NAN),
                good.len() + now.counted,
                now.failed,
                reloads.load(Ordering::Relaxed)
            );
            rows.push((pct(0.99), rss, files));
        }
        stop.store(true, Ordering::Relaxed);
        Ok(())
    })?;
    summarize(&rows);
    // Every abusive connection is gone after the header timeout: what remains is the host's
    // own (listener, store, watcher, log), as at the start.
    std::thread::sleep(Duration::from_secs(6));
    let (files, sockets) = host.open_fds();
    println!(
        "  after the load stopped (6 s): RSS {:.1} MiB, {files} files and {sockets} sockets open, {} threads",
        host.rss_kib().0 as f64 / 1024.0,
        host.threads()
    );
    let text = ureq::post(&format!("{base}/bots/counter"))
        .set("X-Pyrus-Sig", &sig)
        .send_bytes(&body)
        .context("a last counter call")?
        .into_string()?;
    println!("  last counter reply (every acknowledged write counted): {text}");
    Ok(())
}

/// Growth from the first third of the run to the last: the host's memory and files should
/// level off once every plugin has been loaded and every pool slot used. RSS swings with the
/// memory bombs in flight at each sample, so its floor (the least of each third) is what
/// would show a leak; files (sockets apart) should not move at all.
fn summarize(rows: &[(f64, u64, usize)]) {
    if rows.len() < 3 {
        println!("  (too short to compare the start with the end)");
        return;
    }
    let third = rows.len() / 3;
    let (first, last) = (&rows[..third], &rows[rows.len() - third..]);
    type Pick = fn(&[(f64, u64, usize)]) -> f64;
    let measures: [(&str, Pick); 4] = [
        ("RSS floor MiB", |p| {
            p.iter().map(|r| r.1).min().unwrap_or(0) as f64 / 1024.0
        }),
        ("RSS peak MiB", |p| {
            p.iter().map(|r| r.1).max().unwrap_or(0) as f64 / 1024.0
        }),
        ("files (most)", |p| {
            p.iter().map(|r| r.2).max().unwrap_or(0) as f64
        }),
        ("hello p99 ms", |p| {
            p.iter().map(|r| r.0).sum::<f64>() / p.len() as f64
        }),
    ];
    for (label, pick) in measures {
        let (a, b) = (pick(first), pick(last));
        println!(
            "  {label:<14} first third {a:>8.1}   last third {b:>8.1}   ({:+.1}%)",
            (b - a) / a * 100.0
        );
    }
}

/// Sleeps `d` in short steps; true when `stop` was set meanwhile.
fn sleep_unless(stop: &AtomicBool, d: Duration) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.load(Ordering::Relaxed)
}
