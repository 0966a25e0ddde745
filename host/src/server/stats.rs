//! Recent calls per plugin, for the admin page and `pyrus-host status`: per minute over the
//! last hour ([`SERIES_MINUTES`]), calls, failures by class and a latency histogram, and the
//! last failures. Prometheus metrics (`/metrics`) keep the full history; this is what an
//! operator glances at, in fixed memory per plugin ([`BYTES_PER_PLUGIN`] once it is called).
//! An async bot's record also keeps its jobs in the queue per minute, as sampled by
//! [`crate::delivery::sampler`].
//!
//! Each plugin's record also holds its metric handles: a call finds its plugin's record in
//! a map it reads without a lock, so recording costs no label lookup, no allocation and no
//! lock shared with other plugins.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use super::latency::Latencies;
use crate::delivery::job::QueueStats;
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

/// One minute of an async bot's jobs in the queue: the most its samples saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueMinute {
    /// Minutes since the Unix epoch.
    pub minute: u64,
    /// Jobs waiting or running (parked ones excluded).
    pub depth: u32,
    /// Age of the oldest of them, in seconds.
    pub oldest_s: u32,
    pub parked: u32,
}

/// An async bot's queue over the last hour, and its last sample.
#[derive(Debug)]
struct QueueWindow {
    minutes: [QueueMinute; SERIES_MINUTES],
    last: QueueStats,
    sampled_at: SystemTime,
}

#[derive(Debug)]
struct PluginStats {
    minutes: [Minute; SERIES_MINUTES],
    last_error: Option<LastError>,
    failures: VecDeque<FailureNote>,
    /// Async bots only (boxed: the others pay a pointer).
    queue: Option<Box<QueueWindow>>,
}

impl Default for PluginStats {
    fn default() -> Self {
        PluginStats {
            minutes: [Minute::default(); SERIES_MINUTES],
            last_error: None,
            failures: VecDeque::new(),
            queue: None,
        }
    }
}

/// What an async bot's queue numbers add to its record.
pub const QUEUE_BYTES_PER_BOT: usize = std::mem::size_of::<QueueWindow>();

/// What one plugin's record costs once it has been called, at most: the per-minute ring,
/// the kept failures, the record around them, and for an async bot its queue's ring.
pub const BYTES_PER_PLUGIN: usize = std::mem::size_of::<PluginRecord>()
    + KEPT_FAILURES * (std::mem::size_of::<FailureNote>() + KEPT_CAUSE_BYTES)
    + QUEUE_BYTES_PER_BOT;

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
    /// Async bots that were sampled: their queue, one entry per minute of `minutes`.
    pub queue: Option<QueueSeries>,
}

/// An async bot's queue over the last hour.
#[derive(Debug, Clone)]
pub struct QueueSeries {
    /// One per minute, oldest first; None for a minute without a sample.
    pub minutes: Vec<Option<QueueMinute>>,
    /// The last sample, and when it was taken.
    pub last: QueueStats,
    pub sampled_at: SystemTime,
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

    /// Records a sample of an async bot's jobs in the queue: the last one is kept as is,
    /// each minute keeps the most it saw.
    pub fn record_queue(&self, bot: &str, sample: QueueStats) {
        let record = self.plugin(Kind::Bot, bot);
        let now = SystemTime::now();
        let minute = minutes_since_epoch(now);
        let mut stats = record.stats.lock().unwrap_or_else(|e| e.into_inner());
        let window = stats.queue.get_or_insert_with(|| {
            Box::new(QueueWindow {
                minutes: [QueueMinute::default(); SERIES_MINUTES],
                last: sample,
                sampled_at: now,
            })
        });
        window.last = sample;
        window.sampled_at = now;
        let slot = &mut window.minutes[(minute % SERIES_MINUTES as u64) as usize];
        if slot.minute != minute {
            *slot = QueueMinute {
                minute,
                ..QueueMinute::default()
            };
        }
        let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        slot.depth = slot.depth.max(narrow(sample.depth));
        slot.oldest_s = slot.oldest_s.max(narrow(sample.oldest_age_s));
        slot.parked = slot.parked.max(narrow(sample.parked));
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
        let mut queue = None;
        if let Some(record) = self.plugins[slot(kind)].load().get(name).cloned() {
            let stats = record.stats.lock().unwrap_or_else(|e| e.into_inner());
            for m in stats.minutes.iter().filter(|m| m.minute >= first_minute) {
                if let Some(at) = minutes.get_mut((m.minute - first_minute) as usize) {
                    *at = *m;
                }
            }
            failures = stats.failures.iter().rev().cloned().collect();
            queue = stats.queue.as_ref().map(|window| {
                let mut sampled = vec![None; minutes.len()];
                for m in window.minutes.iter().filter(|m| m.minute >= first_minute) {
                    if let Some(at) = sampled.get_mut((m.minute - first_minute) as usize) {
                        *at = Some(*m);
                    }
                }
                QueueSeries {
                    minutes: sampled,
                    last: window.last,
                    sampled_at: window.sampled_at,
                }
            });
        }
        Series {
            first_minute,
            minutes,
            failures,
            queue,
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
        assert!(series.queue.is_none(), "a sync bot keeps no queue numbers");
    }

    /// Each minute keeps the most its samples saw; the last sample is kept as is.
    #[test]
    fn a_minute_keeps_the_largest_queue_sample() {
        use crate::delivery::job::QueueStats;
        let stats = CallStats::default();
        let sample = |depth, oldest_age_s, parked| QueueStats {
            depth,
            oldest_age_s,
            parked,
        };
        stats.record_queue("a", sample(4, 30, 1));
        stats.record_queue("a", sample(0, 0, 1));
        let queue = stats.series(Kind::Bot, "a").queue.unwrap();
        assert_eq!(queue.minutes.len(), super::SERIES_MINUTES);
        assert_eq!(queue.last, sample(0, 0, 1));
        // The clock may have turned a minute between the two samples.
        let seen: Vec<_> = queue.minutes.iter().flatten().collect();
        assert!(!seen.is_empty() && seen.len() <= 2, "{seen:?}");
        assert_eq!(seen.iter().map(|m| m.depth).max(), Some(4));
        assert_eq!(seen.iter().map(|m| m.oldest_s).max(), Some(30));
        assert!(queue.minutes[..super::SERIES_MINUTES - 2]
            .iter()
            .all(Option::is_none));
        assert!(stats.series(Kind::Bot, "b").queue.is_none());
    }

    /// The memory the window costs per called plugin, printed and bounded (the closing
    /// note of the operator's view quotes it).
    #[test]
    fn the_window_costs_a_bounded_memory_per_plugin() {
        println!(
            "per called plugin: {} bytes, of which an async bot's queue: {} bytes",
            super::BYTES_PER_PLUGIN,
            super::QUEUE_BYTES_PER_BOT
        );
        const { assert!(super::BYTES_PER_PLUGIN < 24 << 10) };
        const { assert!(super::QUEUE_BYTES_PER_BOT < 2 << 10) };
    }
}
