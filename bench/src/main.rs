//! Benchmarks that print numbers. Build the host first (`cargo build --release -p pyrus-host`)
//! and the plugins (`scripts/build-plugins`), then e.g.
//!
//! ```sh
//! cargo run --release -p bench -- hostile --calls 2000
//! ```

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Parser, Subcommand};

mod async_queue;
mod compare;
mod hostile;
mod kv;
mod languages;
mod load;
mod logline;
mod native;
mod reload;
mod sequential;
mod server;
mod soak;

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
    /// hello-bot's latency alone, then beside a mix of hostile plugins (loops, sleeps, memory
    /// bombs, traps, floods, huge replies and errors), each called non-stop at its
    /// max_concurrency; then how late timeouts fired and the CPU each plugin was given.
    Hostile {
        /// How many calls to time in each phase (after 200 warm-up calls).
        #[arg(long, default_value_t = 2000)]
        calls: usize,
        /// The body to send (default: tests/fixtures/comment-event.json).
        #[arg(long)]
        body: Option<PathBuf>,
        /// Each hostile plugin's max_concurrency, and the clients calling it non-stop.
        #[arg(long, default_value_t = 2)]
        concurrency: u32,
        /// Leave these bots of the mix out (comma-separated names), to see what each costs.
        #[arg(long, value_delimiter = ',')]
        exclude: Vec<String>,
        /// The hostile clients' nice values to run the mix with, one phase each: at 0 the
        /// 44 load threads compete for the same cores as the host; at 10 they take CPU only
        /// when the host leaves it, as Pyrus's calls would (they come from elsewhere).
        #[arg(long, value_delimiter = ',', default_value = "0,10")]
        client_nice: Vec<i32>,
    },
    /// The comparison table: pyrus-host + hello-bot, a native axum handler doing the same
    /// work, and the Flask sample under gunicorn; then in-process call cost, startup with many
    /// plugins (cold and warm cache), and memory.
    Compare {
        /// Seconds of load per cell of the table.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Turns the targets take within a cell's seconds (this VM has slow spells of a few
        /// seconds: short alternating rounds spread them over every target).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Concurrent connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// How many distinct plugins for the startup and memory measures.
        #[arg(long, default_value_t = 100)]
        plugins: usize,
        /// Calls for the in-process measure.
        #[arg(long, default_value_t = 20_000)]
        inprocess_calls: usize,
    },
    /// Per-call cost without HTTP (fresh store, instantiate, call, drop), e.g. to profile.
    Inprocess {
        #[arg(long, default_value_t = 20_000)]
        calls: usize,
        /// The plugin file (default: hello-bot).
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// Host settings for the plugin.
        #[arg(long)]
        settings: Option<String>,
        /// Threads calling at once, each one call after another (the calls are split
        /// between them).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// The body to send (default: tests/fixtures/comment-event.json).
        #[arg(long)]
        body: Option<PathBuf>,
    },
    /// The per-call log line's cost: tracing-subscriber's JSON format against the host's
    /// own, in one run.
    Logline {
        #[arg(long, default_value_t = 100_000)]
        calls: usize,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// The cost of plugin state: each store backend's get / set / increment, and an
    /// in-process call of counter-bot (one increment) beside hello-bot, per backend (redb,
    /// and Redis when redis-server is installed).
    Kv {
        /// Operations to time per kind.
        #[arg(long, default_value_t = 2000)]
        ops: usize,
        /// In-process calls per plugin and backend.
        #[arg(long, default_value_t = 2000)]
        calls: usize,
    },
    /// A long run with everything at once (good calls, state writes, hostile plugins,
    /// reloads, idle and slowloris connections, bad signatures, oversized bodies): the host's
    /// RSS, open files, threads and good calls' latency every interval, then their growth.
    Soak {
        /// Minutes to run.
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
        /// Seconds between reports.
        #[arg(long, default_value_t = 30)]
        interval: u64,
    },
    /// The same hello bot in Rust, Python, and JavaScript (QuickJS and StarlingMonkey) side
    /// by side: per-call cost in process, component size, cold compile and warm-cache load,
    /// memory of a host with N copies of each, and HTTP req/s beside Flask under gunicorn.
    /// Smoke (every code path, seconds): `languages --only rust --calls 50 --seconds 1
    /// --rounds 1 --copies 2`.
    Languages {
        /// In-process calls timed per build (after a tenth as many, at most 200, to warm up).
        #[arg(long, default_value_t = 2000)]
        calls: usize,
        /// Seconds of HTTP load per target.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Turns the HTTP targets take within their seconds (see `compare`).
        #[arg(long, default_value_t = 4)]
        rounds: usize,
        /// Concurrent HTTP connections.
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Copies of each build in the memory measure.
        #[arg(long, default_value_t = 10)]
        copies: usize,
        /// The Flask sample bot (default: ../shared/baselines/flask_bot.py from the repo root).
        #[arg(long)]
        flask_app: Option<PathBuf>,
        /// The builds to measure (comma-separated).
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "rust,python,quickjs,starlingmonkey"
        )]
        only: Vec<languages::Language>,
    },
    /// Async mode against sync mode in one run: calls/s answered 200 (async: durably
    /// queued) and their p99, then the queue latency (200 to comment posted on a mock API)
    /// at a moderate rate.
    Async {
        /// Seconds per phase.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Calls per second of the queue-latency phase.
        #[arg(long, default_value_t = 50)]
        rate: u32,
    },
    /// Internal: the native axum server `compare` measures against.
    #[command(hide = true)]
    ServeNative,
    /// Time from writing a new plugin version to the first call it serves, over HTTP, with a
    /// cold compile cache (bytes never seen before) and a warm one (bytes seen before).
    Reload {
        /// Reloads to time for each cache state.
        #[arg(long, default_value_t = 10)]
        repeats: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Bench::ServeNative = cli.command {
        return native::serve();
    }
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
            sequential::run(&repo, &host_bin, calls, &body)
        }
        Bench::Hostile {
            calls,
            body,
            concurrency,
            exclude,
            client_nice,
        } => {
            let body = std::fs::read(
                body.unwrap_or_else(|| repo.join("tests/fixtures/comment-event.json")),
            )?;
            for nice in client_nice {
                hostile::run(&repo, &host_bin, calls, &body, concurrency, &exclude, nice)?;
            }
            Ok(())
        }
        Bench::Reload { repeats } => reload::run(&repo, &host_bin, repeats),
        Bench::Compare {
            seconds,
            rounds,
            connections,
            plugins,
            inprocess_calls,
        } => compare::run(
            &repo,
            &host_bin,
            &compare::Options {
                duration: std::time::Duration::from_secs(seconds),
                rounds,
                connections,
                plugins,
                inprocess_calls,
            },
        ),
        Bench::Inprocess {
            calls,
            plugin,
            settings,
            threads,
            body,
        } => {
            let body = std::fs::read(
                body.unwrap_or_else(|| repo.join("tests/fixtures/comment-event.json")),
            )?;
            let plugin = plugin.unwrap_or_else(|| {
                repo.join("plugins/target/wasm32-wasip2/release/hello_bot.wasm")
            });
            compare::inprocess_with(&plugin, settings.as_deref(), &body, calls, threads.max(1))
        }
        Bench::Logline { calls, rounds } => logline::run(calls, rounds),
        Bench::Kv { ops, calls } => kv::run(&repo, ops, calls),
        Bench::Soak { minutes, interval } => soak::run(
            &repo,
            &host_bin,
            &soak::Options {
                duration: std::time::Duration::from_secs_f64(minutes * 60.0),
                interval: std::time::Duration::from_secs(interval.max(1)),
            },
        ),
        Bench::Languages {
            calls,
            seconds,
            rounds,
            connections,
            copies,
            flask_app,
            only,
        } => languages::run(
            &repo,
            &host_bin,
            &languages::Options {
                calls,
                duration: std::time::Duration::from_secs(seconds),
                rounds,
                connections,
                copies,
                flask_app: flask_app
                    .unwrap_or_else(|| repo.join("../shared/baselines/flask_bot.py")),
                only,
            },
        ),
        Bench::Async {
            seconds,
            connections,
            rate,
        } => async_queue::run(
            &repo,
            &host_bin,
            &async_queue::Options {
                duration: std::time::Duration::from_secs_f64(seconds),
                connections: connections.max(1),
                rate,
            },
        ),
        Bench::ServeNative => unreachable!("handled before"),
    }
}
