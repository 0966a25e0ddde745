//! Prometheus metrics, through the `metrics` facade: the binary installs the Prometheus
//! recorder at startup, and `GET /metrics` renders it. Without a recorder (in-process tools),
//! recording is a no-op.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::stats::Kind;
use super::AppState;

/// Call latency buckets, in seconds: from a fast bot (~0.3 ms) to Pyrus' 60 s limit.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0, 60.0,
];

/// Installs the process-wide Prometheus recorder. Call once, before serving.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets(&LATENCY_BUCKETS)?
        .install_recorder()?;
    metrics::describe_counter!(
        "pyrus_calls_total",
        "Webhook calls per plugin, by outcome (ok, plugin_error, trap, timeout, rejected_signature, ...)"
    );
    metrics::describe_histogram!(
        "pyrus_call_duration_seconds",
        metrics::Unit::Seconds,
        "Time from the request's arrival to the answer, per plugin"
    );
    metrics::describe_gauge!(
        "pyrus_instances_in_use",
        "WebAssembly instances running a call now, in the whole pool"
    );
    metrics::describe_gauge!(
        "pyrus_plugin_instances_in_use",
        "WebAssembly instances running a call now, per plugin"
    );
    metrics::describe_gauge!("pyrus_plugins_loaded", "Plugins loaded, by kind");
    metrics::describe_gauge!(
        "pyrus_plugin_cpu_seconds",
        metrics::Unit::Seconds,
        "CPU time each plugin's calls used on the scheduler's threads since the host started \
         (only grows: use rate()); the scheduler shares the cores by it"
    );
    metrics::describe_gauge!(
        "pyrus_timeout_lateness_max_seconds",
        metrics::Unit::Seconds,
        "The worst delay so far between a call's deadline and the host ending it"
    );
    metrics::describe_counter!("pyrus_reloads_total", "Reloads of the config and plugins");
    metrics::describe_gauge!(
        "pyrus_queue_depth",
        "Async jobs waiting or running (parked ones excluded)"
    );
    metrics::describe_gauge!(
        "pyrus_queue_oldest_job_age_seconds",
        metrics::Unit::Seconds,
        "Age of the oldest async job waiting or running"
    );
    metrics::describe_gauge!(
        "pyrus_queue_parked",
        "Async jobs parked after too many failures, waiting for a replay"
    );
    metrics::describe_counter!(
        "pyrus_jobs_total",
        "Async job steps by outcome: posted, empty (nothing to post), failed (a run or post to retry), parked"
    );
    metrics::describe_counter!(
        "pyrus_duplicates_answered_total",
        "Deliveries of a bot call answered from an earlier delivery of the same call, without running the plugin"
    );
    metrics::describe_counter!(
        "pyrus_reload_failures_total",
        "Reloads that failed or could not apply everything"
    );
    metrics::describe_counter!(
        "pyrus_connections_closed_total",
        "Connections the host closed: over max_connections (limit), a request head too slow \
         or an idle keep-alive (header_timeout), or an error"
    );
    metrics::describe_counter!(
        "pyrus_body_timeouts_total",
        "Requests whose body did not arrive within body_timeout_ms"
    );
    Ok(handle)
}

/// Counts one failed call of a configured plugin by its outcome (the successful ones and
/// every call's duration are counted through handles each plugin's record keeps, see
/// [`super::stats`]).
pub fn record_failure(kind: Kind, name: &str, outcome: &'static str) {
    metrics::counter!(
        "pyrus_calls_total",
        "kind" => kind.as_str(),
        "plugin" => name.to_string(),
        "outcome" => outcome
    )
    .increment(1);
}

/// Counts a delivery answered without running the plugin, because an earlier delivery
/// of the same call ran it (`mode`: `sync`).
pub fn record_duplicate(bot: &str, mode: &'static str) {
    metrics::counter!("pyrus_duplicates_answered_total", "bot" => bot.to_string(), "mode" => mode)
        .increment(1);
}

/// Records a connection the host closed, and why.
pub fn record_connection_closed(reason: &'static str) {
    metrics::counter!("pyrus_connections_closed_total", "reason" => reason).increment(1);
}

/// Records a request whose body was too slow.
pub fn record_body_timeout() {
    metrics::counter!("pyrus_body_timeouts_total").increment(1);
}

/// Records a reload and whether it applied everything.
pub fn record_reload(ok: bool) {
    metrics::counter!("pyrus_reloads_total").increment(1);
    if !ok {
        metrics::counter!("pyrus_reload_failures_total").increment(1);
    }
}

/// `GET /metrics`.
pub async fn render(State(state): State<Arc<AppState>>) -> Response {
    let Some(handle) = &state.metrics else {
        return (StatusCode::NOT_FOUND, "metrics are not enabled\n").into_response();
    };
    // Gauges are read at scrape time rather than tracked per call.
    let registry = state.registry.load();
    metrics::gauge!("pyrus_instances_in_use").set(state.runtime.instances_in_use() as f64);
    metrics::gauge!("pyrus_timeout_lateness_max_seconds")
        .set(state.runtime.timeouts.worst().as_secs_f64());
    for kind in Kind::ALL {
        let mut loaded = 0;
        for p in registry.plugins(kind) {
            loaded += 1;
            metrics::gauge!("pyrus_plugin_instances_in_use", "kind" => kind.as_str(), "plugin" => p.name.to_string())
                .set(p.plugin.sandbox.calls_in_flight() as f64);
            metrics::gauge!("pyrus_plugin_cpu_seconds", "kind" => kind.as_str(), "plugin" => p.name.to_string())
                .set(p.plugin.sandbox.account.cpu_time().as_secs_f64());
        }
        metrics::gauge!("pyrus_plugins_loaded", "kind" => kind.as_str()).set(loaded as f64);
    }
    if let Some(stats) = state.deliveries.queue_stats().await {
        metrics::gauge!("pyrus_queue_depth").set(stats.depth as f64);
        metrics::gauge!("pyrus_queue_oldest_job_age_seconds").set(stats.oldest_age_s as f64);
        metrics::gauge!("pyrus_queue_parked").set(stats.parked as f64);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
