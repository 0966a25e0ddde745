//! What one plugin's calls took from the sandbox, per minute over the last hour: CPU time
//! (from the scheduler's account) and the peak linear memory of a call, and when new
//! versions of the plugin were loaded. Kept with the plugin's sandbox, so across reloads.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Minutes kept, one entry each.
pub const USAGE_MINUTES: usize = 60;
/// Version loads kept.
const KEPT_VERSIONS: usize = 16;

/// One minute of a plugin's use of the sandbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageMinute {
    /// Minutes since the Unix epoch.
    pub minute: u64,
    /// CPU time its calls used, in microseconds.
    pub cpu_us: u64,
    /// The largest linear memory one call grew to, in bytes.
    pub peak_memory: u64,
}

/// A version of the plugin, loaded at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionMark {
    pub at: SystemTime,
    /// The plugin's version count (`v2` is the first reload of a changed file).
    pub version: u32,
}

#[derive(Debug)]
struct Inner {
    minutes: [UsageMinute; USAGE_MINUTES],
    /// The account's CPU total when last read: each call adds what it grew by since.
    cpu_seen: Duration,
    versions: VecDeque<VersionMark>,
}

/// One plugin's use of the sandbox over the last hour.
#[derive(Debug)]
pub struct Usage(Mutex<Inner>);

impl Default for Usage {
    fn default() -> Self {
        Usage(Mutex::new(Inner {
            minutes: [UsageMinute::default(); USAGE_MINUTES],
            cpu_seen: Duration::ZERO,
            versions: VecDeque::new(),
        }))
    }
}

pub fn minutes_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() / 60)
}

impl Usage {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the end of a call: the plugin's CPU total so far (all its calls), and the
    /// memory this call grew to.
    pub fn record(&self, cpu_total: Duration, peak_memory: usize) {
        let minute = minutes_since_epoch(SystemTime::now());
        let mut inner = self.lock();
        let spent = cpu_total.saturating_sub(inner.cpu_seen);
        inner.cpu_seen = inner.cpu_seen.max(cpu_total);
        let slot = &mut inner.minutes[(minute % USAGE_MINUTES as u64) as usize];
        if slot.minute != minute {
            *slot = UsageMinute {
                minute,
                ..UsageMinute::default()
            };
        }
        slot.cpu_us += spent.as_micros() as u64;
        slot.peak_memory = slot.peak_memory.max(peak_memory as u64);
    }

    /// Notes that version `version` of the plugin was loaded now.
    pub fn mark_version(&self, version: u32) {
        let mut inner = self.lock();
        if inner.versions.len() == KEPT_VERSIONS {
            inner.versions.pop_front();
        }
        inner.versions.push_back(VersionMark {
            at: SystemTime::now(),
            version,
        });
    }

    /// The minutes from `first_minute` to now, one entry each (empty ones included), and the
    /// versions loaded since `first_minute`.
    pub fn since(&self, first_minute: u64) -> (Vec<UsageMinute>, Vec<VersionMark>) {
        let now = minutes_since_epoch(SystemTime::now());
        let mut out: Vec<UsageMinute> = (first_minute..=now)
            .map(|minute| UsageMinute {
                minute,
                ..UsageMinute::default()
            })
            .collect();
        let inner = self.lock();
        for m in inner.minutes.iter().filter(|m| m.minute >= first_minute) {
            if let Some(at) = out.get_mut((m.minute - first_minute) as usize) {
                *at = *m;
            }
        }
        let versions = (inner.versions.iter())
            .filter(|v| minutes_since_epoch(v.at) >= first_minute)
            .copied()
            .collect();
        (out, versions)
    }
}

/// What a plugin's usage window costs.
pub const USAGE_BYTES: usize =
    std::mem::size_of::<Usage>() + KEPT_VERSIONS * std::mem::size_of::<VersionMark>();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_split_by_what_each_call_added() {
        let usage = Usage::default();
        usage.record(Duration::from_millis(5), 1 << 20);
        usage.record(Duration::from_millis(12), 3 << 20);
        usage.mark_version(2);
        let now = minutes_since_epoch(SystemTime::now());
        // From the minute before: the clock may have turned a minute meanwhile.
        let (minutes, versions) = usage.since(now - 1);
        assert!(minutes.len() >= 2);
        assert_eq!(minutes.iter().map(|m| m.cpu_us).sum::<u64>(), 12_000);
        assert_eq!(minutes.iter().map(|m| m.peak_memory).max(), Some(3 << 20));
        assert_eq!(versions[0].version, 2);
        println!("usage window: {USAGE_BYTES} bytes per plugin");
        const { assert!(USAGE_BYTES < 4 << 10) };
    }
}
