//! Hot reload: a watcher on the config file, every plugin file and every secret file; on a
//! change (debounced),
//! the config is read again and a new registry is built off the request path, then swapped in
//! atomically. Calls in flight finish on the version they started with.
//!
//! A file that fails to load (half-written, not wasm, wrong world) leaves the previous version
//! serving, and the error shows on `/healthz`; an invalid config keeps the last good one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use notify::{RecursiveMode, Watcher};

use crate::cache::CompileCache;
use crate::compiler::Compiler;
use crate::config::Config;
use crate::registry::Registry;
use crate::runtime::engine::EngineSettings;
use crate::server::reloads::{ReloadEvent, HISTORY};
use crate::server::AppState;

/// Quiet time after the last file event before reloading: editors and `cargo build` write a
/// file in several steps.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// The longest a reload waits for the watched files to be quiet.
pub const MAX_DEBOUNCE: Duration = Duration::from_secs(1);

/// How often the watcher looks for watched folders that went away or came back.
pub const RESCAN: Duration = Duration::from_secs(2);

/// Reloads the config and plugins into the shared state.
pub struct Reloader {
    config_path: PathBuf,
    state: Arc<AppState>,
    cache: CompileCache,
    compiler: Compiler,
    engine: EngineSettings,
    listen: std::net::SocketAddr,
    /// The files whose change triggers a reload (absolute; symlink targets too).
    watched_files: Mutex<BTreeSet<PathBuf>>,
}

impl Reloader {
    pub fn new(
        config: &Config,
        state: Arc<AppState>,
        cache: CompileCache,
        compiler: Compiler,
    ) -> Arc<Reloader> {
        let reloader = Reloader {
            config_path: absolute(&config.path),
            state,
            cache,
            compiler,
            engine: config.engine_settings(),
            listen: config.server.listen,
            watched_files: Mutex::new(BTreeSet::new()),
        };
        reloader.set_watched_files(config);
        Arc::new(reloader)
    }

    /// Reads the config again and swaps in a registry built from it. Blocking (compiles):
    /// run it on a blocking thread.
    pub fn reload(&self) {
        let started = Instant::now();
        let outcome = self.try_reload();
        let mut status = self.state.reload_status.lock().unwrap();
        status.reloads += 1;
        status.last_reload = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs());
        let duration_ms = started.elapsed().as_millis() as u64;
        let ok = matches!(&outcome, Ok((notes, _)) if notes.is_empty());
        crate::server::metrics::record_reload(ok);
        let details = match &outcome {
            Ok((notes, summary)) if notes.is_empty() => summary.clone(),
            Ok((notes, _)) => notes.join("; "),
            Err(e) => format!("kept the last good config: {e}"),
        };
        if status.history.len() == HISTORY {
            status.history.pop_front();
        }
        status.history.push_back(ReloadEvent {
            at: SystemTime::now(),
            ok,
            duration_ms,
            details,
        });
        match outcome.map(|(notes, _)| notes) {
            Ok(notes) if notes.is_empty() => {
                status.last_error = None;
                tracing::info!(duration_ms, "reloaded");
            }
            Ok(notes) => {
                status.failures += 1;
                let joined = notes.join("; ");
                tracing::warn!(duration_ms, "reloaded, with problems: {joined}");
                status.last_error = Some(joined);
            }
            Err(e) => {
                status.failures += 1;
                tracing::warn!(
                    duration_ms,
                    "reload failed, keeping the last good config: {e}"
                );
                status.last_error = Some(e);
            }
        }
    }

    /// Ok((problems that did not stop the reload, a summary)) or Err(why nothing was
    /// reloaded).
    fn try_reload(&self) -> Result<(Vec<String>, String), String> {
        // Follow the config's symlinks now, whatever this reload's outcome: after a bad
        // ConfigMap update the next (fixed) one is in a folder only the new target shows.
        if let Ok(target) = std::fs::canonicalize(&self.config_path) {
            self.watched_files.lock().unwrap().insert(target);
        }
        let config = Config::load(&self.config_path).map_err(|e| e.to_string())?;
        let mut notes = Vec::new();
        if config.engine_settings() != self.engine {
            notes.push("[runtime] settings or fuel budgets changed: restart to apply them".into());
        }
        if config.server.listen != self.listen {
            notes.push("server.listen changed: restart to apply it".into());
        }
        notes.extend(
            self.state
                .runtime
                .capabilities()
                .reload_notes(&config.capabilities, config.grants()),
        );
        self.state.max_body_bytes.store(
            config.server.max_body_bytes,
            std::sync::atomic::Ordering::Relaxed,
        );
        self.state.admin_token.store(config.admin_token.clone());
        let previous = self.state.registry.load_full();
        let (registry, report) = Registry::build(
            &self.state.runtime,
            &self.cache,
            &config,
            Some(&previous),
            Some(&self.compiler),
        );
        tracing::info!(
            compiling = report.compiling,
            cached = report.cached,
            reused = report.reused,
            "plugins rebuilt"
        );
        for e in &report.errors {
            tracing::warn!("{e} (the previous version, if any, keeps serving)");
            notes.push(e.to_string());
        }
        let registry = Arc::new(registry);
        self.state.registry.store(registry.clone());
        crate::server::compiling::finish_in_background(&self.state, &registry, report.cached);
        self.set_watched_files(&config);
        let summary = format!(
            "{} bots, {} extensions: {} compiling, {} from the cache, {} unchanged",
            config.bots.len(),
            config.extensions.len(),
            report.compiling,
            report.cached,
            report.reused
        );
        Ok((notes, summary))
    }

    fn set_watched_files(&self, config: &Config) {
        let mut files = BTreeSet::new();
        files.insert(self.config_path.clone());
        // Through symlinks too: a Kubernetes ConfigMap volume never writes `host.toml`, it
        // swaps the `..data` symlink to a new folder and removes the old one, whose file is
        // this target. After each reload the new target is watched.
        if let Ok(target) = std::fs::canonicalize(&self.config_path) {
            files.insert(target);
        }
        for (_, _, entry) in config.entries() {
            for path in std::iter::once(&entry.plugin).chain(&entry.secret_file) {
                let path = absolute(path);
                if let Ok(target) = std::fs::canonicalize(&path) {
                    files.insert(target);
                }
                files.insert(path);
            }
        }
        *self.watched_files.lock().unwrap() = files;
    }

    fn is_watched(&self, path: &Path) -> bool {
        self.watched_files.lock().unwrap().contains(path)
    }

    fn watched_dirs(&self) -> BTreeSet<PathBuf> {
        self.watched_files
            .lock()
            .unwrap()
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect()
    }

    /// Starts watching the files and reloading on change, for the life of the process.
    pub fn watch(self: &Arc<Self>) -> anyhow::Result<()> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Event>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event {
                    let _ = tx.send(event);
                }
            })?;
        // Folders, not files: an editor's or deploy tool's rename replaces the file, and a
        // watch on the old file would be lost with it.
        let mut dirs = BTreeSet::new();
        for dir in self.watched_dirs() {
            watch_dir(&mut watcher, &dir, &mut dirs);
        }
        let reloader = self.clone();
        tokio::spawn(async move {
            let relevant = |event: &notify::Event| {
                changes_content(&event.kind) && event.paths.iter().any(|p| reloader.is_watched(p))
            };
            let reload = || async {
                let r = reloader.clone();
                if let Err(e) = tokio::task::spawn_blocking(move || r.reload()).await {
                    tracing::error!("reload panicked: {e}; the previous plugins keep serving");
                }
            };
            // A watch dies with its folder (removed, unmounted): look again now and then,
            // and reload when a folder comes back, since its files changed unseen.
            let mut rescan = tokio::time::interval(RESCAN);
            loop {
                let event = tokio::select! {
                    event = rx.recv() => match event {
                        Some(event) => event,
                        None => return,
                    },
                    _ = rescan.tick() => {
                        if rewatch(&mut watcher, &mut dirs, &reloader.watched_dirs()) {
                            tracing::info!("a watched folder is back: reloading");
                            reload().await;
                        }
                        continue;
                    }
                };
                if !relevant(&event) {
                    continue;
                }
                // Debounce: wait until the watched files are quiet. Only their events restart
                // the wait (a log or store file in the same folder changes all the time), and
                // the wait is bounded.
                let latest = tokio::time::Instant::now() + MAX_DEBOUNCE;
                let mut quiet_at = tokio::time::Instant::now() + DEBOUNCE;
                loop {
                    match tokio::time::timeout_at(quiet_at.min(latest), rx.recv()).await {
                        Ok(Some(event)) if relevant(&event) => {
                            quiet_at = tokio::time::Instant::now() + DEBOUNCE;
                        }
                        Ok(Some(_)) => {}
                        Ok(None) => return,
                        Err(_) => break,
                    }
                }
                reload().await;
                rewatch(&mut watcher, &mut dirs, &reloader.watched_dirs());
            }
        });
        Ok(())
    }
}

/// Whether an event can mean new content. Reads are not: every host (this one included,
/// when it reloads) and every `pyrus-host check` opens the plugin files, and reacting to that
/// would reload over and over.
fn changes_content(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode};
    match kind {
        notify::EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        notify::EventKind::Access(_) => false,
        _ => true,
    }
}

/// Brings the watches in line with the folders `needed`: drops those whose folder is gone
/// or no longer needed, adds those that exist now. Whether a needed folder was regained.
fn rewatch(
    watcher: &mut impl Watcher,
    watched: &mut BTreeSet<PathBuf>,
    needed: &BTreeSet<PathBuf>,
) -> bool {
    watched.retain(|dir| {
        let keep = needed.contains(dir) && dir.is_dir();
        if !keep {
            let _ = watcher.unwatch(dir);
        }
        keep
    });
    let mut regained = false;
    for dir in needed {
        if !watched.contains(dir) && dir.is_dir() {
            watch_dir(watcher, dir, watched);
            regained |= watched.contains(dir);
        }
    }
    regained
}

fn watch_dir(watcher: &mut impl Watcher, dir: &Path, watched: &mut BTreeSet<PathBuf>) {
    if watched.contains(dir) {
        return;
    }
    match watcher.watch(dir, RecursiveMode::NonRecursive) {
        Ok(()) => {
            watched.insert(dir.to_path_buf());
        }
        Err(e) => tracing::warn!(dir = %dir.display(), "cannot watch for changes: {e}"),
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
