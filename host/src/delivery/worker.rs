//! The workers of async mode: they take due jobs from the queue, run the bot's plugin
//! (with its `async_timeout_ms`), and post its reply as a comment.
//!
//! A job is done, and removed, only once its comment is posted (or the plugin answered
//! nothing to post). The plugin's reply is saved in the job before the post, so a failed
//! post is retried without running the plugin again. A crash between a run and the save
//! runs the plugin again (at least once); a crash between the API's answer and the removal
//! (a few milliseconds) would post again, the one window the API gives no way to close.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use super::job::{Job, JobId, Stage};
use super::poster::PostError;
use super::queue::JobQueue;
use super::redb_queue::backoff;
use super::store::now_ms;
use super::{AsyncPolicy, Mode};
use crate::names::Kind;
use crate::runtime::{CallError, CallInfo, DeliveryMode, Reply, Request};
use crate::server::AppState;

/// How often the queue is looked at when nothing wakes the workers.
const POLL_EVERY: Duration = Duration::from_millis(250);

/// A plugin or pool that is busy is tried again this much later (not counted as a failure).
const BUSY_RETRY: Duration = Duration::from_millis(500);

/// The running workers' shared state.
pub struct Workers {
    pub(super) wake: Notify,
    running: Mutex<HashSet<JobId>>,
    slots: Arc<Semaphore>,
}

impl Workers {
    pub fn new(slots: usize) -> Workers {
        Workers {
            wake: Notify::new(),
            running: Mutex::default(),
            slots: Arc::new(Semaphore::new(slots)),
        }
    }
}

/// Runs the workers until the process ends.
pub async fn run(state: Arc<AppState>, queue: Arc<dyn JobQueue>) {
    let workers = state.deliveries.workers.clone();
    loop {
        let free = workers.slots.available_permits();
        if free > 0 {
            let skip: Vec<JobId> = workers
                .running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .copied()
                .collect();
            match queue.due(free, skip).await {
                Ok(jobs) => {
                    for job in jobs {
                        let Ok(permit) = workers.slots.clone().try_acquire_owned() else {
                            break;
                        };
                        workers
                            .running
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(job.id);
                        let (state, queue, workers) =
                            (state.clone(), queue.clone(), workers.clone());
                        tokio::spawn(async move {
                            let id = job.id;
                            work(&state, &*queue, job).await;
                            workers
                                .running
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .remove(&id);
                            drop(permit);
                            workers.wake.notify_one();
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the queue"),
            }
        }
        let _ = tokio::time::timeout(POLL_EVERY, workers.wake.notified()).await;
    }
}

/// Takes one job one step further: run, post, and save what happened.
async fn work(state: &AppState, queue: &dyn JobQueue, mut job: Job) {
    let span = tracing::info_span!("job", bot = %job.bot, job = job.id.0, task_id = job.task_id().unwrap_or(0));
    let _ = tracing::Instrument::instrument(
        async {
            // A snapshot for the whole job (a run may take minutes): a reload never changes
            // the plugin under it.
            let registry = state.registry.load_full();
            let Some(loaded) = registry.get(Kind::Bot, &job.bot) else {
                return park(queue, job, "the bot is no longer configured".into()).await;
            };
            // A bot switched back to sync still finishes what it accepted, with the
            // default policy (Pyrus's public API, no credentials).
            let policy = match &loaded.mode {
                Mode::Async(policy) => policy.clone(),
                Mode::Sync => Arc::new(AsyncPolicy::default()),
            };
            if job.stage == Stage::Run {
                let admission = match loaded.plugin.admit(&state.runtime) {
                    Ok(admission) => admission,
                    Err(_) => return later(queue, job, BUSY_RETRY).await,
                };
                let info = CallInfo {
                    name: job.bot.clone(),
                    attempt: job.failed_runs + 1,
                    max_attempts: Some(policy.attempts),
                    user_agent: job.user_agent.clone(),
                    settings: loaded.settings.clone(),
                };
                let request = Request::Bot(job.body.clone());
                let called = loaded
                    .plugin
                    .call_queued(
                        &state.runtime,
                        admission,
                        info,
                        request,
                        policy.timeout,
                        DeliveryMode::Queued,
                    )
                    .await;
                match called {
                    Ok(Reply::Json(None)) => {
                        tracing::info!(outcome = "nothing_to_post", "job done");
                        metrics::counter!("pyrus_jobs_total", "outcome" => "empty").increment(1);
                        return finish(queue, job.id).await;
                    }
                    Ok(Reply::Json(Some(comment))) => {
                        job.stage = Stage::Post { comment };
                        if let Err(e) = queue.update(job.clone()).await {
                            tracing::warn!(error = %e, "cannot save the job's reply; it will run again");
                            return;
                        }
                    }
                    Ok(Reply::Inbound(_)) => {
                        return park(queue, job, "the plugin answered an inbound response".into())
                            .await
                    }
                    Err(e) => {
                        let busy = matches!(e, CallError::Busy | CallError::PluginBusy(_));
                        if busy {
                            return later(queue, job, BUSY_RETRY).await;
                        }
                        metrics::counter!("pyrus_jobs_total", "outcome" => "failed").increment(1);
                        job.failed_runs += 1;
                        let reason = format!("the plugin failed: {} ({})", e, e.code());
                        tracing::warn!(failed_runs = job.failed_runs, cause = %reason, "job run failed");
                        if job.failed_runs >= policy.attempts {
                            return park(queue, job, reason).await;
                        }
                        let wait = backoff(policy.backoff, job.failed_runs);
                        return later(queue, job, wait).await;
                    }
                }
            }
            let Stage::Post { comment } = &job.stage else {
                return;
            };
            match state.deliveries.poster.post(&policy, &job, comment).await {
                Ok(()) => {
                    tracing::info!(
                        queue_ms = now_ms().saturating_sub(job.accepted_ms),
                        "comment posted"
                    );
                    metrics::counter!("pyrus_jobs_total", "outcome" => "posted").increment(1);
                    finish(queue, job.id).await
                }
                Err(e) => {
                    metrics::counter!("pyrus_jobs_total", "outcome" => "failed").increment(1);
                    job.failed_posts += 1;
                    tracing::warn!(failed_posts = job.failed_posts, cause = %e, "posting the comment failed");
                    let wait = match e {
                        PostError::Permanent(reason) => return park(queue, job, reason).await,
                        PostError::TokenRefused(_) => {
                            job.token_refused = true;
                            Duration::ZERO
                        }
                        PostError::Retry { after, .. } => {
                            after.unwrap_or_else(|| backoff(policy.backoff, job.failed_posts))
                        }
                    };
                    if job.failed_posts >= policy.attempts {
                        return park(queue, job, format!("posting failed {} times: {e}", policy.attempts)).await;
                    }
                    later(queue, job, wait).await
                }
            }
        },
        span,
    )
    .await;
}

async fn finish(queue: &dyn JobQueue, id: JobId) {
    if let Err(e) = queue.finish(id).await {
        tracing::warn!(error = %e, "cannot remove a finished job; it may run again");
    }
}

async fn later(queue: &dyn JobQueue, mut job: Job, wait: Duration) {
    job.not_before_ms = now_ms() + wait.as_millis() as u64;
    if let Err(e) = queue.update(job).await {
        tracing::warn!(error = %e, "cannot save the job's next try");
    }
}

async fn park(queue: &dyn JobQueue, mut job: Job, reason: String) {
    tracing::warn!(cause = %reason, "job parked: replay it from the admin page");
    metrics::counter!("pyrus_jobs_total", "outcome" => "parked").increment(1);
    job.parked = Some(reason);
    if let Err(e) = queue.update(job).await {
        tracing::warn!(error = %e, "cannot park the job");
    }
}
