//! The `log` capability: plugin messages go to the host's structured log, inside the call's
//! span (so they carry the plugin name, task id and attempt), capped per call.

use super::bindings::log::{Host, Level};
use super::state::CallState;

/// The longest message kept; longer ones are cut at a character boundary.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// How many messages one call may still log (`Limits::max_log_messages`).
#[derive(Debug)]
pub struct LogBudget {
    max: u32,
    written: u32,
    dropped: u32,
}

impl LogBudget {
    pub fn new(max: u32) -> Self {
        LogBudget {
            max,
            written: 0,
            dropped: 0,
        }
    }

    /// How many messages were dropped over the cap (reported once at the end of the call).
    pub fn dropped(&self) -> u32 {
        self.dropped
    }
}

impl Host for CallState {
    fn log(&mut self, level: Level, message: String) {
        if self.log.written >= self.log.max {
            self.log.dropped += 1;
            return;
        }
        self.log.written += 1;
        let message = truncate(&message, MAX_MESSAGE_BYTES);
        match level {
            Level::Trace => tracing::trace!(target: "plugin", "{message}"),
            Level::Debug => tracing::debug!(target: "plugin", "{message}"),
            Level::Info => tracing::info!(target: "plugin", "{message}"),
            Level::Warn => tracing::warn!(target: "plugin", "{message}"),
            Level::Error => tracing::error!(target: "plugin", "{message}"),
        }
    }
}

impl super::bindings::types::Host for CallState {}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncate_keeps_char_boundaries() {
        assert_eq!(super::truncate("héllo", 2), "h");
        assert_eq!(super::truncate("héllo", 3), "hé");
        assert_eq!(super::truncate("abc", 10), "abc");
    }
}
