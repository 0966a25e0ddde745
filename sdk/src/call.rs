//! What the host tells a plugin about a call, and the error a plugin reports.

use std::fmt;

/// What the host knows about the call, besides the body.
///
/// ```
/// use pyrus_plugin_sdk::CallInfo;
/// let call = CallInfo::new("hello");
/// assert_eq!(call.attempt, 1);
/// assert!(!call.is_retry());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallInfo {
    /// The name the plugin is configured under in the host.
    pub name: String,
    /// Which delivery attempt this is (from `X-Pyrus-Retry`); 1 when Pyrus sent none.
    pub attempt: u32,
    /// How many attempts Pyrus makes in all, when it said so (`2/3` gives 3).
    pub max_attempts: Option<u32>,
    /// The caller's `User-Agent`, e.g. `Pyrus-Bot-4`.
    pub user_agent: Option<String>,
    /// The `settings` string of this plugin's entry in the host config.
    pub settings: Option<String>,
}

impl CallInfo {
    /// A first-attempt call to the plugin named `name`: handy in unit tests.
    pub fn new(name: impl Into<String>) -> Self {
        CallInfo {
            name: name.into(),
            attempt: 1,
            max_attempts: None,
            user_agent: None,
            settings: None,
        }
    }

    /// The same call with host `settings`.
    pub fn with_settings(mut self, settings: impl Into<String>) -> Self {
        self.settings = Some(settings.into());
        self
    }

    /// Whether Pyrus already tried this call before (a handler should be idempotent).
    pub fn is_retry(&self) -> bool {
        self.attempt > 1
    }
}

/// An error the plugin reports on purpose. The host answers
/// `{"error": message, "error_code": code}` with `status` (default: 500 for bots, so that
/// Pyrus retries; 400 for extensions).
///
/// The message is sent to Pyrus: never put a secret or a token in it.
///
/// ```
/// use pyrus_plugin_sdk::PluginError;
/// let e = PluginError::new("bad_credentials", "login or password is wrong").with_status(400);
/// assert_eq!(e.status, Some(400));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    pub code: String,
    pub message: String,
    pub status: Option<u16>,
}

impl PluginError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        PluginError {
            code: code.into(),
            message: message.into(),
            status: None,
        }
    }

    /// The request cannot be handled as sent (400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new("invalid_request", message).with_status(400)
    }

    /// Answer with this HTTP status (400-599).
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for PluginError {}
