//! `GET /healthz`: liveness, which plugin versions are loaded, and reload problems.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use super::AppState;
use crate::registry::{Loaded, Registry};
use crate::reload::ReloadStatus;
use crate::runtime::limits::Limits;

#[derive(Serialize)]
pub struct Health {
    /// `ok`, or `degraded` when a plugin or the config failed its last load (the previous
    /// version keeps serving).
    status: &'static str,
    bots: Vec<PluginHealth>,
    extensions: Vec<PluginHealth>,
    reload: ReloadStatus,
}

#[derive(Serialize)]
struct PluginHealth {
    name: String,
    plugin: String,
    /// SHA-1 of the wasm file this version was loaded from.
    hash: String,
    /// When this version was loaded, in seconds since the Unix epoch.
    loaded_at: u64,
    /// How many versions of the file have been loaded under this name.
    load_count: u32,
    /// Why the last attempt to load a new version failed, if it did.
    last_error: Option<String>,
    timeout_ms: u64,
    memory_mb: usize,
    max_concurrency: u32,
    max_reply_kb: usize,
}

pub async fn healthz(State(state): State<Arc<AppState>>) -> Json<Health> {
    let registry = state.registry.load();
    let bots = registry
        .bots()
        .map(|b| health(&registry, "bots", b, &b.plugin.sandbox.limits))
        .collect();
    let extensions = registry
        .extensions()
        .map(|e| health(&registry, "extensions", e, &e.plugin.sandbox.limits))
        .collect();
    let reload = state.reload_status.lock().unwrap().clone();
    let degraded = !registry.errors().is_empty() || reload.last_error.is_some();
    Json(Health {
        status: if degraded { "degraded" } else { "ok" },
        bots,
        extensions,
        reload,
    })
}

fn health<P>(
    registry: &Registry,
    section: &str,
    loaded: &Loaded<P>,
    limits: &Limits,
) -> PluginHealth {
    PluginHealth {
        name: loaded.name.to_string(),
        plugin: loaded.path.display().to_string(),
        hash: loaded.hash.clone(),
        loaded_at: loaded
            .loaded_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        load_count: loaded.load_count,
        last_error: registry
            .error(&format!("{section}.{}", loaded.name))
            .map(str::to_owned),
        timeout_ms: limits.timeout.as_millis() as u64,
        memory_mb: limits.memory_bytes >> 20,
        max_concurrency: limits.max_concurrency,
        max_reply_kb: limits.max_reply_bytes >> 10,
    }
}
