//! Recent calls per plugin, for the admin page and `pyrus-host status`: per minute over the
//! last hour ([`SERIES_MINUTES`]), calls, failures by class and a latency histogram, and the
//! last failures. Prometheus metrics (`/metrics`) keep the full history; this is what an
//! operator glances at, in fixed memory per plugin ([`BYTES_PER_PLUGIN`] once it is called).
//!
//! Each plugin's record also holds its metric handles: a call finds its plugin's record in
//! a map it reads without a lock, so recording costs no label lookup, no allocation and no
//! lock shared with other plugins.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use super::latency::Latencies;
use crate::runtime::usage::minutes_since_epoch;

/// How far back the admin table's sums look.
pub const WINDOW_MINUTES: usize = 15;
/// How far back the charts look, one point per minute.
pub const SERIES_MINUTES: usize = 60;
/// Failures kept per plugin for its page.
pub const KEPT_FAILURES: usize = 20;
/// What a kept failure keeps of its cause (already escaped and capped where it came from).
const KEPT_CAUSE_BYTES: usize = 300;

pub use crate::names::Kind;

/// Why calls failed, as the charts split them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Refused before the plugin ran (signature, body, unknown method): a 4xx.
    Refused,
    /// The plugin answered an error of its own.
    PluginError,
    Timeout,
    /// Trap, memory, stack, fuel, a reply that is not JSON or too large.
    Crash,
    /// The plugin or the pool was full.
    Busy,
    /// Anything else on the host's side (not loaded, compiling).
    Other,
}

impl FailureClass {
    pub const ALL: [FailureClass; 6] = [
        FailureClass::Refused,
        FailureClass::PluginError,
        FailureClass::Timeout,
        FailureClass::Crash,
        FailureClass::Busy,
        FailureClass::Other,
    ];

    pub fn of(outcome: &str, status: u16) -> FailureClass {
        match outcome {
            "plugin_error" => FailureClass::PluginError,
            "timeout" => FailureClass::Timeout,
            "busy" => FailureClass::Busy,
            "trap" | "stack_overflow" | "out_of_memory" | "out_of_fuel" | "invalid_reply"
            | "reply_too_large" => FailureClass::Crash,
            _ if status < 500 => FailureClass::Refused,
            _ => FailureClass::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Refused => "refused",
            FailureClass::PluginError => "plugin_error",
            FailureClass::Timeout => "timeout",
            FailureClass::Crash => "crash",
            FailureClass::Busy => "busy",
            FailureClass::Other => "other",
        }
    }
}

/// The last failed call of a plugin.
#[derive(Debug, Clone)]
pub struct LastError {
    pub at: SystemTime,
    pub status: u16,
    pub message: String,
}

/// One failed call, as the plugin's page lists it (never the body).
#[derive(Debug, Clone)]
pub struct FailureNote {
    pub at: SystemTime,
    pub status: u16,
    pub outcome: &'static str,
    pub cause: String,
    /// Pyrus's attempt number (`X-Pyrus-Retry`), for webhooks.
    pub attempt: Option<u32>,
}

/// One minute of one plugin's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Minute {
    /// Minutes since the Unix epoch.
    pub minute: u64,
    pub calls: u32,
    pub errors: u32,
    /// Failures by [`FailureClass`], in the order of [`FailureClass::ALL`].
    pub failures: [u32; 6],
    pub latency: Latencies,
}

#[derive(Debug)]
struct PluginStats {
    minutes: [Minute; SERIES_MINUTES],
    last_error: Option<LastError>,
    failures: VecDeque<FailureNote>,
}

impl Default for PluginStats {
    fn default() -> Self {
        PluginStats {
            minutes: [Minute::default(); SERIES_MINUTES],
            last_error: None,
            failures: VecDeque::new(),
        }
    }
}

/// What one plugin's record costs once it has been called, at most: the per-minute ring,
/// the kept failures, the record around them.
pub const BYTES_PER_PLUGIN: usize = std::mem::size_of::<PluginRecord>()
    + KEPT_FAILURES * (std::mem::size_of::<FailureNote>() + KEPT_CAUSE_BYTES);

/// What the admin page shows of one plugin.
#[derive(Debug, Clone, Default)]
pub struct Recent {
    pub calls: u64,
    pub errors: u64,
    pub last_error: Option<LastError>,
}

/// One plugin's last hour, oldest minute first, for charts.
#[derive(Debug, Clone)]
pub struct Series {
    /// The first minute (minutes since the Unix epoch).
    pub first_minute: u64,
    pub minutes: Vec<Minute>,
    pub failures: Vec<FailureNote>,
}

/// One plugin's recent calls and its metric handles.
struct PluginRecord {
    stats: Mutex<PluginStats>,
    calls_ok: metrics::Counter,
    duration: metrics::Histogram,
}

/// Plugins by name, for one kind.
type ByName = HashMap<String, Arc<PluginRecord>>;

/// Recent calls of every plugin that was called. Only configured plugins are recorded, so
/// callers cannot grow it with made-up names.
#[derive(Default)]
pub struct CallStats {
    /// Bots, then extensions.
    plugins: [ArcSwap<ByName>; 2],
}

fn slot(kind: Kind) -> usize {
    match kind {
        Kind::Bot => 0,
        Kind::Extension => 1,
    }
}

impl CallStats {
    fn plugin(&self, kind: Kind, name: &str) -> Arc<PluginRecord> {
        let map = &self.plugins[slot(kind)];
        if let Some(record) = map.load().get(name) {
            return record.clone();
        }
        // The first call of this plugin: register its metrics once.
        let labels = [
            ("kind", kind.as_str().to_string()),
            ("plugin", name.to_string()),
        ];
        let record = Arc::new(PluginRecord {
            stats: Mutex::default(),
            calls_ok: metrics::counter!(
                "pyrus_calls_total",
                &[
                    labels[0].clone(),
                    labels[1].clone(),
                    ("outcome", "ok".to_string())
                ]
            ),
            duration: metrics::histogram!("pyrus_call_duration_seconds", &labels),
        });
        map.rcu(|current| {
            let mut next = ByName::clone(current);
            next.entry(name.to_string())
                .or_insert_with(|| record.clone());
            next
        });
        map.load().get(name).cloned().unwrap_or(record)
    }

    /// Records one call and its metrics. `error` is the status and message of a failed one,
    /// `outcome` what `pyrus_calls_total` counts it as.
    pub fn record(
        &self,
        kind: Kind,
        name: &str,
        outcome: &'static str,
        elapsed: Duration,
        error: Option<(u16, &str)>,
        attempt: Option<u32>,
    ) {
        let record = self.plugin(kind, name);
        if error.is_none() {
            record.calls_ok.increment(1);
        } else {
            super::metrics::record_failure(kind, name, outcome);
        }
        record.duration.record(elapsed.as_secs_f64());
        let now = SystemTime::now();
        let minute = minutes_since_epoch(now);
        let mut stats = record.stats.lock().unwrap_or_else(|e| e.into_inner());
        let stats = &mut *stats;
        let slot = &mut stats.minutes[(minute % SERIES_MINUTES as u64) as usize];
        if slot.minute != minute {
            *slot = Minute {
                minute,
                ..Minute::default()
            };
        }
        slot.calls += 1;
        slot.latency.record(elapsed);
        if let Some((status, message)) = error {
            slot.errors += 1;
            let class = FailureClass::of(outcome, status);
            let i = FailureClass::ALL
                .iter()
                .position(|c| *c == class)
                .unwrap_or(5);
            slot.failures[i] += 1;
            stats.last_error = Some(LastError {
                at: now,
                status,
                message: message.to_string(),
            });
            if stats.failures.len() == KEPT_FAILURES {
                stats.failures.pop_front();
            }
            stats.failures.push_back(FailureNote {
                at: now,
                status,
                outcome,
                cause: crate::text::sanitize(message, KEPT_CAUSE_BYTES).into_owned(),
                attempt,
            });
        }
    }

    /// Calls and errors of the last [`WINDOW_MINUTES`] minutes.
    pub fn recent(&self, kind: Kind, name: &str) -> Recent {
        let now = minutes_since_epoch(SystemTime::now());
        let Some(record) = self.plugins[slot(kind)].load().get(name).cloned() else {
            return Recent::default();
        };
        let stats = record.stats.lock().unwrap_or_else(|e| e.into_inner());
        let live = stats
            .minutes
            .iter()
            .filter(|m| m.calls > 0 && now - m.minute < WINDOW_MINUTES as u64);
        Recent {
            calls: live.clone().map(|m| u64::from(m.calls)).sum(),
            errors: live.map(|m| u64::from(m.errors)).sum(),
            last_error: stats.last_error.clone(),
        }
    }

    /// The last [`SERIES_MINUTES`] minutes of a plugin, one entry per minute (empty ones
    /// included), oldest first, and its kept failures, newest first.
    pub fn series(&self, kind: Kind, name: &str) -> Series {
        let now = minutes_since_epoch(SystemTime::now());
        let first_minute = (now + 1).saturating_sub(SERIES_MINUTES as u64);
        let mut minutes: Vec<Minute> = (first_minute..=now)
            .map(|minute| Minute {
                minute,
                ..Minute::default()
            })
            .collect();
        let mut failures = Vec::new();
        if let Some(record) = self.plugins[slot(kind)].load().get(name).cloned() {
            let stats = record.stats.lock().unwrap_or_else(|e| e.into_inner());
            for m in stats.minutes.iter().filter(|m| m.minute >= first_minute) {
                if let Some(at) = minutes.get_mut((m.minute - first_minute) as usize) {
                    *at = *m;
                }
            }
            failures = stats.failures.iter().rev().cloned().collect();
        }
        Series {
            first_minute,
            minutes,
            failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CallStats, Kind};

    #[test]
    fn counts_calls_and_errors() {
        let stats = CallStats::default();
        let t = std::time::Duration::from_millis(1);
        stats.record(Kind::Bot, "a", "ok", t, None, None);
        stats.record(Kind::Bot, "a", "trap", t, Some((500, "trap")), Some(2));
        stats.record(Kind::Extension, "a", "ok", t, None, None);
        let a = stats.recent(Kind::Bot, "a");
        assert_eq!((a.calls, a.errors), (2, 1));
        assert_eq!(a.last_error.unwrap().message, "trap");
        assert_eq!(stats.recent(Kind::Extension, "a").calls, 1);
        assert_eq!(stats.recent(Kind::Bot, "b").calls, 0);
        let series = stats.series(Kind::Bot, "a");
        assert_eq!(series.minutes.len(), super::SERIES_MINUTES);
        let last = series.minutes.last().unwrap();
        assert_eq!((last.calls, last.errors, last.latency.count()), (2, 1, 2));
        assert_eq!(last.failures[3], 1, "a trap is a crash");
        assert_eq!(series.failures[0].attempt, Some(2));
    }

    /// The memory the window costs per called plugin, printed and bounded (the closing
    /// note of the operator's view quotes it).
    #[test]
    fn the_window_costs_a_bounded_memory_per_plugin() {
        println!("per called plugin: {} bytes", super::BYTES_PER_PLUGIN);
        const { assert!(super::BYTES_PER_PLUGIN < 24 << 10) };
    }
}
