//! Recent calls per plugin, for the admin page: calls and errors per minute over the last
//! [`WINDOW_MINUTES`], and the last error. Prometheus metrics (`/metrics`) keep the full
//! history; this is what an operator glances at.
//!
//! Each plugin's record also holds its metric handles: a call finds its plugin's record in
//! a map it reads without a lock, so recording costs no label lookup, no allocation and no
//! lock shared with other plugins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

/// How far back the admin page looks.
pub const WINDOW_MINUTES: usize = 15;

pub use crate::names::Kind;

/// The last failed call of a plugin.
#[derive(Debug, Clone)]
pub struct LastError {
    pub at: SystemTime,
    pub status: u16,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Default)]
struct Minute {
    /// Minutes since the Unix epoch.
    minute: u64,
    calls: u32,
    errors: u32,
}

#[derive(Debug, Default)]
struct PluginStats {
    minutes: [Minute; WINDOW_MINUTES],
    last_error: Option<LastError>,
}

/// What the admin page shows of one plugin.
#[derive(Debug, Clone, Default)]
pub struct Recent {
    pub calls: u64,
    pub errors: u64,
    pub last_error: Option<LastError>,
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
        let mut stats = record.stats.lock().unwrap();
        let slot = &mut stats.minutes[(minute % WINDOW_MINUTES as u64) as usize];
        if slot.minute != minute {
            *slot = Minute {
                minute,
                ..Minute::default()
            };
        }
        slot.calls += 1;
        if let Some((status, message)) = error {
            slot.errors += 1;
            stats.last_error = Some(LastError {
                at: now,
                status,
                message: message.to_string(),
            });
        }
    }

    /// Calls and errors of the last [`WINDOW_MINUTES`] minutes.
    pub fn recent(&self, kind: Kind, name: &str) -> Recent {
        let now = minutes_since_epoch(SystemTime::now());
        let Some(record) = self.plugins[slot(kind)].load().get(name).cloned() else {
            return Recent::default();
        };
        let stats = record.stats.lock().unwrap();
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
}

fn minutes_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 60)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::{CallStats, Kind};

    #[test]
    fn counts_calls_and_errors() {
        let stats = CallStats::default();
        let t = std::time::Duration::from_millis(1);
        stats.record(Kind::Bot, "a", "ok", t, None);
        stats.record(Kind::Bot, "a", "trap", t, Some((500, "trap")));
        stats.record(Kind::Extension, "a", "ok", t, None);
        let a = stats.recent(Kind::Bot, "a");
        assert_eq!((a.calls, a.errors), (2, 1));
        assert_eq!(a.last_error.unwrap().message, "trap");
        assert_eq!(stats.recent(Kind::Extension, "a").calls, 1);
        assert_eq!(stats.recent(Kind::Bot, "b").calls, 0);
    }
}
