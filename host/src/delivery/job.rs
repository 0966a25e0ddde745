//! One accepted async call, as the queue keeps it until its comment is posted.

use serde::{Deserialize, Serialize};

/// A job's id in its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobId(pub u64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a job is: the plugin has yet to run, or its comment has yet to be posted. The
/// reply is kept once the plugin answered, so that a failed post does not run it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    Run,
    Post { comment: String },
}

/// An accepted call. Its `body` holds the call's `access_token`: it is kept in the store
/// (as any queue of calls must) and never logged or shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    /// The bot's configured name.
    pub bot: String,
    /// The delivery key (its de-duplication record is written with the job).
    pub key: String,
    /// The signed body, as received.
    pub body: String,
    pub user_agent: Option<String>,
    /// When the call was accepted (ms since the epoch): its `access_token` lives 15 min.
    pub accepted_ms: u64,
    pub stage: Stage,
    /// Plugin runs that failed so far.
    pub failed_runs: u32,
    /// Posts that failed so far.
    pub failed_posts: u32,
    /// Not to be tried before this time (backoff, `Retry-After`).
    pub not_before_ms: u64,
    /// Why it was parked, once it was: replayed only by an operator.
    pub parked: Option<String>,
    /// The call's token was refused (401/403): later posts use the bot's credentials.
    #[serde(default)]
    pub token_refused: bool,
}

/// Sizes only: the body holds a token and the customer's data.
impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("bot", &self.bot)
            .field("body_bytes", &self.body.len())
            .field("failed_runs", &self.failed_runs)
            .field("failed_posts", &self.failed_posts)
            .field("parked", &self.parked)
            .finish()
    }
}

impl Job {
    /// The task id the comment goes to, from the body (`task_id`, else `task.id`), read as
    /// leniently as when the call was accepted.
    pub fn task_id(&self) -> Option<u64> {
        serde_json::from_str::<super::key::BotCallIds>(&self.body)
            .ok()?
            .task_number()
    }
}

/// What the queue reports of itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Jobs waiting or running, parked ones excluded.
    pub depth: u64,
    /// Age of the oldest of them, in seconds.
    pub oldest_age_s: u64,
    /// Jobs parked after too many failures.
    pub parked: u64,
}
