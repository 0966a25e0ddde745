//! Where the current call runs: inside Pyrus's webhook, or from the host's queue
//! (`mode = "async"` in the host config), where it may run more than once for one call.
//!
//! ```no_run
//! use pyrus_plugin_sdk::delivery::{self, Mode};
//! if delivery::mode() == Mode::Queued {
//!     // Pyrus already has its 200: the reply is posted as a comment, at least once.
//! }
//! ```

/// Where a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Inside Pyrus's webhook: the reply is the webhook's answer.
    Sync,
    /// From the host's durable queue: the reply is posted as a comment.
    Queued,
}

/// Where the current call runs. Calling it makes the component import
/// `pyrus:plugin/delivery`, which hosts from this version on provide. Natively (unit tests)
/// it is `Sync`.
pub fn mode() -> Mode {
    #[cfg(target_arch = "wasm32")]
    {
        use crate::bindings::bot_world::pyrus::plugin0_2_0::delivery as host;
        match host::current_mode() {
            host::Mode::Sync => Mode::Sync,
            host::Mode::Queued => Mode::Queued,
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    Mode::Sync
}
