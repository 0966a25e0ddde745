//! `bench languages`: the same hello bot written in Rust, Python (componentize-py) and
//! JavaScript (jco with QuickJS, and with StarlingMonkey), side by side in one run: per-call
//! cost in process, component size, cold compile and warm-cache load, the memory of a host
//! serving N copies of each, and req/s over HTTP beside the Flask sample under gunicorn.
//! It prints numbers and asserts none of them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::ValueEnum;

use crate::compare::{check_reply, rps_range, start_gunicorn, take_turns, InProcessHost};
use crate::load::{self, Load};
use crate::server::{ms, sign, us, RunningHost};

/// The languages (and JS engines) the hello bot is built in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Language {
    Rust,
    Python,
    Quickjs,
    Starlingmonkey,
}

/// One build of the hello bot: where it lands, and what builds it.
struct Build {
    language: Language,
    label: &'static str,
    /// Its `[bots.NAME]` in the hosts this bench starts.
    bot: &'static str,
    file: &'static str,
    script: &'static str,
}

const BUILDS: [Build; 4] = [
    Build {
        language: Language::Rust,
        label: "Rust",
        bot: "hello-rust",
        file: "hello_bot.wasm",
        script: "scripts/build-plugins",
    },
    Build {
        language: Language::Python,
        label: "Python",
        bot: "hello-python",
        file: "hello_bot_py.wasm",
        script: "scripts/build-python-plugins",
    },
    Build {
        language: Language::Quickjs,
        label: "JS (QuickJS)",
        bot: "hello-quickjs",
        file: "hello_bot_js.wasm",
        script: "scripts/build-js-plugins",
    },
    Build {
        language: Language::Starlingmonkey,
        label: "JS (StarlingMonkey)",
        bot: "hello-starlingmonkey",
        file: "hello_bot_js_sm.wasm",
        script: "scripts/build-js-plugins --engine starlingmonkey",
    },
];

pub struct Options {
    /// In-process calls timed per build.
    pub calls: usize,
    /// HTTP load per target, split into `rounds` turns.
    pub duration: Duration,
    pub rounds: usize,
    pub connections: usize,
    /// Plugins in each memory host.
    pub copies: usize,
    /// The Flask sample bot (flask_bot.py).
    pub flask_app: PathBuf,
    pub only: Vec<Language>,
}

/// A build found on disk.
struct Present {
    build: &'static Build,
    path: PathBuf,
}

pub fn run(repo: &Path, host_bin: &Path, opts: &Options) -> anyhow::Result<()> {
    let body = std::fs::read(repo.join("tests/fixtures/comment-event.json"))?;
    let (present, missing) = find_builds(repo, &opts.only);
    if present.is_empty() {
        print_missing(&missing);
        bail!("none of the selected builds is there: build them first");
    }
    // One compile cache for the whole run, empty at first: the cold load fills it and every
    // host after that (in process and pyrus-host) loads from it, as after a restart.
    let cache = tempfile::tempdir()?;
    in_process_table(&present, cache.path(), &body, opts)?;
    print_missing(&missing);
    memory_table(host_bin, &present, cache.path(), &body, opts.copies)?;
    print_missing(&missing);
    http_table(repo, host_bin, &present, cache.path(), &body, opts)?;
    print_missing(&missing);
    Ok(())
}

/// The selected builds that exist, and those that do not.
fn find_builds(repo: &Path, only: &[Language]) -> (Vec<Present>, Vec<&'static Build>) {
    let dir = repo.join("plugins/target/wasm32-wasip2/release");
    let mut present = Vec::new();
    let mut missing = Vec::new();
    for build in BUILDS.iter().filter(|b| only.contains(&b.language)) {
        let path = dir.join(build.file);
        if path.exists() {
            present.push(Present { build, path });
        } else {
            missing.push(build);
        }
    }
    (present, missing)
}

/// A row for each missing build, in each table: a build being written is no failure.
fn print_missing(missing: &[&Build]) {
    for build in missing {
        println!(
            "{:<20} skipped: {} missing ({})",
            build.label, build.file, build.script
        );
    }
}

/// A host config with `bots` (name, wasm file), compiled code kept in `cache`.
fn config(cache: &Path, bots: &[(String, PathBuf)]) -> String {
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ncache_dir = {:?}\nwatch = false\n",
        cache.display().to_string()
    );
    for (name, wasm) in bots {
        text.push_str(&format!(
            "[bots.{name}]\nplugin = {:?}\nsecret = {{ env = \"BENCH_SECRET\" }}\ndedup_window_s = 0\n",
            wasm.display().to_string()
        ));
    }
    text
}

fn in_process_table(
    present: &[Present],
    cache: &Path,
    body: &[u8],
    opts: &Options,
) -> anyhow::Result<()> {
    println!();
    println!(
        "in process, fresh instance per call ({} B body, {} calls each, 1 thread); cold = compile with an empty cache (and write it), warm = load from the cache",
        body.len(),
        opts.calls
    );
    println!(
        "{:<20} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>18}",
        "build", "size MiB", "cold s", "warm ms", "p50 us", "p99 us", "calls/s", "tenths' p50 us"
    );
    for p in present {
        let size = std::fs::metadata(&p.path)?.len() as f64 / (1 << 20) as f64;
        let text = config(cache, &[(p.build.bot.to_string(), p.path.clone())]);
        let cold = InProcessHost::load(&text)?.host.load_time;
        let warm = InProcessHost::load(&text)?;
        if warm.host.report.cached != 1 {
            println!(
                "(warning: the warm load of {} compiled again)",
                p.build.file
            );
        }
        // Warm-up calls fault in the instance's memory and code pages once.
        let warm_up = (opts.calls / 10).clamp(1, 200);
        let stats = warm
            .time_calls(p.build.bot, body, opts.calls, 1, warm_up, true)
            .with_context(|| format!("calling {}", p.build.file))?;
        println!(
            "{:<20} {:>9.1} {:>10.2} {:>10.1} {:>10.1} {:>10.1} {:>10.0} {:>18}",
            p.build.label,
            size,
            cold.as_secs_f64(),
            ms(warm.host.load_time),
            us(stats.p50),
            us(stats.p99),
            stats.per_sec,
            format!("{:.0}-{:.0}", us(stats.tenths.0), us(stats.tenths.1)),
        );
    }
    Ok(())
}

/// Each build's memory: pyrus-host serving `copies` distinct copies of it.
fn memory_table(
    host_bin: &Path,
    present: &[Present],
    cache: &Path,
    body: &[u8],
    copies: usize,
) -> anyhow::Result<()> {
    println!();
    println!(
        "pyrus-host with {copies} copies of one build (distinct files: a custom section each, so none shares compiled code; their compiled code copied in the cache, as if each had been compiled); RSS in MiB: idle after loading, then after 3 calls of each copy (anon = not file-backed)"
    );
    println!(
        "{:<20} {:>8} {:>11} {:>10} {:>10} {:>12} {:>10}",
        "build", "cached", "serving ms", "idle", "idle anon", "after calls", "calls anon"
    );
    for p in present {
        memory_row(host_bin, p, cache, body, copies)
            .with_context(|| format!("memory with {copies} copies of {}", p.build.file))?;
    }
    Ok(())
}

fn memory_row(
    host_bin: &Path,
    p: &Present,
    cache: &Path,
    body: &[u8],
    copies: usize,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let bots = distinct_copies(&p.path, dir.path(), cache, p.build.bot, copies)?;
    let started = Instant::now();
    let host = RunningHost::start(host_bin, &config(cache, &bots))?;
    let serving = host.wait_serving(started, Duration::from_secs(1800))?;
    std::thread::sleep(Duration::from_millis(300));
    let idle = (host.status_field("VmRSS:"), host.status_field("RssAnon:"));
    let sig = sign(body);
    for (name, _) in &bots {
        for _ in 0..3 {
            check_reply(&format!("{}/bots/{name}", host.base), body, &sig)?;
        }
    }
    let called = (host.status_field("VmRSS:"), host.status_field("RssAnon:"));
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "{:<20} {:>8} {:>11.0} {:>10.1} {:>10.1} {:>12.1} {:>10.1}",
        p.build.label,
        format!("{}/{copies}", host.plugins_loaded()["cached"]),
        ms(serving),
        mib(idle.0),
        mib(idle.1),
        mib(called.0),
        mib(called.1),
    );
    Ok(())
}

/// Writes `copies` copies of `wasm` into `dir`, each made distinct by a custom section, and
/// gives each one the cache entry of the original: the compiled code is the same (a custom
/// section compiles to nothing), so this stands for compiling each copy, minutes for Python.
fn distinct_copies(
    wasm: &Path,
    dir: &Path,
    cache: &Path,
    bot: &str,
    copies: usize,
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    use pyrus_host::cache::content_hash;
    let bytes = std::fs::read(wasm)?;
    let entry = cache_entry(cache, &content_hash(&bytes))?;
    let mut bots = Vec::new();
    for i in 0..copies {
        let copy = crate::reload::with_custom_section(&bytes, &format!("copy-{i}"));
        let path = dir.join(format!("{bot}-{i:02}.wasm"));
        std::fs::write(&path, &copy)?;
        if let Some((entry, suffix)) = &entry {
            // A real copy, not a link: distinct plugins do not share page cache either.
            std::fs::copy(
                entry,
                cache.join(format!("{}{suffix}", content_hash(&copy))),
            )?;
        }
        bots.push((format!("{bot}-{i:02}"), path));
    }
    Ok(bots)
}

/// The cache file compiled from the bytes whose hash is `hash`, and what follows the hash in
/// its name (the engine's key), if the cache has it.
fn cache_entry(cache: &Path, hash: &str) -> anyhow::Result<Option<(PathBuf, String)>> {
    for entry in std::fs::read_dir(cache)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(suffix) = name.strip_prefix(hash) {
            if suffix.ends_with(".cwasm") {
                return Ok(Some((cache.join(&name), suffix.to_string())));
            }
        }
    }
    Ok(None)
}

fn http_table(
    repo: &Path,
    host_bin: &Path,
    present: &[Present],
    cache: &Path,
    body: &[u8],
    opts: &Options,
) -> anyhow::Result<()> {
    let bots: Vec<(String, PathBuf)> = present
        .iter()
        .map(|p| (p.build.bot.to_string(), p.path.clone()))
        .collect();
    let host = RunningHost::start(host_bin, &config(cache, &bots))?;
    host.wait_serving(Instant::now(), Duration::from_secs(1800))?;
    let flask = start_flask(repo, &opts.flask_app);
    let mut targets: Vec<(String, String)> = present
        .iter()
        .map(|p| {
            let name = format!("pyrus-host + {}", p.build.label);
            (name, format!("{}/bots/{}", host.base, p.build.bot))
        })
        .collect();
    if let Some(flask) = &flask {
        targets.push(("Flask + gunicorn -w 2".into(), format!("{}/", flask.base)));
    }
    let rounds = opts.rounds.max(1);
    let per_round = (opts.duration / rounds as u32).max(Duration::from_secs(1));
    println!();
    println!(
        "over HTTP: the same signed {} B body, {} connections, client {}, {rounds} rounds of {} s per target taking turns",
        body.len(),
        opts.connections,
        if load::wrk_available() { "wrk -t2" } else { "in-process threads" },
        per_round.as_secs()
    );
    let pairs: Vec<(&str, &str)> = targets
        .iter()
        .map(|(n, u)| (n.as_str(), u.as_str()))
        .collect();
    let sig = sign(body);
    let runs = take_turns(&pairs, body, &sig, rounds, opts.connections, per_round)?;
    print_http(&targets, &runs, flask.is_some());
    Ok(())
}

fn print_http(targets: &[(String, String)], runs: &[Vec<Load>], with_flask: bool) {
    let loads: Vec<Load> = runs.iter().map(|r| Load::combine(r)).collect();
    let flask_rps = with_flask.then(|| loads.last().unwrap().rps);
    println!(
        "{:<34} {:>10} {:>17} {:>10} {:>10} {:>9}",
        "target", "req/s", "rounds min-max", "p50 us", "p99 us", "vs Flask"
    );
    for (((name, _), load), runs) in targets.iter().zip(&loads).zip(runs) {
        let (slowest, fastest) = rps_range(runs);
        let ratio = flask_rps.map_or("-".into(), |f| format!("{:.1}x", load.rps / f));
        println!(
            "{:<34} {:>10.0} {:>17} {:>10.0} {:>10.0} {:>9}",
            name,
            load.rps,
            format!("{slowest:.0}-{fastest:.0}"),
            us(load.p50),
            us(load.p99),
            ratio
        );
    }
}

/// The Flask sample under gunicorn, from the pinned venv; `None` (with the reason printed)
/// when the app is absent or the venv cannot be made.
fn start_flask(repo: &Path, app: &Path) -> Option<RunningHost> {
    if !app.exists() {
        println!(
            "Flask row skipped: {} not found (--flask-app PATH)",
            app.display()
        );
        return None;
    }
    let started = flask_python(repo).and_then(|python| start_gunicorn(&python, app));
    match started {
        Ok(flask) => Some(flask),
        Err(e) => {
            println!("Flask row skipped: {e:#}");
            None
        }
    }
}

/// The venv's python with Flask and gunicorn at the versions scripts/toolchains.env pins,
/// installed under target/toolchains/ the first time (never system-wide).
fn flask_python(repo: &Path) -> anyhow::Result<PathBuf> {
    let flask = toolchain_pin(repo, "FLASK_VERSION")?;
    let gunicorn = toolchain_pin(repo, "GUNICORN_VERSION")?;
    let venv = repo.join(format!(
        "target/toolchains/python-flask-{flask}-gunicorn-{gunicorn}"
    ));
    let python = venv.join("bin/python");
    if python.exists() {
        return Ok(python);
    }
    println!(
        "installing Flask {flask} and gunicorn {gunicorn} into {}",
        venv.display()
    );
    let step = |cmd: &mut Command| -> anyhow::Result<()> {
        let out = cmd.output().with_context(|| format!("run {cmd:?}"))?;
        if !out.status.success() {
            bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    };
    step(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    let installed = step(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("flask=={flask}"),
        &format!("gunicorn=={gunicorn}"),
    ]));
    if installed.is_err() {
        // A half-made venv would be taken for a good one next time.
        let _ = std::fs::remove_dir_all(&venv);
    }
    installed.map(|()| python)
}

/// `KEY=value` from scripts/toolchains.env.
fn toolchain_pin(repo: &Path, key: &str) -> anyhow::Result<String> {
    let path = repo.join("scripts/toolchains.env");
    let text = std::fs::read_to_string(&path)?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().to_string())
        .next()
        .with_context(|| format!("{} does not pin {key}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_builds_are_listed_not_fatal() {
        let repo = tempfile::tempdir().unwrap();
        let dir = repo.path().join("plugins/target/wasm32-wasip2/release");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("hello_bot.wasm"), b"").unwrap();
        let (present, missing) =
            find_builds(repo.path(), &[Language::Rust, Language::Starlingmonkey]);
        assert_eq!(present.len(), 1);
        assert_eq!(present[0].build.language, Language::Rust);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].file, "hello_bot_js_sm.wasm");
    }

    #[test]
    fn reads_pins() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join("scripts")).unwrap();
        std::fs::write(
            repo.path().join("scripts/toolchains.env"),
            "# FLASK_VERSION=0\nFLASK_VERSIONS=9\nFLASK_VERSION=3.1.3\n",
        )
        .unwrap();
        assert_eq!(
            toolchain_pin(repo.path(), "FLASK_VERSION").unwrap(),
            "3.1.3"
        );
        assert!(toolchain_pin(repo.path(), "GUNICORN_VERSION").is_err());
    }
}
