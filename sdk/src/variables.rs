//! The plugin's variables from the host config (`[bots.NAME.variables]`), through the
//! standard `wasi:config/store` interface: logins, URLs, and secrets such as a bot's security
//! key or an extension's client secret (the host reads those from its environment or a file
//! and never logs them).
//!
//! ```no_run
//! let login = pyrus_plugin_sdk::variables::get("login").unwrap_or_default();
//! ```
//!
//! Like the store, these call the host and are not available in native unit tests.

use crate::bindings::bot_world::wasi::config::store as config;

/// The variable `name`, if the config sets it.
///
/// ```no_run
/// if let Some(key) = pyrus_plugin_sdk::variables::get("security_key") {
///     // authenticate with it
/// #   let _ = key;
/// }
/// ```
pub fn get(name: &str) -> Option<String> {
    config::get(name).ok().flatten()
}

/// The variable `name`, or a `misconfigured` error (status 500) naming it.
///
/// ```no_run
/// # fn demo() -> Result<(), pyrus_plugin_sdk::PluginError> {
/// let url = pyrus_plugin_sdk::variables::require("messenger_url")?;
/// # let _ = url; Ok(()) }
/// ```
pub fn require(name: &str) -> Result<String, crate::PluginError> {
    get(name).ok_or_else(|| {
        crate::PluginError::new(
            "misconfigured",
            format!("the host config sets no variable {name:?} for this plugin"),
        )
        .with_status(500)
    })
}

/// Every variable, sorted by name.
pub fn all() -> Vec<(String, String)> {
    let mut all = config::get_all().unwrap_or_default();
    all.sort();
    all
}
