//! `GET /healthz`: liveness for anyone (ok or degraded, and counts); for a caller with the
//! admin token (see [`super::admin`]), which plugin versions are loaded and why a load or
//! reload failed: that text names config keys, variables and secret files.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::reloads::ReloadStatus;
use super::AppState;
use crate::delivery::job::QueueStats;
use crate::names::Kind;
use crate::registry::{Loaded, Registry};

#[derive(Serialize)]
pub struct Health {
    /// `ok`; `degraded` when a plugin or the config failed its last load (the previous
    /// version keeps serving); else `compiling` while plugins compile in the background.
    status: &'static str,
    bots: Vec<PluginHealth>,
    extensions: Vec<PluginHealth>,
    /// Plugins compiling in the background (`bots.hello`), each served once compiled.
    compiling: Vec<String>,
    /// Why each plugin that failed its last load failed, by config key (`bots.hello`).
    load_errors: std::collections::BTreeMap<String, String>,
    reload: ReloadStatus,
    /// The async queue's counts, when some bot is async.
    queue: Option<QueueStats>,
}

/// What anyone may see.
#[derive(Serialize)]
struct Summary {
    status: &'static str,
    bots: usize,
    extensions: usize,
    /// Plugins whose last load failed, plus one if the last reload failed.
    failed: usize,
    /// Plugins still compiling in the background.
    compiling: usize,
    /// The async queue's counts, when some bot is async.
    queue: Option<QueueStats>,
    details: &'static str,
}

#[derive(Serialize)]
struct PluginHealth {
    name: String,
    /// The world and contract version the component targets.
    contract: String,
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

pub async fn healthz(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let registry = state.registry.load();
    let reload = state.reload_status.lock().unwrap().clone();
    let failed = registry.errors().len() + usize::from(reload.last_error.is_some());
    let compiling = registry.compiling().count();
    let status = match (failed, compiling) {
        (0, 0) => "ok",
        (0, _) => "compiling",
        _ => "degraded",
    };
    let queue = state.deliveries.queue_stats().await;
    if !super::admin::is_admin(&state, &headers) {
        return Json(Summary {
            status,
            bots: registry.plugins(Kind::Bot).count(),
            extensions: registry.plugins(Kind::Extension).count(),
            failed,
            compiling,
            queue,
            details: "present the admin token (Authorization: Bearer) for details",
        })
        .into_response();
    }
    let list = |kind| {
        registry
            .plugins(kind)
            .map(|p| health(&registry, p))
            .collect()
    };
    let (bots, extensions) = (list(Kind::Bot), list(Kind::Extension));
    Json(Health {
        status,
        bots,
        extensions,
        compiling: registry
            .compiling()
            .map(|c| format!("{}.{}", c.kind.section(), c.name))
            .collect(),
        load_errors: registry.errors().clone(),
        reload,
        queue,
    })
    .into_response()
}

fn health(registry: &Registry, loaded: &Loaded) -> PluginHealth {
    let limits = &loaded.plugin.sandbox.limits;
    PluginHealth {
        name: loaded.name.to_string(),
        contract: loaded.plugin.contract(),
        plugin: loaded.path.display().to_string(),
        hash: loaded.hash.clone(),
        loaded_at: loaded
            .loaded_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        load_count: loaded.load_count,
        last_error: registry.error(&loaded.key()).map(str::to_owned),
        timeout_ms: limits.timeout.as_millis() as u64,
        memory_mb: limits.memory_bytes >> 20,
        max_concurrency: limits.max_concurrency,
        max_reply_kb: limits.max_reply_bytes >> 10,
    }
}
