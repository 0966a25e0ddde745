//! A fixed-size latency histogram: buckets growing by √2 from 100 µs to ~74 s, so that a
//! minute of calls costs 160 bytes and a percentile is read within ±19 % whatever the load.

use std::time::Duration;

/// Buckets; the last one holds everything above the one before it.
pub const BUCKETS: usize = 40;
const FIRST_BOUND_US: f64 = 100.0;

/// Counts of calls per latency bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latencies([u32; BUCKETS]);

impl Default for Latencies {
    fn default() -> Self {
        Latencies([0; BUCKETS])
    }
}

/// The upper bound of bucket `i` (the last one is open).
fn bound(i: usize) -> Duration {
    Duration::from_secs_f64(FIRST_BOUND_US * 2f64.powf(i as f64 / 2.0) / 1e6)
}

impl Latencies {
    pub fn record(&mut self, elapsed: Duration) {
        let us = elapsed.as_secs_f64() * 1e6;
        let i = match us <= FIRST_BOUND_US {
            true => 0,
            // The first bucket whose bound is at least `us`: bound(i) = 100 µs · 2^(i/2).
            false => ((2.0 * (us / FIRST_BOUND_US).log2()).ceil() as usize).min(BUCKETS - 1),
        };
        self.0[i] = self.0[i].saturating_add(1);
    }

    pub fn merge(&mut self, other: &Latencies) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine = mine.saturating_add(theirs);
        }
    }

    pub fn count(&self) -> u64 {
        self.0.iter().map(|&n| u64::from(n)).sum()
    }

    /// The latency under which a fraction `q` (0..=1) of the calls fell: the upper bound of
    /// the bucket that holds it (an overestimate by at most √2). None without calls.
    pub fn percentile(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, &n) in self.0.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                return Some(bound(i));
            }
        }
        Some(bound(BUCKETS - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_fall_within_a_bucket_of_the_truth() {
        let mut h = Latencies::default();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let p50 = h.percentile(0.5).unwrap().as_secs_f64() * 1e3;
        let p99 = h.percentile(0.99).unwrap().as_secs_f64() * 1e3;
        assert!((50.0..=50.0 * 1.42).contains(&p50), "p50 {p50}");
        assert!((99.0..=99.0 * 1.42).contains(&p99), "p99 {p99}");
        assert_eq!(Latencies::default().percentile(0.5), None);
    }

    #[test]
    fn extremes_land_in_the_end_buckets() {
        let mut h = Latencies::default();
        h.record(Duration::ZERO);
        h.record(Duration::from_secs(3600));
        assert_eq!(h.0[0], 1);
        assert_eq!(h.0[BUCKETS - 1], 1);
        assert!(bound(BUCKETS - 2) > Duration::from_secs(50));
    }
}
