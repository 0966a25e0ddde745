//! The durable queue of async calls: one trait, backed by the `[store]` backend.

use std::time::Duration;

use super::job::{Job, JobId, QueueStats};
use super::key::DeliveryKey;
pub use super::store::BoxFuture;

/// A queue operation failed (the store is down, the disk is full).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("queue unavailable: {0}")]
pub struct QueueError(pub String);

impl From<crate::capabilities::keyvalue::backend::KvError> for QueueError {
    fn from(e: crate::capabilities::keyvalue::backend::KvError) -> Self {
        QueueError(e.to_string())
    }
}

/// What accepting a call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Written durably as this job.
    New(JobId),
    /// An earlier delivery of the same call was accepted within the window: not queued again.
    Duplicate,
    /// The queue holds its most jobs (the API has been failing for long): refused, so that
    /// Pyrus retries later, rather than filling the disk.
    Full,
}

/// A call accepted in async mode, before it has an id.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub bot: String,
    pub key: DeliveryKey,
    pub body: String,
    pub user_agent: Option<String>,
    /// How long a retry of this call is recognised.
    pub window: Duration,
}

pub trait JobQueue: Send + Sync {
    fn name(&self) -> &'static str;

    /// Writes the job and its de-duplication record in one durable step, unless the
    /// record shows the call was accepted already.
    fn enqueue(&self, job: NewJob) -> BoxFuture<'_, Result<Enqueued, QueueError>>;

    /// Up to `max` jobs due now that are not parked, oldest first, leaving out `skip`
    /// (those this process runs now).
    fn due(&self, max: usize, skip: Vec<JobId>) -> BoxFuture<'_, Result<Vec<Job>, QueueError>>;

    /// Saves a job's new state (its reply, a failure, its next try, parked).
    fn update(&self, job: Job) -> BoxFuture<'_, Result<(), QueueError>>;

    /// The job is done (its comment posted, or it had none): removed, durably.
    fn finish(&self, id: JobId) -> BoxFuture<'_, Result<(), QueueError>>;

    /// Puts a parked job back in the queue, with its failures forgotten. False when there
    /// is no such parked job.
    fn replay(&self, id: JobId) -> BoxFuture<'_, Result<bool, QueueError>>;

    fn stats(&self) -> BoxFuture<'_, Result<QueueStats, QueueError>>;

    /// The same counts for each of `bots`, in that order. Read every few seconds by the
    /// operator's window ([`super::sampler`]), not per request: it may cost a scan.
    fn bot_stats(&self, bots: Vec<String>) -> BoxFuture<'_, Result<Vec<QueueStats>, QueueError>>;

    /// Up to `max` parked jobs, for the admin page.
    fn parked(&self, max: usize) -> BoxFuture<'_, Result<Vec<Job>, QueueError>>;
}
