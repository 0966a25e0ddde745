//! Never act on one Pyrus call twice: retry de-duplication.
//!
//! Pyrus retries a bot call it got no 2xx for within 60 s (after 61 s and 122 s), and a slow
//! plugin's first attempt may still be running, or have just finished, when the retry
//! arrives. Each delivery of a signed bot call is identified by a [`DeliveryKey`] (bot +
//! task id + last comment id, or a hash of the body without `access_token`), and:
//!
//! - a retry that arrives while the first attempt still runs waits for it (on this host
//!   through a channel, on another host by polling the shared record) and gets its answer:
//!   the plugin runs once;
//! - a retry after it finished gets the stored answer, within the bot's `dedup_window_s`
//!   (default 10 minutes);
//! - only successful answers (200, with or without a comment) are kept. A failed attempt
//!   (trap, timeout, an error the plugin returned, busy) is forgotten at once: Pyrus retries
//!   precisely because it failed, and the retry must run the plugin again.
//!
//! The records live in the `[store]` backend ([`store::DedupStore`]): the redb file for one
//! host, Redis for several (so a retry that reaches another host is recognised too), or
//! the process's memory when the host opened no store. A store that fails never loses a
//! call: the call then runs without de-duplication, and the log says so.

pub mod job;
pub mod key;
pub mod memory;
pub mod poster;
pub mod queue;
pub mod redb;
pub mod redb_queue;
pub mod redis;
pub mod redis_queue;
pub mod sampler;
pub mod store;
pub mod worker;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

pub use key::DeliveryKey;
use store::{Claim, DedupError, DedupStore, Owner, StoredAnswer};

use crate::capabilities::keyvalue::{StoreBackend, StoreConfig};

/// How long a retry is answered from a finished attempt, by default: Pyrus's last retry
/// comes about 2 minutes after the first attempt; 10 minutes leaves room for clock and
/// queue delays without keeping answers for long.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(600);

/// The longest `dedup_window_s` accepted: a day.
pub const MAX_WINDOW_S: u64 = 86_400;

/// Answers larger than this are not kept (their retries run again): a comment is a few KiB.
pub const MAX_STORED_ANSWER: usize = 256 << 10;

/// Records kept at most by the embedded stores (Redis expires its own).
pub const MAX_RECORDS: u64 = 100_000;

/// The longest one store operation may take before the call goes on without it.
const STORE_TIMEOUT: Duration = Duration::from_secs(3);

/// How often a retry polls the shared record of a run on another host.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// A run's claim outlives its plugin timeout by this much before another may take it over
/// (its host was killed, say).
const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// One bot's de-duplication policy (`dedup_window_s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupPolicy {
    /// How long a finished answer is replayed; zero turns de-duplication off.
    pub window: Duration,
}

impl Default for DedupPolicy {
    fn default() -> Self {
        DedupPolicy {
            window: DEFAULT_WINDOW,
        }
    }
}

impl DedupPolicy {
    pub fn enabled(&self) -> bool {
        !self.window.is_zero()
    }
}

/// What [`Deliveries::once`] answered.
pub enum Answered<E> {
    /// The plugin ran for this delivery.
    Ran(Result<Option<String>, E>),
    /// An earlier delivery of the same call ran it; this is its answer.
    Duplicate(Option<String>),
}

/// A retry waited longer than the first attempt's lease for it to finish elsewhere.
#[derive(Debug, thiserror::Error)]
#[error("an earlier delivery of this call is still running")]
pub struct StillRunning;

/// The deliveries of this process: the de-duplication records and the runs in flight
/// here, and for async bots the queue, its workers and the poster.
pub struct Deliveries {
    store: Arc<dyn DedupStore>,
    /// Calls running on this host, by key: a duplicate waits until the sender is dropped.
    running: Mutex<HashMap<DeliveryKey, watch::Receiver<()>>>,
    /// The queue of async calls, when some bot is async.
    pub queue: Option<Arc<dyn queue::JobQueue>>,
    pub poster: poster::Poster,
    pub workers: Arc<worker::Workers>,
}

/// Async jobs that run at once: twice the cores, since a job mostly waits (for the API).
fn worker_slots() -> usize {
    crate::runtime::plugin_threads() * 2
}

impl Deliveries {
    pub fn new(store: Arc<dyn DedupStore>) -> Deliveries {
        Deliveries {
            store,
            running: Mutex::default(),
            queue: None,
            poster: poster::Poster::default(),
            workers: Arc::new(worker::Workers::new(worker_slots())),
        }
    }

    /// Like [`Deliveries::open`], with the queue async bots need.
    pub async fn open_with_queue(config: &StoreConfig) -> Result<Deliveries, DedupError> {
        match &config.backend {
            StoreBackend::Redb { path } => {
                let queue = redb_queue::RedbQueue::open(path).map_err(|e| DedupError(e.0))?;
                let mut deliveries = Self::open(config, true).await?;
                deliveries.queue = Some(Arc::new(queue));
                Ok(deliveries)
            }
            StoreBackend::Redis { url } => {
                let queue = redis_queue::RedisQueue::connect(url)
                    .await
                    .map_err(|e| DedupError(e.0))?;
                let mut deliveries = Self::open(config, true).await?;
                deliveries.queue = Some(Arc::new(queue));
                Ok(deliveries)
            }
        }
    }

    /// The queue's counts, when there is a queue (and it answers).
    pub async fn queue_stats(&self) -> Option<job::QueueStats> {
        let queue = self.queue.as_ref()?;
        match tokio::time::timeout(STORE_TIMEOUT, queue.stats()).await {
            Ok(Ok(stats)) => Some(stats),
            _ => None,
        }
    }

    /// Wakes the workers: a job was accepted or replayed.
    pub fn wake_workers(&self) {
        self.workers.wake.notify_one();
    }

    /// Accepts an async call: writes it durably, unless an earlier delivery of the same
    /// call was accepted within the window.
    pub async fn accept(&self, job: queue::NewJob) -> Result<queue::Enqueued, queue::QueueError> {
        let Some(queue) = &self.queue else {
            return Err(queue::QueueError("this host has no queue".into()));
        };
        let enqueued = queue.enqueue(job).await?;
        if matches!(enqueued, queue::Enqueued::New(_)) {
            self.wake_workers();
        }
        Ok(enqueued)
    }

    /// Records in this process's memory only.
    pub fn in_memory() -> Deliveries {
        Self::new(Arc::new(memory::MemoryDedup::new(MAX_RECORDS as usize)))
    }

    /// The `[store]` backend's records when `open` (the host opened its store), else the
    /// process's memory: without a store there is one host, and the redb file is not
    /// taken from another host that shares its default path.
    pub async fn open(config: &StoreConfig, open: bool) -> Result<Deliveries, DedupError> {
        let store: Arc<dyn DedupStore> = match (&config.backend, open) {
            (_, false) => return Ok(Self::in_memory()),
            (StoreBackend::Redb { path }, true) => {
                Arc::new(redb::RedbDedup::open(path, MAX_RECORDS)?)
            }
            (StoreBackend::Redis { url }, true) => Arc::new(redis::RedisDedup::connect(url).await?),
        };
        Ok(Self::new(store))
    }

    /// The backend's name (`redb`, `redis`, `memory`).
    pub fn backend(&self) -> &'static str {
        self.store.name()
    }

    /// Runs `run` for the delivery `key` unless an earlier delivery of the same call ran or
    /// runs it: then answers what that one answered, waiting for it if needed (at most
    /// `timeout`, the plugin's, plus a margin). Successful answers are kept for `policy`'s
    /// window; a failed run is forgotten, so that its retry runs again.
    pub async fn once<E>(
        self: &Arc<Self>,
        key: DeliveryKey,
        policy: DedupPolicy,
        timeout: Duration,
        run: impl Future<Output = Result<Option<String>, E>>,
    ) -> Result<Answered<E>, StillRunning> {
        let lease = timeout + LEASE_MARGIN;
        let deadline = Instant::now() + lease;
        loop {
            let local = {
                let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
                match running.get(&key) {
                    Some(rx) => Err(rx.clone()),
                    None => {
                        let (tx, rx) = watch::channel(());
                        running.insert(key.clone(), rx);
                        Ok(tx)
                    }
                }
            };
            let done = match local {
                // A run of the same call on this host: wait for it to end, then look again.
                Err(mut rx) => {
                    let _ = tokio::time::timeout_at(deadline.into(), rx.changed()).await;
                    if Instant::now() >= deadline {
                        return Err(StillRunning);
                    }
                    continue;
                }
                Ok(tx) => tx,
            };
            let mut guard = Guard {
                deliveries: self.clone(),
                key: key.clone(),
                owner: Owner::random(),
                _done: done,
                claimed: false,
            };
            match bounded(self.store.claim(&key, guard.owner, lease)).await {
                Err(e) => {
                    tracing::warn!(error = %e, "retry de-duplication skipped: the call runs without it");
                    return Ok(Answered::Ran(run.await));
                }
                Ok(Claim::Done(StoredAnswer(answer))) => return Ok(Answered::Duplicate(answer)),
                Ok(Claim::Claimed) => {
                    guard.claimed = true;
                    let result = run.await;
                    if let Ok(answer) = &result {
                        if answer.as_ref().map_or(0, String::len) <= MAX_STORED_ANSWER {
                            let kept = StoredAnswer(answer.clone());
                            let complete =
                                self.store.complete(&key, guard.owner, &kept, policy.window);
                            match bounded(complete).await {
                                Ok(()) => guard.claimed = false,
                                Err(e) => {
                                    tracing::warn!(error = %e, "the answer could not be kept for retries")
                                }
                            }
                        }
                    }
                    return Ok(Answered::Ran(result));
                }
                Ok(Claim::Running) => {
                    // Held by another host, or by a run of a process of this host that died:
                    // the record says when it is done, or expires with its lease.
                    drop(guard);
                    loop {
                        tokio::time::sleep(POLL_EVERY).await;
                        if Instant::now() >= deadline {
                            return Err(StillRunning);
                        }
                        match bounded(self.store.peek(&key)).await {
                            Ok(Claim::Running) => continue,
                            Ok(Claim::Done(StoredAnswer(answer))) => {
                                return Ok(Answered::Duplicate(answer))
                            }
                            Ok(Claim::Claimed) => break,
                            Err(e) => {
                                tracing::warn!(error = %e, "retry de-duplication skipped: the call runs without it");
                                return Ok(Answered::Ran(run.await));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One run's place: its entry among this host's runs (removed, waking the waiters, when the
/// guard drops) and its claim in the store (released on drop unless completed, so that a
/// failed call, or one cut off midway by a client that hung up, does not hold its retries).
struct Guard {
    deliveries: Arc<Deliveries>,
    key: DeliveryKey,
    owner: Owner,
    _done: watch::Sender<()>,
    claimed: bool,
}

async fn bounded<T>(op: impl Future<Output = Result<T, DedupError>>) -> Result<T, DedupError> {
    tokio::time::timeout(STORE_TIMEOUT, op)
        .await
        .unwrap_or_else(|_| {
            Err(DedupError(format!(
                "no answer in {} ms",
                STORE_TIMEOUT.as_millis()
            )))
        })
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.deliveries
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
        if self.claimed {
            let store = self.deliveries.store.clone();
            let (key, owner) = (self.key.clone(), self.owner);
            tokio::spawn(async move {
                if let Err(e) = bounded(store.release(&key, owner)).await {
                    tracing::warn!(error = %e, "a failed call's delivery record could not be released; its retry waits for the lease to end");
                }
            });
        }
    }
}

/// How a bot's calls are answered (`mode`).
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// The plugin runs inside the webhook and its reply is the answer (the default).
    #[default]
    Sync,
    /// The call is queued durably and answered 200 at once; the reply is posted later.
    Async(Arc<AsyncPolicy>),
}

/// Pyrus's public API: the only base a reply is posted to unless the config allows others.
pub const PYRUS_API: &str = "https://api.pyrus.com/v4/";

/// How an async bot's jobs run and post (`async_timeout_ms`, `pyrus_api_bases`,
/// `pyrus_login` + `pyrus_security_key`, `post_attempts`, `post_backoff_ms`).
#[derive(Debug, Clone)]
pub struct AsyncPolicy {
    /// The plugin's time limit when it runs from the queue.
    pub timeout: Duration,
    /// API bases a call's `api_url` may name (each ending in `/`).
    pub api_bases: Vec<String>,
    /// The bot's own credentials, for a token once the call's has expired.
    pub credentials: Option<Credentials>,
    /// Failed runs, or failed posts, after which a job is parked.
    pub attempts: u32,
    /// The first backoff after a failure; doubled each time, at most 5 minutes.
    pub backoff: Duration,
}

impl Default for AsyncPolicy {
    fn default() -> Self {
        AsyncPolicy {
            timeout: Duration::from_secs(60),
            api_bases: vec![PYRUS_API.to_string()],
            credentials: None,
            attempts: 8,
            backoff: Duration::from_secs(1),
        }
    }
}

impl AsyncPolicy {
    /// The allowed base `api_url` names, or the first allowed base when the call has none.
    pub fn base_for(&self, api_url: Option<&str>) -> Result<&str, ApiUrlRefused> {
        match api_url {
            None => Ok(self.api_bases.first().map_or(PYRUS_API, String::as_str)),
            Some(url) => {
                let url = url.trim();
                self.api_bases
                    .iter()
                    .find(|b| b.trim_end_matches('/') == url.trim_end_matches('/'))
                    .map(String::as_str)
                    .ok_or_else(|| ApiUrlRefused(crate::text::sanitize(url, 200).to_string()))
            }
        }
    }
}

/// A call named an API base the config does not allow.
#[derive(Debug, thiserror::Error)]
#[error("the call's api_url {0:?} is not one of this bot's pyrus_api_bases")]
pub struct ApiUrlRefused(pub String);

/// A bot's Pyrus login and security key (`POST {api}/auth`). The key never prints.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub login: String,
    pub security_key: Arc<crate::secret::Secret>,
}
