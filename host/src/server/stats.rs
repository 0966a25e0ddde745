//! Recent calls per plugin, for the admin page: calls and errors per minute over the last
//! [`WINDOW_MINUTES`], and the last error. Prometheus metrics (`/metrics`) keep the full
//! history; this is what an operator glances at.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

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

/// Recent calls of every plugin that was called. Only configured plugins are recorded, so
/// callers cannot grow it with made-up names.
#[derive(Debug, Default)]
pub struct CallStats {
    plugins: Mutex<HashMap<(Kind, String), PluginStats>>,
}

impl CallStats {
    /// Records one call. `error` is the status and message of a failed one.
    pub fn record(&self, kind: Kind, name: &str, error: Option<(u16, &str)>) {
        let now = SystemTime::now();
        let minute = minutes_since_epoch(now);
        let mut plugins = self.plugins.lock().unwrap();
        let stats = match plugins.get_mut(&(kind, name.to_string())) {
            Some(stats) => stats,
            None => plugins.entry((kind, name.to_string())).or_default(),
        };
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
        let plugins = self.plugins.lock().unwrap();
        let Some(stats) = plugins.get(&(kind, name.to_string())) else {
            return Recent::default();
        };
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
        stats.record(Kind::Bot, "a", None);
        stats.record(Kind::Bot, "a", Some((500, "trap")));
        stats.record(Kind::Extension, "a", None);
        let a = stats.recent(Kind::Bot, "a");
        assert_eq!((a.calls, a.errors), (2, 1));
        assert_eq!(a.last_error.unwrap().message, "trap");
        assert_eq!(stats.recent(Kind::Extension, "a").calls, 1);
        assert_eq!(stats.recent(Kind::Bot, "b").calls, 0);
    }
}
