//! The HTTP side: routes, shared state, and the `{error, error_code}` error type.

mod admin;
mod body;
mod bot_body;
mod charts;
pub mod compiling;
pub mod error;
mod health;
mod inbound;
mod latency;
pub mod listen;
pub mod metrics;
mod overview;
mod plugin_page;
pub mod reloads;
mod signed;
pub mod stats;
pub mod tls;
mod webhook;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::{ArcSwap, ArcSwapOption};
use axum::routing::{any, get, post};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::registry::Registry;
use crate::runtime::Runtime;
use crate::secret::Secret;
use reloads::ReloadStatus;

/// What every handler shares.
pub struct AppState {
    pub runtime: Arc<Runtime>,
    pub registry: ArcSwap<Registry>,
    /// `server.max_body_bytes`; a reload may change it.
    pub max_body_bytes: AtomicUsize,
    /// `server.body_timeout_ms` (fixed at start).
    pub body_timeout: std::time::Duration,
    pub reload_status: Mutex<ReloadStatus>,
    /// `[admin] token`; a reload may set, change or clear it.
    pub admin_token: ArcSwapOption<Secret>,
    /// Recent calls per plugin, for the admin page.
    pub stats: stats::CallStats,
    /// The Prometheus recorder's handle, when one is installed.
    pub metrics: Option<PrometheusHandle>,
    pub started_at: SystemTime,
    /// Whether the host serves TLS (cookies are then `Secure`).
    pub tls: bool,
    /// Retry de-duplication of bot calls, in the `[store]` backend or in memory.
    pub deliveries: Arc<crate::delivery::Deliveries>,
}

impl AppState {
    pub fn new(runtime: Arc<Runtime>, registry: Registry, max_body_bytes: usize) -> Self {
        AppState {
            runtime,
            registry: ArcSwap::from_pointee(registry),
            max_body_bytes: AtomicUsize::new(max_body_bytes),
            body_timeout: crate::config::DEFAULT_BODY_TIMEOUT,
            reload_status: Mutex::new(ReloadStatus::default()),
            admin_token: ArcSwapOption::empty(),
            stats: stats::CallStats::default(),
            metrics: None,
            started_at: SystemTime::now(),
            tls: false,
            deliveries: Arc::new(crate::delivery::Deliveries::in_memory()),
        }
    }

    /// Keeps retry de-duplication records in `deliveries` (the `[store]` backend).
    pub fn with_deliveries(mut self, deliveries: crate::delivery::Deliveries) -> Self {
        self.deliveries = Arc::new(deliveries);
        self
    }

    /// Serves `/metrics` from this recorder.
    pub fn with_metrics(mut self, handle: PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }

    /// Gives a request's body `timeout` to arrive.
    pub fn with_body_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Marks the host as serving TLS.
    pub fn with_tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Turns on `/admin`, guarded by `token`.
    pub fn with_admin_token(self, token: Option<Arc<Secret>>) -> Self {
        self.admin_token.store(token);
        self
    }

    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes.load(Ordering::Relaxed)
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/bots/{name}",
            post(signed::bot).fallback(method_not_allowed),
        )
        .route(
            "/extensions/{name}/pulse",
            get(signed::pulse).fallback(method_not_allowed),
        )
        .route("/extensions/{name}/inbound", any(inbound::handle))
        .route("/extensions/{name}/inbound/{*path}", any(inbound::handle))
        .route(
            "/extensions/{name}/{method}",
            post(signed::extension).fallback(method_not_allowed),
        )
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::render))
        .route("/admin", get(admin::page))
        .route("/admin/plugins/{kind}/{name}", get(admin::plugin_page))
        .route("/admin/api/plugins", get(admin::api_plugins))
        .route("/admin/jobs/{id}/replay", post(admin::replay))
        .fallback(|| async { error::ApiError::not_found("no such route") })
        .with_state(state)
}

async fn method_not_allowed(method: axum::http::Method) -> error::ApiError {
    error::ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here: Pyrus POSTs webhooks, and GETs /pulse"),
    )
}
