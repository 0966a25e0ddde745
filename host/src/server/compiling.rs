//! Serving plugins that are still compiling: each compile job, once done, swaps in a registry
//! that serves the plugin (or records why it failed), and a call to a plugin still compiling
//! moves its job to the front and waits for it, within the plugin's timeout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;

use super::error::ApiError;
use super::webhook::Failure;
use super::AppState;
use crate::names::Kind;
use crate::registry::{Compiling, Registry};

/// Compile progress as a status line on a terminal: `compiling 37/100 plugins, 12 from cache`.
struct Progress {
    /// Plugins of the registry, and how many of them were ready at once (loaded, from the
    /// cache, or unchanged).
    total: usize,
    ready_at_start: usize,
    cached: usize,
    done: AtomicUsize,
}

impl Progress {
    fn show(&self, done: usize) {
        let jobs = self.total - self.ready_at_start;
        let line = format!(
            "compiling {}/{} plugins, {} from cache",
            self.ready_at_start + done,
            self.total,
            self.cached
        );
        crate::log_writer::status(Some(line));
        if done == jobs {
            crate::log_writer::status(None);
        }
    }
}

/// Applies each of `registry`'s compile jobs to the served registry when it is done. Call
/// after `registry` was stored in `state` (at start, and after each reload); `cached` is how
/// many of its plugins came from the compile cache (for the progress line).
pub fn finish_in_background(state: &Arc<AppState>, registry: &Registry, cached: usize) {
    let jobs = registry.compiling().count();
    // A plugin compiling for the first time is not served yet; one being rebuilt is.
    let first_builds = (registry.compiling())
        .filter(|c| registry.get(c.kind, c.name.as_str()).is_none())
        .count();
    let total = registry.all().count() + first_builds;
    let progress = Arc::new(Progress {
        total,
        ready_at_start: total - jobs,
        cached,
        done: AtomicUsize::new(0),
    });
    if jobs > 0 {
        progress.show(0);
    }
    for compiling in registry.compiling() {
        let (state, compiling, progress) = (state.clone(), compiling.clone(), progress.clone());
        let started = Instant::now();
        tokio::spawn(async move {
            compiling.job.done().await;
            // Linking takes a few milliseconds: off the workers that serve calls.
            let applied = tokio::task::spawn_blocking(move || {
                let mut outcome = None;
                state.registry.rcu(|current| {
                    let (kind, name, job) = (compiling.kind, &compiling.name, &compiling.job);
                    match current.with_compiled(&state.runtime, kind, name, job) {
                        Some((next, result)) => {
                            outcome = Some(result);
                            Arc::new(next)
                        }
                        None => {
                            outcome = None;
                            current.clone()
                        }
                    }
                });
                (compiling, outcome)
            })
            .await;
            progress.show(progress.done.fetch_add(1, Ordering::Relaxed) + 1);
            let Ok((compiling, Some(outcome))) = applied else {
                return; // a newer build took this plugin over
            };
            let key = format!("{}.{}", compiling.kind.section(), compiling.name);
            let ms = started.elapsed().as_millis() as u64;
            match outcome {
                Ok(()) => {
                    tracing::info!(plugin = %key, ready_after_ms = ms, "plugin compiled and serving")
                }
                Err(e) => tracing::error!(
                    plugin = %key,
                    "plugin failed to load after compiling (its previous version, if any, keeps serving): {}",
                    // Compiler messages quote names from the plugin file.
                    crate::text::sanitize(&e, 4096)
                ),
            }
        });
    }
}

/// The served registry once the plugin of `kind` named `name` is not compiling any more:
/// at once when it is not (or its previous version serves meanwhile), else after its compile
/// (moved to the front of the queue). A 503 when that takes longer than the plugin's timeout,
/// or when the plugin failed to load and has no version to serve.
pub async fn when_ready(
    state: &AppState,
    kind: Kind,
    name: &str,
) -> Result<Arc<Registry>, Failure> {
    let unavailable = |code: &'static str, message: String| {
        Failure::new(
            code,
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message),
        )
    };
    let mut deadline = None;
    loop {
        let registry = state.registry.load_full();
        if registry.get(kind, name).is_some() {
            return Ok(registry);
        }
        let Some(compiling) = registry.compiling_of(kind, name).cloned() else {
            if registry
                .error(&format!("{}.{name}", kind.section()))
                .is_some()
            {
                return Err(unavailable(
                    "plugin_not_loaded",
                    format!(
                        "the {} failed to load; the operator sees why on /healthz",
                        kind.as_str()
                    ),
                ));
            }
            return Ok(registry); // not configured: the caller answers 404
        };
        // One wait in all, however many versions a reload brings meanwhile.
        let deadline = *deadline.get_or_insert(tokio::time::Instant::now() + compiling.wait);
        compiling.job.prioritize();
        let done = async {
            compiling.job.done().await;
            // The swap follows the job's end by the time it takes to link.
            let same_job = |c: &Arc<Compiling>| Arc::ptr_eq(&c.job, &compiling.job);
            while state
                .registry
                .load()
                .compiling_of(kind, name)
                .is_some_and(same_job)
            {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        };
        if tokio::time::timeout_at(deadline, done).await.is_err() {
            return Err(unavailable(
                "plugin_compiling",
                format!(
                    "the {} is still compiling after {} ms; Pyrus will retry",
                    kind.as_str(),
                    compiling.wait.as_millis()
                ),
            ));
        }
    }
}
