//! `bench hostile`: hello-bot's latency alone, then beside a mix of hostile plugins, each
//! called non-stop at its `max_concurrency`, in one run; and how late the host's timeouts
//! fired meanwhile (from its /metrics).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::sequential::{hello_caller, hello_config, measure, release_plugins};
use crate::server::{sign, RunningHost};

/// The hostile mix: bot name, test-plugin mode, extra limits. Every kind of abuse a plugin
/// can attempt: CPU (loops), time (sleeps), memory, traps, stack, floods of the host's log,
/// output and random bytes, huge replies and errors, garbage replies.
pub const MIX: &[(&str, &str, &str)] = &[
    ("loop-100", "loop", "timeout_ms = 100"),
    ("loop-300", "loop", "timeout_ms = 300"),
    ("loop-1000", "loop", "timeout_ms = 1000"),
    ("loop-2000", "loop", "timeout_ms = 2000"),
    ("loop-fuel", "loop", "fuel = 50_000_000"),
    ("sleep", "sleep", "timeout_ms = 300"),
    ("slow", "slow", "timeout_ms = 3000"),
    ("memory-16", "memory", "memory_mb = 16"),
    ("memory-64", "memory", "memory_mb = 64"),
    ("trap", "trap", ""),
    ("recurse", "recurse", ""),
    ("stack", "stack", ""),
    ("big-reply", "big-reply", "memory_mb = 256"),
    ("huge-error", "huge-error", "memory_mb = 64"),
    ("log-flood", "log-flood", ""),
    ("stdout-flood", "stdout-flood", ""),
    ("random-flood", "random-flood", ""),
    ("log-forge", "log-forge", ""),
    ("not-json", "not-json", ""),
    ("error", "error", ""),
    ("escape", "escape", ""),
    ("echo", "echo", ""),
];

pub fn run(
    repo: &Path,
    host_bin: &Path,
    calls: usize,
    body: &[u8],
    concurrency: u32,
    exclude: &[String],
    client_nice: i32,
) -> anyhow::Result<()> {
    let mix: Vec<_> = MIX
        .iter()
        .filter(|(name, _, _)| !exclude.iter().any(|e| e == name))
        .collect();
    let plugins = release_plugins(repo, &["hello_bot.wasm", "misbehaving.wasm"])?;
    let mut config = hello_config(&plugins);
    for (name, mode, extra) in &mix {
        config.push_str(&format!(
            "[bots.{name}]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\ndedup_window_s = 0\nsettings = \"{mode}\"\nmax_concurrency = {concurrency}\n{extra}\n",
            plugins.join("misbehaving.wasm").display().to_string()
        ));
    }
    let host = RunningHost::start(host_bin, &config)?;
    let call = hello_caller(&host.base, body)?;
    println!(
        "hello-bot, signed calls one after another over HTTP ({} byte body, {calls} calls each); \
         the mix: {} hostile bots, each called by {concurrency} clients non-stop (= its max_concurrency), \
         the clients at nice {client_nice}",
        body.len(),
        mix.len()
    );
    // Hello's caller stands for Pyrus, which calls from elsewhere: it asks the OS for the
    // short slice the host's workers ask for, so that it measures the host rather than its
    // own wait for a core among the hostile clients.
    pyrus_host::runtime::os_sched::set_current_thread(
        0,
        pyrus_host::runtime::os_sched::WORKER_SLICE,
    );
    measure("alone", calls, &call)?;
    let stop = AtomicBool::new(false);
    let answered = AtomicUsize::new(0);
    std::thread::scope(|s| -> anyhow::Result<()> {
        for (name, _, _) in &mix {
            for _ in 0..concurrency {
                let (stop, answered, base) = (&stop, &answered, &host.base);
                s.spawn(move || {
                    // This thread only: the host and hello's caller keep their priority.
                    // SAFETY: setpriority on the calling thread's own id.
                    unsafe {
                        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as u32, client_nice)
                    };
                    answered.fetch_add(call_until_stopped(base, name, stop), Ordering::Relaxed)
                });
            }
        }
        // Let every hostile caller reach its steady state first.
        std::thread::sleep(Duration::from_secs(2));
        let result = measure("beside the hostile mix", calls, &call);
        stop.store(true, Ordering::Relaxed);
        result
    })?;
    println!(
        "  ({} hostile calls answered meanwhile; host peak RSS {} MiB)",
        answered.load(Ordering::Relaxed),
        host.peak_rss_kib() / 1024
    );
    let metrics = ureq::get(&format!("{}/metrics", host.base))
        .call()?
        .into_string()?;
    let worst = metric(&metrics, "pyrus_timeout_lateness_max_seconds");
    let timeouts: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("pyrus_calls_total{") && l.contains("outcome=\"timeout\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    println!(
        "  timeouts: {timeouts:.0} fired, the latest {:.1} ms after its deadline (epoch tick 1 ms)",
        worst.unwrap_or(0.0) * 1e3
    );
    // The host's own view of hello's calls (from arrival to answer, both phases), against
    // the client's: what the client sees beyond it is the OS and the network stack.
    let buckets: Vec<(String, f64)> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("pyrus_call_duration_seconds_bucket{") && l.contains("plugin=\"hello\"")
        })
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?.to_string();
            Some((le, l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect();
    if let Some((_, total)) = buckets.last() {
        let shown: Vec<String> = buckets
            .iter()
            .filter(|(le, _)| {
                ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05"].contains(&le.as_str())
            })
            .map(|(le, n)| {
                let ms = le.parse::<f64>().unwrap_or(0.0) * 1e3;
                format!("<= {ms} ms {:.1}%", n / total * 100.0)
            })
            .collect();
        println!(
            "  hello in the host (arrival to answer): {}",
            shown.join(", ")
        );
    }
    println!("  CPU per plugin (pyrus_plugin_cpu_seconds):");
    let mut cpu: Vec<(String, f64)> = metrics
        .lines()
        .filter(|l| l.starts_with("pyrus_plugin_cpu_seconds{"))
        .filter_map(|l| {
            let name = l.split("plugin=\"").nth(1)?.split('"').next()?.to_string();
            Some((name, l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect();
    cpu.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, seconds) in cpu.iter().take(8) {
        println!("    {name:<14} {seconds:>8.2} s");
    }
    Ok(())
}

/// Calls the bot `name` at `base` (signed, body `{}`) one call after another until `stop`,
/// ignoring the answers; how many calls were answered.
pub fn call_until_stopped(base: &str, name: &str, stop: &AtomicBool) -> usize {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let empty = sign(b"{}");
    let url = format!("{base}/bots/{name}");
    let mut answered = 0;
    while !stop.load(Ordering::Relaxed) {
        let _ = agent
            .post(&url)
            .set("X-Pyrus-Sig", &empty)
            .send_bytes(b"{}")
            .map(|r| r.into_string());
        answered += 1;
    }
    answered
}

/// The value of an unlabelled metric in a Prometheus text page.
fn metric(page: &str, name: &str) -> Option<f64> {
    page.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}
