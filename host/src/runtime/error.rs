//! What can go wrong when loading or calling a plugin.

use std::path::PathBuf;
use std::time::Duration;

/// An error the plugin returned on purpose (the WIT `plugin-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    pub code: String,
    pub message: String,
    pub status: Option<u16>,
}

/// The longest error code a plugin may give (longer ones are cut).
pub const MAX_ERROR_CODE_BYTES: usize = 64;
/// The longest error message a plugin may give: it goes into the answer, the log and the
/// admin page.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 2048;

impl PluginError {
    /// The error as the host passes it on, made from the plugin's text while that is still
    /// in the plugin's memory (only what is kept is copied): the code's other characters
    /// than `[A-Za-z0-9_.-]` made `_` (an empty one is `plugin_error`) and capped, the
    /// message capped with control characters escaped. A plugin chooses both, and they
    /// reach the caller, the log and the admin page.
    pub fn bounded(code: &str, message: &str, status: Option<u16>) -> PluginError {
        let code_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        let code = match code.is_empty() {
            true => "plugin_error".to_string(),
            false => (code.chars())
                .map(|c| if code_ok(c) { c } else { '_' })
                .take(MAX_ERROR_CODE_BYTES)
                .collect(),
        };
        PluginError {
            code,
            message: crate::text::sanitize(message, MAX_ERROR_MESSAGE_BYTES).into_owned(),
            status,
        }
    }
}

/// Why a call produced no reply. Only that call fails; the host and other plugins go on.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("plugin returned error {}: {}", .0.code, .0.message)]
    Plugin(PluginError),
    #[error("plugin trapped: {0}")]
    Trap(String),
    #[error("plugin overflowed its stack")]
    StackOverflow,
    #[error("plugin asked for {asked_mb} MiB of memory, over its limit of {limit_mb} MiB")]
    OutOfMemory { asked_mb: usize, limit_mb: usize },
    #[error("plugin did not finish within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("plugin used up its fuel budget of {0}")]
    OutOfFuel(u64),
    #[error("plugin reply is not a JSON object: {0}")]
    InvalidReply(String),
    #[error("plugin reply of {0} bytes is over its limit of {1} bytes")]
    ReplyTooLarge(usize, usize),
    #[error(
        "plugin passed the host over {0} bytes at once (its reply, its error or a host \
         call's data): over its max_reply_kb and the capabilities' needs"
    )]
    TransferTooLarge(usize),
    #[error("the plugin already runs its maximum of {0} calls at once, try again")]
    PluginBusy(u32),
    #[error("too many calls in progress, try again")]
    Busy,
}

impl CallError {
    /// A stable snake_case code for the `error_code` field and the log's `outcome`.
    pub fn code(&self) -> &str {
        match self {
            CallError::Plugin(e) => &e.code,
            CallError::Trap(_) => "plugin_trapped",
            CallError::StackOverflow => "plugin_stack_overflow",
            CallError::OutOfMemory { .. } => "plugin_out_of_memory",
            CallError::Timeout(_) => "plugin_timeout",
            CallError::OutOfFuel(_) => "plugin_out_of_fuel",
            CallError::InvalidReply(_) => "invalid_plugin_reply",
            CallError::ReplyTooLarge(..) | CallError::TransferTooLarge(_) => {
                "plugin_reply_too_large"
            }
            CallError::PluginBusy(_) => "plugin_busy",
            CallError::Busy => "busy",
        }
    }

    /// The log's `outcome` field: one word per kind of failure.
    pub fn outcome(&self) -> &'static str {
        match self {
            CallError::Plugin(_) => "plugin_error",
            CallError::Trap(_) => "trap",
            CallError::StackOverflow => "stack_overflow",
            CallError::OutOfMemory { .. } => "out_of_memory",
            CallError::Timeout(_) => "timeout",
            CallError::OutOfFuel(_) => "out_of_fuel",
            CallError::InvalidReply(_) => "invalid_reply",
            CallError::ReplyTooLarge(..) | CallError::TransferTooLarge(_) => "reply_too_large",
            CallError::PluginBusy(_) | CallError::Busy => "busy",
        }
    }
}

/// Why a plugin file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is not a WebAssembly component: {reason}")]
    NotComponent { path: PathBuf, reason: String },
    #[error("{path} does not fit the {world} world: {reason}")]
    WrongWorld {
        path: PathBuf,
        world: String,
        reason: String,
    },
    #[error("{path} imports what this host does not provide: {reason}")]
    Imports { path: PathBuf, reason: String },
    #[error(
        "{path} takes no inbound calls ({contract}), but the config sets inbound = true: \
         build it for the pyrus:plugin/extension-inbound-plugin world (export_extension!(T, inbound) \
         in the Rust SDK), or remove inbound"
    )]
    NoInbound { path: PathBuf, contract: String },
}
