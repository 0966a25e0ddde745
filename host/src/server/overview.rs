//! What an operator sees of each plugin over the last hour, put together from the call
//! stats (calls, failures, latency: the caller's view, and an async bot's jobs in the
//! queue) and the sandbox's usage (CPU, memory, versions): one model for the admin page,
//! the plugin's page, the JSON and `pyrus-host status`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::stats::{FailureClass, QueueMinute, Series, WINDOW_MINUTES};
use super::AppState;
use crate::delivery::Mode;
use crate::registry::Loaded;

/// Minutes the CPU share is taken over.
const CPU_SHARE_MINUTES: usize = 5;

/// One minute of one plugin.
#[derive(Debug, Clone, Serialize)]
pub struct MinuteView {
    /// Seconds since the Unix epoch at the minute's start.
    pub at: u64,
    pub calls: u32,
    pub errors: u32,
    /// Failures by class (`timeout`, `crash`...), only the classes that occurred.
    pub failures: Vec<(&'static str, u32)>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// CPU its calls used this minute, in milliseconds.
    pub cpu_ms: f64,
    /// The largest memory one call grew to this minute, in MiB.
    pub peak_memory_mb: Option<f64>,
    /// Async bots, in a minute the queue was sampled: the most jobs waiting or running
    /// (left out of the JSON otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_depth: Option<u32>,
    /// The largest age of the oldest of them, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_oldest_s: Option<u32>,
    /// The most jobs parked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_parked: Option<u32>,
}

/// An async bot's jobs in the queue at the last sample (every few seconds).
#[derive(Debug, Clone, Serialize)]
pub struct QueueView {
    /// Jobs waiting or running, parked ones excluded.
    pub depth: u64,
    /// Age of the oldest of them, in seconds.
    pub oldest_age_s: u64,
    pub parked: u64,
    /// When the sample was taken, in seconds since the Unix epoch.
    pub sampled_at: u64,
}

/// A version loaded within the window.
#[derive(Debug, Clone, Serialize)]
pub struct VersionView {
    pub version: u32,
    /// Seconds since the Unix epoch.
    pub at: u64,
    /// Its minute's index in `minutes`.
    pub minute_index: usize,
}

/// A failed call (never its body).
#[derive(Debug, Clone, Serialize)]
pub struct FailureView {
    pub at: u64,
    pub status: u16,
    pub outcome: &'static str,
    pub cause: String,
    pub attempt: Option<u32>,
}

/// One plugin over the window.
#[derive(Debug, Clone, Serialize)]
pub struct PluginView {
    pub kind: &'static str,
    pub name: String,
    pub version: u32,
    pub sha1: String,
    pub contract: String,
    /// Calls and errors of the last [`WINDOW_MINUTES`] minutes (the table's columns).
    pub calls_15m: u64,
    pub errors_15m: u64,
    /// p99 over the last [`WINDOW_MINUTES`] minutes, in milliseconds.
    pub p99_15m_ms: Option<f64>,
    /// Its share of all plugins' CPU over the last 5 minutes (0..=1).
    pub cpu_share: f64,
    /// The cores it kept busy over the last 5 minutes, on average.
    pub cpu_cores: f64,
    /// The largest memory one call grew to in the last 15 minutes, in MiB.
    pub peak_memory_mb: Option<f64>,
    pub memory_limit_mb: u64,
    pub minutes: Vec<MinuteView>,
    pub versions: Vec<VersionView>,
    /// Newest first.
    pub failures: Vec<FailureView>,
    /// Async bots: their jobs in the queue now (None for the others, and before the first
    /// sample).
    pub queue: Option<QueueView>,
}

impl PluginView {
    /// Where versions were loaded, for the charts: each one's minute index and number.
    pub fn marks(&self) -> Vec<(usize, u32)> {
        (self.versions.iter())
            .map(|v| (v.minute_index, v.version))
            .collect()
    }

    /// One value per minute, for a chart line.
    pub fn series(&self, value: impl Fn(&MinuteView) -> Option<f64>) -> Vec<Option<f64>> {
        self.minutes.iter().map(value).collect()
    }
}

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl PluginView {
    fn of(state: &AppState, loaded: &Loaded) -> PluginView {
        let Series {
            first_minute,
            minutes,
            failures,
            queue,
        } = state.stats.series(loaded.kind, loaded.name.as_str());
        let queued = |i: usize| -> Option<QueueMinute> { *queue.as_ref()?.minutes.get(i)? };
        let sandbox = &loaded.plugin.sandbox;
        let (usage, versions) = sandbox.usage.since(first_minute);
        let recent = |n: usize| minutes.len().saturating_sub(n)..minutes.len();
        let mut latency_15m = super::latency::Latencies::default();
        for m in &minutes[recent(WINDOW_MINUTES)] {
            latency_15m.merge(&m.latency);
        }
        let views = minutes
            .iter()
            .zip(usage.iter().chain(std::iter::repeat(&Default::default())))
            .enumerate()
            .map(|(i, (m, u))| MinuteView {
                at: m.minute * 60,
                calls: m.calls,
                errors: m.errors,
                failures: (FailureClass::ALL.iter().zip(m.failures))
                    .filter(|(_, n)| *n > 0)
                    .map(|(c, n)| (c.as_str(), n))
                    .collect(),
                p50_ms: m.latency.percentile(0.5).map(ms),
                p95_ms: m.latency.percentile(0.95).map(ms),
                p99_ms: m.latency.percentile(0.99).map(ms),
                cpu_ms: u.cpu_us as f64 / 1e3,
                peak_memory_mb: (u.peak_memory > 0).then(|| u.peak_memory as f64 / 1048576.0),
                queue_depth: queued(i).map(|q| q.depth),
                queue_oldest_s: queued(i).map(|q| q.oldest_s),
                queue_parked: queued(i).map(|q| q.parked),
            })
            .collect::<Vec<_>>();
        let cpu_5m: f64 = views[recent(CPU_SHARE_MINUTES)]
            .iter()
            .map(|m| m.cpu_ms)
            .sum();
        let peak = views[recent(WINDOW_MINUTES)]
            .iter()
            .filter_map(|m| m.peak_memory_mb)
            .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))));
        PluginView {
            kind: loaded.kind.as_str(),
            name: loaded.name.to_string(),
            version: loaded.load_count,
            sha1: loaded.hash.clone(),
            contract: loaded.plugin.contract(),
            calls_15m: views[recent(WINDOW_MINUTES)]
                .iter()
                .map(|m| u64::from(m.calls))
                .sum(),
            errors_15m: views[recent(WINDOW_MINUTES)]
                .iter()
                .map(|m| u64::from(m.errors))
                .sum(),
            p99_15m_ms: latency_15m.percentile(0.99).map(ms),
            cpu_share: 0.0,
            cpu_cores: cpu_5m / (CPU_SHARE_MINUTES as f64 * 60e3),
            peak_memory_mb: peak,
            memory_limit_mb: (sandbox.limits.memory_bytes >> 20) as u64,
            versions: versions
                .iter()
                .map(|v| {
                    let minute = crate::runtime::usage::minutes_since_epoch(v.at);
                    VersionView {
                        version: v.version,
                        at: epoch_secs(v.at),
                        minute_index: minute.saturating_sub(first_minute) as usize,
                    }
                })
                .collect(),
            failures: failures
                .into_iter()
                .map(|f| FailureView {
                    at: epoch_secs(f.at),
                    status: f.status,
                    outcome: f.outcome,
                    cause: f.cause,
                    attempt: f.attempt,
                })
                .collect(),
            minutes: views,
            queue: queue
                .filter(|_| matches!(loaded.mode, Mode::Async(_)))
                .map(|q| QueueView {
                    depth: q.last.depth,
                    oldest_age_s: q.last.oldest_age_s,
                    parked: q.last.parked,
                    sampled_at: epoch_secs(q.sampled_at),
                }),
        }
    }
}

/// Every loaded plugin, with CPU shares relative to each other.
pub fn all(state: &AppState) -> Vec<PluginView> {
    of_registry(state, &state.registry.load())
}

/// Every plugin of `registry` (a snapshot the caller also reads: its rows then match these
/// views one for one), with CPU shares relative to each other.
pub fn of_registry(state: &AppState, registry: &crate::registry::Registry) -> Vec<PluginView> {
    let mut views: Vec<PluginView> = registry
        .all()
        .map(|loaded| PluginView::of(state, loaded))
        .collect();
    let total: f64 = views.iter().map(|v| v.cpu_cores).sum();
    if total > 0.0 {
        for v in &mut views {
            v.cpu_share = v.cpu_cores / total;
        }
    }
    views
}

/// One plugin, by kind and name.
pub fn one(state: &AppState, kind: crate::names::Kind, name: &str) -> Option<PluginView> {
    let all = all(state);
    all.into_iter()
        .find(|v| v.kind == kind.as_str() && v.name == name)
}
