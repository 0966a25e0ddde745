//! `bench compare`: pyrus-host serving hello-bot against a native axum handler doing the same
//! work and against the Flask sample under gunicorn, with the same signed requests, the same
//! load, in one run; then per-call cost in process, startup with 100 plugins, and memory.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::load::{self, Load, Target};
use crate::server::{free_port, percentile, sign, us, RunningHost, SECRET};

pub struct Options {
    /// Load per target and body, split into `rounds` turns.
    pub duration: Duration,
    pub rounds: usize,
    pub connections: usize,
    pub plugins: usize,
    pub inprocess_calls: usize,
}

pub fn run(repo: &Path, host_bin: &Path, opts: &Options) -> anyhow::Result<()> {
    let plugins = repo.join("plugins/target/wasm32-wasip2/release");
    let hello = plugins.join("hello_bot.wasm");
    if !hello.exists() {
        bail!("{} not found: run scripts/build-plugins", hello.display());
    }
    let bodies = bodies(repo)?;
    let generator = if load::wrk_available() {
        "wrk -t2"
    } else {
        "in-process threads (install wrk for a lighter client)"
    };
    println!(
        "load: {} connections for {} s per cell, client: {generator}",
        opts.connections,
        opts.duration.as_secs()
    );

    let host = RunningHost::start(host_bin, &host_config(&hello))?;
    let mut native_cmd = Command::new(std::env::current_exe()?);
    native_cmd.arg("serve-native");
    let native = RunningHost::spawn(native_cmd, tempfile::tempdir()?)?;
    let flask = start_flask(repo)?;

    let mut targets: Vec<(&str, String)> = vec![
        (
            "pyrus-host + hello-bot",
            format!("{}/bots/hello", host.base),
        ),
        (
            "native axum (ceiling)",
            format!("{}/bots/hello", native.base),
        ),
    ];
    match &flask {
        Some(f) => targets.push(("Flask + gunicorn -w 2", format!("{}/", f.base))),
        None => println!("Flask baseline SKIPPED: python3 with flask and gunicorn, and ../shared/baselines, are needed"),
    }

    // The targets take turns in short rounds, so that this VM's slow spells (seconds long)
    // fall on all of them alike; each row is the mean req/s over its rounds, with the
    // slowest and fastest round, and the median of the rounds' p50 and p99.
    let rounds = opts.rounds.max(1);
    let per_round = (opts.duration / rounds as u32).max(Duration::from_secs(1));
    println!(
        "{rounds} rounds of {} s per target and body, taking turns",
        per_round.as_secs()
    );
    println!();
    println!(
        "{:<24} {:<22} {:>10} {:>17} {:>10} {:>10}",
        "target", "body", "req/s", "rounds min-max", "p50 us", "p99 us"
    );
    let mut results: Vec<(String, String, Load)> = Vec::new();
    for (body_name, body) in &bodies {
        let sig = sign(body);
        let pairs: Vec<(&str, &str)> = targets.iter().map(|(n, u)| (*n, u.as_str())).collect();
        let runs = take_turns(&pairs, body, &sig, rounds, opts.connections, per_round)?;
        for ((name, _), runs) in targets.iter().zip(runs) {
            let load = Load::combine(&runs);
            let (slowest, fastest) = rps_range(&runs);
            println!(
                "{:<24} {:<22} {:>10.0} {:>17} {:>10.0} {:>10.0}",
                name,
                body_name,
                load.rps,
                format!("{slowest:.0}-{fastest:.0}"),
                us(load.p50),
                us(load.p99)
            );
            results.push((name.to_string(), body_name.clone(), load));
        }
    }
    println!();
    for (body_name, _) in &bodies {
        let rps = |target: &str| {
            results
                .iter()
                .find(|(n, b, _)| n == target && b == body_name)
                .map(|(_, _, l)| l.rps)
        };
        let host_rps = rps(targets[0].0).unwrap_or(0.0);
        if let Some(native_rps) = rps(targets[1].0) {
            println!("{body_name}: host/native = {:.2}", host_rps / native_rps);
        }
        if let Some(flask_rps) = targets.get(2).and_then(|t| rps(t.0)) {
            println!("{body_name}: host/Flask  = {:.1}x", host_rps / flask_rps);
        }
    }
    drop((host, native, flask));

    inprocess(&hello, &bodies[0].1, opts.inprocess_calls)?;
    many_plugins(host_bin, &hello, opts)?;
    Ok(())
}

/// Loads each target in turn, `rounds` times (`per_round` each): this VM's slow spells,
/// seconds long, then fall on all of them alike. Each target's reply is checked before each
/// of its turns. Returns each target's runs.
pub fn take_turns(
    targets: &[(&str, &str)],
    body: &[u8],
    sig: &str,
    rounds: usize,
    connections: usize,
    per_round: Duration,
) -> anyhow::Result<Vec<Vec<Load>>> {
    let mut runs: Vec<Vec<Load>> = vec![Vec::new(); targets.len()];
    for _ in 0..rounds {
        for ((name, url), runs) in targets.iter().zip(&mut runs) {
            check_reply(url, body, sig).with_context(|| format!("{name} answered wrongly"))?;
            let target = Target {
                url,
                body,
                sig,
                wrk_request: None,
            };
            runs.push(load::run(&target, connections, per_round)?);
        }
    }
    Ok(runs)
}

/// The slowest and fastest round's req/s.
pub fn rps_range(runs: &[Load]) -> (f64, f64) {
    runs.iter().fold((f64::MAX, 0.0f64), |(lo, hi), l| {
        (lo.min(l.rps), hi.max(l.rps))
    })
}

fn host_config(hello: &Path) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ncompile_cache = false\nwatch = false\n\
         [bots.hello]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\ndedup_window_s = 0\n",
        hello.display().to_string()
    )
}

/// The small hand-written fixture, and the real capture closest to 30 KB when the shared
/// samples are there.
fn bodies(repo: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let small = std::fs::read(repo.join("tests/fixtures/comment-event.json"))?;
    let mut out = vec![(format!("small ({} B)", small.len()), small)];
    let real = repo.join("../shared/samples/real");
    match std::fs::read_dir(&real) {
        Ok(entries) => {
            let closest = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .min_by_key(|p| {
                    let len = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as i64;
                    (len - 30_000).abs()
                });
            if let Some(path) = closest {
                let body = std::fs::read(&path)?;
                out.push((format!("real ({} KB)", body.len() / 1024), body));
            }
        }
        Err(_) => println!("real body SKIPPED: ../shared/samples/real not found"),
    }
    Ok(out)
}

pub fn check_reply(url: &str, body: &[u8], sig: &str) -> anyhow::Result<()> {
    let reply = ureq::post(url)
        .set("X-Pyrus-Sig", sig)
        .set("Content-Type", "application/json")
        .send_bytes(body)?
        .into_string()?;
    if !reply.contains("This task approved by bot.") || !reply.contains("approved") {
        bail!("unexpected reply: {reply}");
    }
    Ok(())
}

fn start_flask(repo: &Path) -> anyhow::Result<Option<RunningHost>> {
    let app = repo.join("../shared/baselines/flask_bot.py");
    if !load::flask_available() || !app.exists() {
        return Ok(None);
    }
    start_gunicorn(Path::new("python3"), &app).map(Some)
}

/// The Flask sample `app` (a `flask_bot.py`) under gunicorn with 2 workers, run by `python`
/// (which must have flask and gunicorn).
pub fn start_gunicorn(python: &Path, app: &Path) -> anyhow::Result<RunningHost> {
    let port = free_port()?;
    let module = app.file_stem().context("the Flask app is a .py file")?;
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "gunicorn",
        "-w",
        "2",
        "-b",
        &format!("127.0.0.1:{port}"),
    ])
    .arg("--chdir")
    .arg(app.parent().context("the Flask app is in a folder")?)
    .arg(format!("{}:app", module.to_string_lossy()));
    RunningHost::spawn_on_port(cmd, port, tempfile::tempdir()?)
}

/// Per-call cost without HTTP: fresh store, instantiate, call, drop.
pub fn inprocess(hello: &Path, body: &[u8], calls: usize) -> anyhow::Result<()> {
    inprocess_with(hello, None, body, calls, 1)?;
    inprocess_with(hello, None, body, calls, 2)
}

/// Like [`inprocess`], for any bot plugin with host `settings` (e.g. the test plugin's
/// `nothing` mode, to see the host's own share of a call).
pub fn inprocess_with(
    plugin: &Path,
    settings: Option<&str>,
    body: &[u8],
    calls: usize,
    threads: usize,
) -> anyhow::Result<()> {
    let mut text = host_config(plugin);
    if let Some(settings) = settings {
        text.push_str(&format!("settings = {settings:?}\n"));
    }
    let host = InProcessHost::load(&text)?;
    let stats = host.time_calls("hello", body, calls, threads, 1000, settings.is_none())?;
    println!();
    println!(
        "in process, fresh instance per call (instantiate + call + drop, {} B body, {} calls, {}, {threads} thread{}): p50 {:.1} us, p99 {:.1} us, {:.0} calls/s (p50 of each tenth of the run: {:.1} to {:.1} us)",
        body.len(),
        stats.calls,
        plugin.file_name().unwrap_or_default().to_string_lossy(),
        if threads == 1 { "" } else { "s" },
        us(stats.p50),
        us(stats.p99),
        stats.per_sec,
        us(stats.tenths.0),
        us(stats.tenths.1),
    );
    Ok(())
}

/// A host loaded in this process (no HTTP), with what it needs kept alive.
pub struct InProcessHost {
    pub host: pyrus_host::host::Host,
    // Capabilities are opened on this runtime: it must outlive the host.
    _loader: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// What [`InProcessHost::time_calls`] measured.
pub struct CallStats {
    pub calls: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub per_sec: f64,
    /// The lowest and highest p50 of each tenth of the run.
    pub tenths: (Duration, Duration),
}

impl InProcessHost {
    /// Loads every plugin of `config_text` (compiling what its cache lacks) as `serve` does.
    pub fn load(config_text: &str) -> anyhow::Result<InProcessHost> {
        std::env::set_var("BENCH_SECRET", SECRET);
        let dir = tempfile::tempdir()?;
        let config =
            pyrus_host::config::Config::parse(&dir.path().join("bench.toml"), config_text)?;
        let loader = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let host = pyrus_host::host::Host::load_all(&config, &loader, false)?;
        Ok(InProcessHost {
            host,
            _loader: loader,
            _dir: dir,
        })
    }

    /// Times `calls` calls of bot `name` with `body` (fresh store, instantiate, call, drop),
    /// after `warm_up` calls per thread; with `expect_reply`, an empty reply is an error.
    pub fn time_calls(
        &self,
        name: &str,
        body: &[u8],
        calls: usize,
        threads: usize,
        warm_up: usize,
        expect_reply: bool,
    ) -> anyhow::Result<CallStats> {
        use pyrus_host::names::Kind;
        use pyrus_host::runtime::{CallInfo, Reply, Request};

        let runtime = &self.host.runtime;
        let bot = self
            .host
            .registry
            .get(Kind::Bot, name)
            .with_context(|| format!("{name} is loaded"))?;
        let body = String::from_utf8(body.to_vec())?;
        let info = || CallInfo {
            name: name.into(),
            attempt: 1,
            max_attempts: None,
            user_agent: None,
            settings: bot.settings.clone(),
        };
        // Each thread runs its share of the calls one after another on its own runtime: with
        // several threads this shows whether the instance pool scales across cores. All
        // threads warm up first, then measure together.
        let per_thread = calls.div_ceil(threads);
        let warmed = std::sync::Barrier::new(threads);
        let call = || async {
            let request = Request::Bot(body.clone());
            let admission = bot.plugin.admit(runtime)?;
            let reply = bot.plugin.call(runtime, admission, info(), request).await?;
            if matches!(reply, Reply::Json(None)) && expect_reply {
                bail!("no reply");
            }
            anyhow::Ok(())
        };
        type Measured = (Vec<Duration>, Instant, Instant);
        let results: Vec<anyhow::Result<Measured>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()?;
                        rt.block_on(async {
                            let mut warm = Ok(());
                            for _ in 0..warm_up {
                                warm = call().await;
                                if warm.is_err() {
                                    break;
                                }
                            }
                            // Every thread reaches the barrier, failed or not, so none waits
                            // forever.
                            warmed.wait();
                            warm?;
                            let mut times = Vec::with_capacity(per_thread);
                            let start = Instant::now();
                            for _ in 0..per_thread {
                                let started = Instant::now();
                                call().await?;
                                times.push(started.elapsed());
                            }
                            Ok((times, start, Instant::now()))
                        })
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let mut times = Vec::with_capacity(calls);
        let (mut first, mut last) = (None::<Instant>, None::<Instant>);
        for r in results {
            let (mine, start, end) = r?;
            times.extend(mine);
            first = Some(first.map_or(start, |f| f.min(start)));
            last = Some(last.map_or(end, |l| l.max(end)));
        }
        let wall = last.unwrap() - first.unwrap();
        Ok(call_stats(times, wall))
    }
}

fn call_stats(mut times: Vec<Duration>, wall: Duration) -> CallStats {
    // This VM has slow and fast spells lasting seconds: the p50 of each tenth of the run
    // shows how much of the spread is the machine rather than the code.
    let mut rounds: Vec<Duration> = times
        .chunks(times.len().div_ceil(10).max(1))
        .map(|round| {
            let mut round = round.to_vec();
            round.sort();
            percentile(&round, 0.5)
        })
        .collect();
    rounds.sort();
    times.sort();
    CallStats {
        calls: times.len(),
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        per_sec: times.len() as f64 / wall.as_secs_f64(),
        tenths: (rounds[0], rounds[rounds.len() - 1]),
    }
}

/// Startup with N distinct plugins (copies of hello-bot made unique), cold and warm cache,
/// and memory idle and under load spread over all of them.
fn many_plugins(host_bin: &Path, hello: &Path, opts: &Options) -> anyhow::Result<()> {
    let n = opts.plugins;
    let dir = tempfile::tempdir()?;
    let bytes = std::fs::read(hello)?;
    let mut config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ncache_dir = {:?}\nwatch = false\n",
        dir.path().join("cache").display().to_string()
    );
    for i in 0..n {
        let path = dir.path().join(format!("hello-{i:03}.wasm"));
        std::fs::write(
            &path,
            crate::reload::with_custom_section(&bytes, &format!("copy-{i}")),
        )?;
        config.push_str(&format!(
            "[bots.hello-{i:03}]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\ndedup_window_s = 0\n",
            path.display().to_string()
        ));
    }
    println!();
    let mut warm_host = None;
    for label in ["cold cache", "warm cache"] {
        drop(warm_host.take());
        let started = Instant::now();
        let host = RunningHost::start(host_bin, &config)?;
        let listening = started.elapsed();
        let loaded = host.plugins_loaded();
        let serving = host.wait_serving(started, Duration::from_secs(900))?;
        println!(
            "startup with {n} plugins, {label}: {:.0} ms to listening ({} from cache, {} to compile), {:.0} ms until all serve",
            listening.as_secs_f64() * 1e3,
            loaded["cached"],
            loaded["compiling"],
            serving.as_secs_f64() * 1e3,
        );
        warm_host = Some(host);
    }
    let host = warm_host.unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (idle, _) = host.rss_kib();
    let body = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/comment-event.json"),
    )?;
    let sig = sign(&body);
    let url = format!("{}/bots/hello-000", host.base);
    let rotate = format!(
        "request = function() return wrk.format(nil, string.format(\"/bots/hello-%03d\", math.random(0, {}))) end",
        n - 1
    );
    let load = load::run(
        &Target {
            url: &url,
            body: &body,
            sig: &sig,
            wrk_request: Some(&rotate),
        },
        opts.connections,
        opts.duration,
    )?;
    let (_, peak) = host.rss_kib();
    println!(
        "RSS with {n} plugins: idle {} MiB, peak under load {} MiB ({:.0} req/s spread over all {n})",
        idle / 1024,
        peak / 1024,
        load.rps
    );
    Ok(())
}
