//! Per-plugin limits, and the [`ResourceLimiter`] that enforces the memory limit in a store.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// The largest `memory_mb` a plugin may be given; the pool's memory slots are sized for it.
pub const MAX_MEMORY_MB: u64 = 1024;

/// How much time and memory one call of a plugin may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time for instantiate + call. Pyrus gives a bot 60 s; answer well before.
    pub timeout: Duration,
    /// Linear memory, summed over the instance's memories.
    pub memory_bytes: usize,
    /// Calls of this plugin running at once; past it, calls are refused (503) at once.
    pub max_concurrency: u32,
    /// The largest reply the plugin may give; a larger one fails the call.
    pub max_reply_bytes: usize,
    /// A deterministic CPU budget (wasmtime fuel, roughly one unit per instruction), if set.
    pub fuel: Option<u64>,
}

/// Headroom of a call's transfer budget over its largest reply or store value: an inbound
/// response's headers (64 KiB at most) and the records around the payload.
pub const TRANSFER_SLACK_BYTES: usize = 128 << 10;

impl Limits {
    /// The most bytes the plugin may pass the host in one crossing (its reply or error, or
    /// one host call's arguments), when its capabilities need `capabilities_need` for one
    /// host call. wasmtime refuses a larger transfer before it copies anything, so this
    /// bounds what the host holds for a call besides the plugin's own memory.
    pub fn transfer_bytes(&self, capabilities_need: usize) -> usize {
        // Twice: a guest that keeps strings in UTF-16 hands over two bytes a character,
        // and its reply is measured in UTF-8 afterwards (`max_reply_kb` is that size).
        2 * self.max_reply_bytes.max(capabilities_need) + TRANSFER_SLACK_BYTES
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            memory_bytes: 64 << 20,
            max_concurrency: 64,
            max_reply_bytes: 1 << 20,
            fuel: None,
        }
    }
}

/// Enforces [`Limits::memory_bytes`] and records whether the plugin hit it, so that a failed
/// call can be reported as memory exhaustion rather than a generic trap.
#[derive(Debug)]
pub struct MemoryLimiter {
    max_bytes: usize,
    used_bytes: usize,
    /// The total the plugin asked for when it went over the limit, if it did.
    pub exceeded: Option<usize>,
}

impl MemoryLimiter {
    pub fn new(max_bytes: usize) -> Self {
        MemoryLimiter {
            max_bytes,
            used_bytes: 0,
            exceeded: None,
        }
    }
}

impl MemoryLimiter {
    /// The linear memory the instance has grown to.
    pub fn used_bytes(&self) -> usize {
        self.used_bytes
    }
}

/// Tables hold function references; a plugin needs a few thousand entries at most.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A component may have several memories (e.g. an adapter's): the limit is on their sum.
        let total = self.used_bytes - current.min(self.used_bytes) + desired;
        if total > self.max_bytes {
            self.exceeded = Some(total);
            // Trap rather than fail the grow: a Rust guest would abort on a failed allocation
            // anyway, and the trap carries a clear cause.
            wasmtime::bail!(
                "memory limit exceeded: the plugin asked for {} MiB, its limit is {} MiB",
                total.div_ceil(1 << 20),
                self.max_bytes >> 20
            );
        }
        self.used_bytes = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
