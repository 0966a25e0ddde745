//! What reloads have happened, as `/healthz` and the admin page show it. The reloader
//! (`crate::reload`) writes it.

use std::time::SystemTime;

/// How many reloads the admin page lists.
pub const HISTORY: usize = 20;

/// What reloads have happened, for `/healthz` and the admin page.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReloadStatus {
    pub reloads: u64,
    pub failures: u64,
    /// Why the last reload failed, or what it could not apply; none when it went well.
    pub last_error: Option<String>,
    /// When the last reload finished, in seconds since the Unix epoch.
    pub last_reload: Option<u64>,
    /// The last [`HISTORY`] reloads, oldest first.
    #[serde(skip)]
    pub history: std::collections::VecDeque<ReloadEvent>,
}

/// One reload, for the admin page.
#[derive(Debug, Clone)]
pub struct ReloadEvent {
    pub at: SystemTime,
    /// Whether everything was applied.
    pub ok: bool,
    pub duration_ms: u64,
    /// What was rebuilt, or what went wrong.
    pub details: String,
}
