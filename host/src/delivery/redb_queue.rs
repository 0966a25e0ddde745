//! The async queue in the host's redb file (`[store] backend = "redb"`): one host.
//!
//! Accepting a call must be durable before Pyrus hears 200, and an fsync per call would cap
//! accepted calls at the disk's flush rate. So accepts are committed in groups: one thread
//! takes every accept waiting, writes them (each job with its de-duplication record) in
//! one transaction, commits it with fsync once, and then answers them all. Under load a
//! commit carries many calls; alone, a call waits for one commit as before.
//!
//! Only one process opens a redb file, so which jobs run is kept in that process's memory;
//! after a crash every job left in the file is due again (at least once).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use redb::{Durability, ReadableTable, ReadableTableMetadata, TableDefinition};
use tokio::sync::oneshot;

use super::job::{Job, JobId, QueueStats, Stage};
use super::queue::{BoxFuture, Enqueued, JobQueue, NewJob, QueueError};
use super::redb::DEDUP;
use super::store::{now_ms, Record, RecordState, StoredAnswer};
use crate::capabilities::keyvalue::redb::{storage, Fail, StoreFile};

/// id → the job, as JSON.
const JOBS: TableDefinition<u64, &[u8]> = TableDefinition::new("delivery_jobs");
/// id → (not before, accepted at, parked): what picking jobs and counting them need,
/// without reading bodies.
const INDEX: TableDefinition<u64, (u64, u64, bool)> = TableDefinition::new("delivery_index");
/// id → the job's bot: counting each bot's jobs without reading bodies. (Jobs accepted
/// before this table existed have no entry; their bot is read from the job.)
const BOTS: TableDefinition<u64, &str> = TableDefinition::new("delivery_job_bots");
/// `next_job_id` → the next id.
const META: TableDefinition<&str, u64> = TableDefinition::new("delivery_meta");

/// Accepts committed together at most.
const MAX_GROUP: usize = 1024;

/// Jobs the queue holds at most, parked ones included.
pub const MAX_JOBS: u64 = 100_000;

type Accept = (NewJob, oneshot::Sender<Result<Enqueued, QueueError>>);

pub struct RedbQueue {
    file: Arc<StoreFile>,
    accepts: mpsc::Sender<Accept>,
}

impl RedbQueue {
    pub fn open(path: &Path) -> Result<RedbQueue, QueueError> {
        let file = StoreFile::shared(path)?;
        // Create the tables, so that readers never meet a missing one.
        file.run(|db| {
            let tx = db.begin_write().map_err(storage)?;
            tx.open_table(JOBS).map_err(storage)?;
            tx.open_table(INDEX).map_err(storage)?;
            tx.open_table(BOTS).map_err(storage)?;
            tx.open_table(META).map_err(storage)?;
            tx.open_table(DEDUP).map_err(storage)?;
            tx.commit().map_err(storage)
        })?;
        let (accepts, rx) = mpsc::channel::<Accept>();
        let committer = file.clone();
        std::thread::Builder::new()
            .name("queue-commit".into())
            .spawn(move || group_commit(&committer, rx))
            .map_err(|e| QueueError(format!("cannot start the queue's commit thread: {e}")))?;
        Ok(RedbQueue { file, accepts })
    }

    fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&redb::WriteTransaction) -> Result<T, Fail> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, QueueError>> {
        let file = self.file.clone();
        Box::pin(async move {
            let done = tokio::task::spawn_blocking(move || {
                file.run(|db| {
                    let tx = db.begin_write().map_err(storage)?;
                    let value = work(&tx)?;
                    tx.commit().map_err(storage)?;
                    Ok(value)
                })
            });
            Ok(done.await.map_err(|e| QueueError(e.to_string()))??)
        })
    }

    fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&redb::ReadTransaction) -> Result<T, Fail> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, QueueError>> {
        let file = self.file.clone();
        Box::pin(async move {
            let done = tokio::task::spawn_blocking(move || {
                file.run(|db| work(&db.begin_read().map_err(storage)?))
            });
            Ok(done.await.map_err(|e| QueueError(e.to_string()))??)
        })
    }
}

/// The commit thread: waits for one accept, takes every other one waiting, commits them in
/// one durable transaction, answers each.
fn group_commit(file: &StoreFile, accepts: mpsc::Receiver<Accept>) {
    while let Ok(first) = accepts.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match accepts.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let jobs: Vec<&NewJob> = group.iter().map(|(job, _)| job).collect();
        match file.run(|db| write_group(db, &jobs)) {
            Ok(results) => {
                for ((_, reply), result) in group.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                let error = QueueError::from(e);
                for (_, reply) in group {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

fn write_group(db: &redb::Database, jobs: &[&NewJob]) -> Result<Vec<Enqueued>, Fail> {
    let mut tx = db.begin_write().map_err(storage)?;
    tx.set_durability(Durability::Immediate);
    let now = now_ms();
    let mut results = Vec::with_capacity(jobs.len());
    {
        let mut table = tx.open_table(JOBS).map_err(storage)?;
        let mut index = tx.open_table(INDEX).map_err(storage)?;
        let mut bots = tx.open_table(BOTS).map_err(storage)?;
        let mut meta = tx.open_table(META).map_err(storage)?;
        let mut dedup = tx.open_table(DEDUP).map_err(storage)?;
        let mut next = meta
            .get("next_job_id")
            .map_err(storage)?
            .map_or(1, |v| v.value());
        for new in jobs {
            let key = new.key.as_str();
            let seen = dedup
                .get(key)
                .map_err(storage)?
                .and_then(|v| Record::decode(v.value()))
                .is_some_and(|r| r.live(now));
            if seen {
                results.push(Enqueued::Duplicate);
                continue;
            }
            if index.len().map_err(storage)? >= MAX_JOBS {
                results.push(Enqueued::Full);
                continue;
            }
            // A retry of an accepted call gets what the first delivery got: an empty 200.
            let record = Record {
                expires_ms: now + new.window.as_millis() as u64,
                state: RecordState::Done(StoredAnswer(None)),
            };
            dedup
                .insert(key, record.encode().as_slice())
                .map_err(storage)?;
            let id = JobId(next);
            next += 1;
            let job = Job {
                id,
                bot: new.bot.clone(),
                key: key.to_owned(),
                body: new.body.clone(),
                user_agent: new.user_agent.clone(),
                accepted_ms: now,
                stage: Stage::Run,
                failed_runs: 0,
                failed_posts: 0,
                not_before_ms: 0,
                parked: None,
                token_refused: false,
            };
            let json = serde_json::to_vec(&job).unwrap_or_default();
            table.insert(id.0, json.as_slice()).map_err(storage)?;
            index.insert(id.0, (0, now, false)).map_err(storage)?;
            bots.insert(id.0, new.bot.as_str()).map_err(storage)?;
            results.push(Enqueued::New(id));
        }
        meta.insert("next_job_id", next).map_err(storage)?;
    }
    tx.commit().map_err(storage)?;
    Ok(results)
}

fn load(table: &impl ReadableTable<u64, &'static [u8]>, id: u64) -> Result<Option<Job>, Fail> {
    Ok(table
        .get(id)
        .map_err(storage)?
        .and_then(|v| serde_json::from_slice(v.value()).ok()))
}

fn save(tx: &redb::WriteTransaction, job: &Job) -> Result<(), Fail> {
    let mut table = tx.open_table(JOBS).map_err(storage)?;
    let mut index = tx.open_table(INDEX).map_err(storage)?;
    let json = serde_json::to_vec(job).unwrap_or_default();
    table.insert(job.id.0, json.as_slice()).map_err(storage)?;
    index
        .insert(
            job.id.0,
            (job.not_before_ms, job.accepted_ms, job.parked.is_some()),
        )
        .map_err(storage)?;
    Ok(())
}

impl JobQueue for RedbQueue {
    fn name(&self) -> &'static str {
        "redb"
    }

    fn enqueue(&self, job: NewJob) -> BoxFuture<'_, Result<Enqueued, QueueError>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.accepts.send((job, reply));
        Box::pin(async move {
            sent.map_err(|_| QueueError("the queue's commit thread stopped".into()))?;
            answer
                .await
                .map_err(|_| QueueError("the queue's commit thread stopped".into()))?
        })
    }

    fn due(&self, max: usize, skip: Vec<JobId>) -> BoxFuture<'_, Result<Vec<Job>, QueueError>> {
        self.read(move |tx| {
            let now = now_ms();
            let index = tx.open_table(INDEX).map_err(storage)?;
            let table = tx.open_table(JOBS).map_err(storage)?;
            let mut jobs = Vec::new();
            for entry in index.iter().map_err(storage)? {
                if jobs.len() >= max {
                    break;
                }
                let (id, meta) = entry.map_err(storage)?;
                let (id, (not_before, _, parked)) = (id.value(), meta.value());
                if parked || not_before > now || skip.contains(&JobId(id)) {
                    continue;
                }
                if let Some(job) = load(&table, id)? {
                    jobs.push(job);
                }
            }
            Ok(jobs)
        })
    }

    fn update(&self, job: Job) -> BoxFuture<'_, Result<(), QueueError>> {
        self.write(move |tx| save(tx, &job))
    }

    fn finish(&self, id: JobId) -> BoxFuture<'_, Result<(), QueueError>> {
        self.write(move |tx| {
            tx.open_table(JOBS)
                .map_err(storage)?
                .remove(id.0)
                .map_err(storage)?;
            tx.open_table(INDEX)
                .map_err(storage)?
                .remove(id.0)
                .map_err(storage)?;
            tx.open_table(BOTS)
                .map_err(storage)?
                .remove(id.0)
                .map_err(storage)?;
            Ok(())
        })
    }

    fn replay(&self, id: JobId) -> BoxFuture<'_, Result<bool, QueueError>> {
        self.write(move |tx| {
            let job = load(&tx.open_table(JOBS).map_err(storage)?, id.0)?;
            let Some(mut job) = job.filter(|j| j.parked.is_some()) else {
                return Ok(false);
            };
            job.parked = None;
            job.failed_runs = 0;
            job.failed_posts = 0;
            job.not_before_ms = 0;
            save(tx, &job)?;
            Ok(true)
        })
    }

    fn stats(&self) -> BoxFuture<'_, Result<QueueStats, QueueError>> {
        self.read(|tx| {
            let now = now_ms();
            let index = tx.open_table(INDEX).map_err(storage)?;
            let mut tally = Tally::default();
            for entry in index.iter().map_err(storage)? {
                let (_, meta) = entry.map_err(storage)?;
                let (_, accepted, parked) = meta.value();
                tally.add(accepted, parked);
            }
            Ok(tally.stats(now))
        })
    }

    fn bot_stats(&self, bots: Vec<String>) -> BoxFuture<'_, Result<Vec<QueueStats>, QueueError>> {
        self.read(move |tx| {
            let now = now_ms();
            let wanted: HashMap<&str, usize> = bots
                .iter()
                .enumerate()
                .map(|(i, b)| (b.as_str(), i))
                .collect();
            let mut tallies = vec![Tally::default(); bots.len()];
            let index = tx.open_table(INDEX).map_err(storage)?;
            let names = tx.open_table(BOTS).map_err(storage)?;
            let table = tx.open_table(JOBS).map_err(storage)?;
            // Both tables are keyed by job id: walked side by side, one pass each.
            let mut names = names.iter().map_err(storage)?;
            let mut name = names.next().transpose().map_err(storage)?;
            for entry in index.iter().map_err(storage)? {
                let (id, meta) = entry.map_err(storage)?;
                let id = id.value();
                while name.as_ref().is_some_and(|(k, _)| k.value() < id) {
                    name = names.next().transpose().map_err(storage)?;
                }
                let slot = match &name {
                    Some((k, bot)) if k.value() == id => wanted.get(bot.value()).copied(),
                    _ => load(&table, id)?.and_then(|job| wanted.get(job.bot.as_str()).copied()),
                };
                if let Some(i) = slot {
                    let (_, accepted, parked) = meta.value();
                    tallies[i].add(accepted, parked);
                }
            }
            Ok(tallies.iter().map(|t| t.stats(now)).collect())
        })
    }

    fn parked(&self, max: usize) -> BoxFuture<'_, Result<Vec<Job>, QueueError>> {
        self.read(move |tx| {
            let index = tx.open_table(INDEX).map_err(storage)?;
            let table = tx.open_table(JOBS).map_err(storage)?;
            let mut jobs = Vec::new();
            for entry in index.iter().map_err(storage)? {
                let (id, meta) = entry.map_err(storage)?;
                if meta.value().2 {
                    if let Some(job) = load(&table, id.value())? {
                        jobs.push(job);
                    }
                    if jobs.len() >= max {
                        break;
                    }
                }
            }
            Ok(jobs)
        })
    }
}

/// Counts of jobs as they are read: waiting or running, parked, the oldest acceptance.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    depth: u64,
    parked: u64,
    oldest_ms: Option<u64>,
}

impl Tally {
    fn add(&mut self, accepted_ms: u64, parked: bool) {
        if parked {
            self.parked += 1;
        } else {
            self.depth += 1;
            self.oldest_ms = Some(self.oldest_ms.map_or(accepted_ms, |o| o.min(accepted_ms)));
        }
    }

    fn stats(&self, now_ms: u64) -> QueueStats {
        QueueStats {
            depth: self.depth,
            oldest_age_s: self
                .oldest_ms
                .map_or(0, |o| now_ms.saturating_sub(o) / 1000),
            parked: self.parked,
        }
    }
}

/// Backoff before try `n` (1-based) after a failure: `base` doubled each time, at most
/// 5 minutes.
pub fn backoff(base: Duration, n: u32) -> Duration {
    base.saturating_mul(1 << n.saturating_sub(1).min(16))
        .min(Duration::from_secs(300))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::key::DeliveryKey;

    fn call(bot: &str, task: u32) -> NewJob {
        NewJob {
            bot: bot.into(),
            key: DeliveryKey::from_stored(format!("{bot}:t{task}:c1")),
            body: "{}".into(),
            user_agent: None,
            window: Duration::from_secs(60),
        }
    }

    async fn accept(queue: &RedbQueue, bot: &str, task: u32) -> JobId {
        match queue.enqueue(call(bot, task)).await.unwrap() {
            Enqueued::New(id) => id,
            other => panic!("{other:?}"),
        }
    }

    /// Each bot's jobs are counted apart, parked ones on their own, finished ones not at
    /// all; a job accepted before the bots table existed is counted from its body.
    #[tokio::test(flavor = "current_thread")]
    async fn bot_stats_count_each_bots_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let queue = RedbQueue::open(&dir.path().join("q.redb")).unwrap();
        let a1 = accept(&queue, "a", 1).await;
        let a2 = accept(&queue, "a", 2).await;
        let a3 = accept(&queue, "a", 3).await;
        let b1 = accept(&queue, "b", 1).await;
        let _b2 = accept(&queue, "b", 2).await;
        let mut parked = queue.due(10, vec![]).await.unwrap();
        parked.retain(|j| j.id == a2);
        parked[0].parked = Some("test".into());
        queue.update(parked.remove(0)).await.unwrap();
        queue.finish(a3).await.unwrap();
        // As a job of an older version of the queue: no row in the bots table.
        queue
            .write(move |tx| {
                let mut bots = tx.open_table(BOTS).map_err(storage)?;
                bots.remove(b1.0).map_err(storage)?;
                Ok(())
            })
            .await
            .unwrap();
        let _ = a1;
        let stats = queue
            .bot_stats(vec!["a".into(), "b".into(), "c".into()])
            .await
            .unwrap();
        let counts: Vec<(u64, u64)> = stats.iter().map(|s| (s.depth, s.parked)).collect();
        assert_eq!(counts, [(1, 1), (2, 0), (0, 0)]);
        assert!(stats.iter().all(|s| s.oldest_age_s < 60), "{stats:?}");
        let all = queue.stats().await.unwrap();
        assert_eq!((all.depth, all.parked), (3, 1));
    }
}
