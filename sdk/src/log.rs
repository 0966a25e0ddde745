//! Logging into the host's log. Each message is tagged with the plugin and the call there;
//! the host caps messages per call and their length. Natively (in unit tests) messages go to
//! stderr.
//!
//! ```
//! pyrus_plugin_sdk::log::info("task 42: nothing to do");
//! ```

/// How important a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

pub fn trace(message: impl AsRef<str>) {
    write(Level::Trace, message.as_ref())
}
pub fn debug(message: impl AsRef<str>) {
    write(Level::Debug, message.as_ref())
}
pub fn info(message: impl AsRef<str>) {
    write(Level::Info, message.as_ref())
}
pub fn warn(message: impl AsRef<str>) {
    write(Level::Warn, message.as_ref())
}
pub fn error(message: impl AsRef<str>) {
    write(Level::Error, message.as_ref())
}

/// Writes one message at `level`.
pub fn write(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        use crate::bindings::bot_world::pyrus::plugin0_2_0::log as host;
        let level = match level {
            Level::Trace => host::Level::Trace,
            Level::Debug => host::Level::Debug,
            Level::Info => host::Level::Info,
            Level::Warn => host::Level::Warn,
            Level::Error => host::Level::Error,
        };
        host::log(level, message);
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}
