//! `GET /healthz`: liveness, and which plugins are loaded.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use super::AppState;

#[derive(Serialize)]
pub struct Health {
    status: &'static str,
    bots: Vec<PluginHealth>,
}

#[derive(Serialize)]
struct PluginHealth {
    name: String,
    plugin: String,
    timeout_ms: u64,
    memory_mb: usize,
}

pub async fn healthz(State(state): State<Arc<AppState>>) -> Json<Health> {
    let registry = state.registry.load();
    let bots = registry
        .bots()
        .into_iter()
        .map(|b| PluginHealth {
            name: b.name.to_string(),
            plugin: b.path.display().to_string(),
            timeout_ms: b.plugin.limits.timeout.as_millis() as u64,
            memory_mb: b.plugin.limits.memory_bytes >> 20,
        })
        .collect();
    Json(Health { status: "ok", bots })
}
