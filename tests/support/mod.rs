//! Harness for end-to-end tests: builds the plugins for wasm32-wasip2, starts the real
//! `pyrus-host` binary on a free port with a test config, and sends signed HTTP requests.

#![allow(dead_code)] // each test binary uses its own part of the harness

#[allow(dead_code)]
pub mod mock;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The repository root.
/// The admin token of every test host whose config sets none.
pub const TEST_ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds every plugin (examples and test plugins) once per test process, and returns the
/// folder holding the `.wasm` files.
pub fn plugins() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = repo().join("plugins");
        let target = root.join("target");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(root.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            // Flags meant for the host build must not leak into the wasm build.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .expect("run cargo to build the plugins");
        assert!(
            status.success(),
            "building the plugins failed (is the wasm32-wasip2 target installed? \
             rustup target add wasm32-wasip2)"
        );
        target.join("wasm32-wasip2/release")
    })
}

/// Builds the plugins written in another language (`plugins/*-SUFFIX` and
/// `tests/plugins/*-SUFFIX`) with `scripts/SCRIPT` once per test process, beside the Rust
/// ones. The scripts install their pinned toolchain on first use and skip what is up to date.
fn build_foreign(script: &str, suffix: &str) -> &'static Path {
    let mut dirs = Vec::new();
    for parent in ["plugins", "tests/plugins"] {
        for entry in std::fs::read_dir(repo().join(parent)).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(suffix) && entry.path().is_dir() {
                dirs.push(format!("{parent}/{name}"));
            }
        }
    }
    dirs.sort();
    let status = Command::new(repo().join("scripts").join(script))
        .args(&dirs)
        .current_dir(repo())
        .status()
        .unwrap_or_else(|e| panic!("run scripts/{script}: {e}"));
    assert!(status.success(), "scripts/{script} failed");
    warm_compile_cache(&dirs);
    plugins()
}

/// Compiles the plugins built from `dirs` into the test hosts' compile cache once, one after
/// another, with `pyrus-host check`: a Python component takes tens of seconds to compile in
/// a debug build, and test hosts started at once would otherwise each compile it at the same
/// time.
fn warm_compile_cache(dirs: &[String]) {
    let mut config = String::new();
    for (i, dir) in dirs.iter().enumerate() {
        let name = dir.rsplit('/').next().unwrap().replace('-', "_");
        let manifest = ["pyproject.toml", "package.json"]
            .iter()
            .find_map(|f| std::fs::read_to_string(repo().join(dir).join(f)).ok())
            .unwrap_or_default();
        let world = |w: &str| {
            manifest.contains(&format!("world = \"{w}\""))
                || manifest.contains(&format!("\"world\": \"{w}\""))
        };
        let section = if world("extension-plugin") || world("extension-inbound-plugin") {
            "extensions"
        } else {
            "bots"
        };
        config.push_str(&format!(
            "[{section}.p{i}]\nplugin = \"{}/{name}.wasm\"\nsecret = {{ env = \"UNUSED_SECRET\" }}\n",
            plugins().display()
        ));
        if world("extension-inbound-plugin") {
            config.push_str("inbound = true\n");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warm.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pyrus-host"))
        .args(["check", "--config"])
        .arg(&path)
        .env("UNUSED_SECRET", "not-used")
        .env("XDG_CACHE_HOME", repo().join("target/test-cache"))
        .output()
        .expect("run pyrus-host check");
    assert!(
        out.status.success(),
        "pyrus-host check of the built plugins failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds the Python plugins once per test process (componentize-py).
pub fn python_plugins() -> &'static Path {
    static BUILT: OnceLock<&'static Path> = OnceLock::new();
    BUILT.get_or_init(|| build_foreign("build-python-plugins", "-py"))
}

/// Builds the JavaScript/TypeScript plugins once per test process (jco).
pub fn js_plugins() -> &'static Path {
    static BUILT: OnceLock<&'static Path> = OnceLock::new();
    BUILT.get_or_init(|| build_foreign("build-js-plugins", "-js"))
}

/// The `.wasm` file of a plugin crate (`hello-bot` → `hello_bot.wasm`).
pub fn plugin(crate_name: &str) -> PathBuf {
    plugins().join(format!("{}.wasm", crate_name.replace('-', "_")))
}

/// The recorded Pyrus samples beside the repository, when present.
pub fn shared_samples() -> Option<PathBuf> {
    let dir = std::env::var_os("PYRUS_SAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/samples"));
    dir.is_dir().then_some(dir)
}

/// Config entries `[{section}.NAME]` served by the test plugin `misbehaving.wasm`, one per
/// `(name, mode, extra lines)`, all verified with the secret in env var `secret_env`.
pub fn misbehaving(section: &str, secret_env: &str, entries: &[(&str, &str, &str)]) -> String {
    entries
        .iter()
        .map(|(name, mode, extra)| {
            format!(
                "[{section}.{name}]\nplugin = \"{{plugins}}/misbehaving.wasm\"\n\
                 secret = {{ env = \"{secret_env}\" }}\nsettings = \"{mode}\"\n{extra}\n"
            )
        })
        .collect()
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/fixtures").join(name)).unwrap()
}

/// Updates a config mounted by [`HostBuilder::config_as_configmap`] as the kubelet does: the
/// new version in a folder of its own, a `..data_tmp` symlink to it renamed over `..data`,
/// then the old folder removed.
pub fn swap_configmap(dir: &Path, version: &str, config: &str) {
    let folder = format!("..{version}");
    std::fs::create_dir(dir.join(&folder)).unwrap();
    std::fs::write(dir.join(&folder).join("host.toml"), config).unwrap();
    let old = std::fs::read_link(dir.join("..data")).unwrap();
    std::os::unix::fs::symlink(&folder, dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    std::fs::remove_dir_all(dir.join(old)).unwrap();
}

/// Polls `check` until it returns true, or panics with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// HMAC-SHA1 of `body` under `secret`, lower-case hex, computed independently of the host.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Hosts kept in statics (shared by a test binary's tests) are never dropped, so every host
/// is also killed when the test process exits.
fn kill_at_exit(pid: u32) {
    static PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
    static REGISTER: std::sync::Once = std::sync::Once::new();
    extern "C" fn kill_all() {
        if let Ok(pids) = PIDS.lock() {
            for pid in pids.iter() {
                // SAFETY: kill(2) on a pid this process spawned; no memory is touched.
                unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
    REGISTER.call_once(|| {
        // SAFETY: registers a plain extern "C" function with no captured state.
        unsafe { libc::atexit(kill_all) };
    });
    PIDS.lock().unwrap().push(pid);
}

/// A running `pyrus-host serve`; killed on drop (and at exit, see `kill_at_exit`).
pub struct Host {
    child: Child,
    pub base: String,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

/// What the host answered.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {:?}", self.body))
    }

    /// Asserts the `{error, error_code}` shape and returns the code.
    pub fn error_code(&self) -> String {
        let json = self.json();
        assert!(
            json["error"].is_string(),
            "no error message in {}",
            self.body
        );
        json["error_code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error_code in {}", self.body))
            .to_string()
    }
}

pub struct HostBuilder {
    config: String,
    /// Whether to give the host the test admin token when its config sets none.
    admin: bool,
    env: Vec<(String, String)>,
    files: Vec<(String, Vec<u8>)>,
    soft_open_files: Option<u64>,
    wait_for_compiles: bool,
    configmap: bool,
}

impl Host {
    /// A host with `config`, where `{plugins}` stands for the folder of built plugins and
    /// `{dir}` for the config's own temporary folder.
    pub fn builder(config: &str) -> HostBuilder {
        HostBuilder {
            config: config.to_string(),
            admin: true,
            wait_for_compiles: true,
            configmap: false,
            env: Vec::new(),
            files: Vec::new(),
            soft_open_files: None,
        }
    }

    /// The folder holding the host's config (`{dir}` in the config text).
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn post(&self, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Reply {
        let mut req = agent().post(&self.url(path));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        reply(req.send_bytes(body))
    }

    /// A POST signed with `secret`, as Pyrus sends it.
    pub fn post_signed(&self, path: &str, secret: &str, body: &[u8]) -> Reply {
        let sig = sign(secret, body);
        self.post(
            path,
            body,
            &[
                ("X-Pyrus-Sig", &sig),
                ("Content-Type", "application/json"),
                ("User-Agent", "Pyrus-Bot-4"),
            ],
        )
    }

    /// `/healthz` with its details, as an operator with the admin token sees it.
    pub fn health(&self) -> Reply {
        let bearer = format!("Bearer {TEST_ADMIN_TOKEN}");
        self.get_with("/healthz", &[("Authorization", &bearer)])
    }

    pub fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[])
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = agent().get(&self.url(path));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        reply(req.call())
    }

    /// Sends raw bytes on a new connection and returns everything the host answers.
    pub fn raw_request(&self, request: &str) -> String {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// Everything the host logged so far (JSON lines).
    /// The host's log so far. The host writes its log in batches a few milliseconds apart:
    /// this waits until no line arrived for 30 ms (at most 1 s), so that what a call just
    /// logged is in it.
    pub fn log(&self) -> String {
        let started = Instant::now();
        let mut seen = self.log.lock().unwrap().len();
        let mut quiet_since = Instant::now();
        while quiet_since.elapsed() < Duration::from_millis(30)
            && started.elapsed() < Duration::from_secs(1)
        {
            std::thread::sleep(Duration::from_millis(5));
            let now = self.log.lock().unwrap().len();
            if now != seen {
                seen = now;
                quiet_since = Instant::now();
            }
        }
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`, or panics after `timeout`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) {
        let start = Instant::now();
        while !self.log.lock().unwrap().contains(needle) {
            assert!(
                start.elapsed() < timeout,
                "log never showed {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The host process's resident memory now and at its peak, in KiB (Linux).
    pub fn rss_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Resets the host's peak RSS (`VmHWM`) to its current RSS (Linux 4.0+, `clear_refs`),
    /// so that the peak of what follows can be measured.
    pub fn reset_peak_rss(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .expect("reset the peak RSS through /proc/PID/clear_refs");
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Kills the process with SIGKILL and waits for it: no shutdown code runs.
    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM, as systemd or Docker do to stop a service.
    pub fn terminate(&self) {
        // SAFETY: kill(2) on the child this harness spawned.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
    }

    /// Waits for the process to exit; its exit code, or None if it still runs after
    /// `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl HostBuilder {
    /// A host without the test admin token (for tests of what a host without one does).
    pub fn without_admin_token(mut self) -> Self {
        self.admin = false;
        self
    }

    /// Returns from `start` as soon as the host listens, with plugins maybe still compiling.
    pub fn without_waiting_for_compiles(mut self) -> Self {
        self.wait_for_compiles = false;
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Starts the host with this soft limit on open files (the hard one unchanged), as a
    /// service manager's default of 1024 would.
    pub fn soft_open_files(mut self, limit: u64) -> Self {
        self.soft_open_files = Some(limit);
        self
    }

    /// A file written into the config's folder before the host starts.
    pub fn file(mut self, name: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push((name.into(), contents.into()));
        self
    }

    /// Prepares the config and files without starting the host: for tests that change them
    /// and start hosts themselves.
    pub fn prepare(&self) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        for (name, contents) in &self.files {
            std::fs::write(dir.path().join(name), contents).unwrap();
        }
        let mut config = self
            .config
            .replace("{plugins}", &plugins().display().to_string())
            .replace("{dir}", &dir.path().display().to_string());
        // Every test host has an admin token, so that tests can read /healthz's details.
        if self.admin && !config.contains("[admin]") {
            config.push_str("\n[admin]\ntoken = { env = \"PYRUS_TEST_ADMIN_TOKEN\" }\n");
        }
        let path = dir.path().join("host.toml");
        if self.configmap {
            // As Kubernetes mounts a ConfigMap: host.toml -> ..data/host.toml, ..data -> ..v1.
            std::fs::create_dir(dir.path().join("..v1")).unwrap();
            std::fs::write(dir.path().join("..v1/host.toml"), config).unwrap();
            std::os::unix::fs::symlink("..v1", dir.path().join("..data")).unwrap();
            std::os::unix::fs::symlink("..data/host.toml", &path).unwrap();
        } else {
            std::fs::write(&path, config).unwrap();
        }
        (dir, path)
    }

    /// Mounts the config as Kubernetes mounts a ConfigMap: `host.toml` a symlink through
    /// `..data`, a symlink to the folder of the current version (see [`swap_configmap`]).
    pub fn config_as_configmap(mut self) -> Self {
        self.configmap = true;
        self
    }

    fn command(&self, config: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pyrus-host"));
        cmd.args(["--log-format", "json", "serve", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .env("PYRUS_TEST_ADMIN_TOKEN", TEST_ADMIN_TOKEN)
            // One compile cache for every test host: each plugin is compiled once per run.
            .env("XDG_CACHE_HOME", repo().join("target/test-cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(soft) = self.soft_open_files {
            use std::os::unix::process::CommandExt;
            // SAFETY: between fork and exec only getrlimit/setrlimit run, which are
            // async-signal-safe and touch only the struct passed to them.
            unsafe {
                cmd.pre_exec(move || {
                    let mut limit = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
                    limit.rlim_cur = soft.min(limit.rlim_max);
                    libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
                    Ok(())
                });
            }
        }
        cmd
    }

    /// Starts the host and waits until it listens. The config's `listen` should be
    /// `127.0.0.1:0`: the host picks a free port and logs it.
    pub fn start(self) -> Host {
        let (dir, config) = self.prepare();
        let mut child = self.command(&config).spawn().expect("start pyrus-host");
        kill_at_exit(child.id());
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listening_addr(&line) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "pyrus-host did not start listening:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        let host = Host {
            child,
            base: format!("http://{addr}"),
            log,
            _dir: dir,
        };
        // The host listens before its plugins finish compiling (in the background); a test
        // starts from a host that serves every plugin, unless it asked otherwise.
        // (A TLS host is not asked over plain HTTP: its tests wait in their own way.)
        if self.wait_for_compiles && !self.config.contains("[server.tls]") {
            wait_until("every plugin compiled", Duration::from_secs(120), || {
                host.get("/healthz").json()["compiling"] == 0
            });
        }
        host
    }

    /// Runs the host expecting it to refuse to start; returns its exit code and stderr.
    pub fn start_expecting_failure(self) -> (i32, String) {
        let (dir, _) = self.prepare();
        self.start_expecting_failure_in(dir)
    }

    /// Like [`HostBuilder::start_expecting_failure`], with the config and files `prepare`
    /// made in `dir` (and whatever was added there since).
    pub fn start_expecting_failure_in(self, dir: tempfile::TempDir) -> (i32, String) {
        let out = self
            .command(&dir.path().join("host.toml"))
            .output()
            .expect("run pyrus-host");
        let code = out.status.code().unwrap_or(-1);
        (code, String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn listening_addr(line: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(line).ok()?;
    if json["fields"]["message"] == "listening" {
        json["fields"]["addr"].as_str().map(str::to_owned)
    } else {
        None
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
}

fn reply(result: Result<ureq::Response, ureq::Error>) -> Reply {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let status = response.status();
    let content_type = response.header("content-type").map(str::to_owned);
    // `into_string` caps bodies at 10 MB; large replies are part of what is tested.
    let mut body = String::new();
    std::io::Read::read_to_string(&mut response.into_reader(), &mut body).unwrap_or_default();
    Reply {
        status,
        content_type,
        body,
    }
}

/// A `redis-server` on a free port, without persistence, stopped on drop.
pub struct Redis {
    child: Child,
    pub url: String,
    pub port: u16,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn redis() -> Option<Redis> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    redis_on(port)
}

/// A `redis-server` on `port`, or None (the test skips) where none is installed.
pub fn redis_on(port: u16) -> Option<Redis> {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("PYRUS_REQUIRE_REDIS").is_none(),
            "PYRUS_REQUIRE_REDIS is set but redis-server is not installed"
        );
        eprintln!("SKIPPED: no redis-server on PATH (Debian: apt-get install redis-server)");
        return None;
    }
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    wait_until("redis-server listens", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Some(Redis {
        child,
        url: format!("redis://127.0.0.1:{port}/0"),
        port,
    })
}
