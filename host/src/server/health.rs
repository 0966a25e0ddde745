//! `GET /healthz`: liveness, and which plugins are loaded.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use super::AppState;
use crate::registry::Loaded;
use crate::runtime::limits::Limits;

#[derive(Serialize)]
pub struct Health {
    status: &'static str,
    bots: Vec<PluginHealth>,
    extensions: Vec<PluginHealth>,
}

#[derive(Serialize)]
struct PluginHealth {
    name: String,
    plugin: String,
    timeout_ms: u64,
    memory_mb: usize,
    max_concurrency: u32,
    max_reply_kb: usize,
}

pub async fn healthz(State(state): State<Arc<AppState>>) -> Json<Health> {
    let registry = state.registry.load();
    let bots = registry
        .bots()
        .map(|b| health(b, &b.plugin.limits))
        .collect();
    let extensions = registry
        .extensions()
        .map(|e| health(e, &e.plugin.limits))
        .collect();
    Json(Health {
        status: "ok",
        bots,
        extensions,
    })
}

fn health<P>(loaded: &Loaded<P>, limits: &Limits) -> PluginHealth {
    PluginHealth {
        name: loaded.name.to_string(),
        plugin: loaded.path.display().to_string(),
        timeout_ms: limits.timeout.as_millis() as u64,
        memory_mb: limits.memory_bytes >> 20,
        max_concurrency: limits.max_concurrency,
        max_reply_kb: limits.max_reply_bytes >> 10,
    }
}
