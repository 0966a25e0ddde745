//! De-duplication records in the host's redb file (`[store] backend = "redb"`), beside the
//! plugin store.
//!
//! Records are written with non-durable commits: an fsync per call would cost every sync
//! bot call two disk flushes, and a record lost to a power cut costs at most one more run
//! of the plugin on a retry. A background sweep drops expired records about once a second
//! and commits durably, which persists what came before and lets redb reuse pages.
//!
//! redb has one writer at a time: one thread takes every operation waiting and runs them in
//! one transaction, so that sync calls do not queue for the writer one by one.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redb::{Durability, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::key::DeliveryKey;
use super::store::{
    now_ms, BoxFuture, Claim, DedupError, DedupStore, Owner, Record, RecordState, StoredAnswer,
};
use crate::capabilities::keyvalue::redb::{storage, Fail, StoreFile};

/// delivery key → [`Record`].
pub(super) const DEDUP: TableDefinition<&str, &[u8]> = TableDefinition::new("delivery_dedup");

/// How often expired records are dropped (and the non-durable commits made durable).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

pub struct RedbDedup {
    inner: Arc<Inner>,
    /// Operations for the writer thread, which commits them in groups.
    ops: std::sync::mpsc::Sender<Op>,
}

/// Answers an operation's caller once its group's commit is done.
type Reply = Box<dyn FnOnce(Result<(), DedupError>) + Send>;
/// One operation on the records, run inside a group's transaction.
type Op = Box<dyn FnOnce(&mut redb::Table<&str, &[u8]>, u64) -> Reply + Send>;

/// Operations one transaction carries at most.
const MAX_GROUP: usize = 256;

struct Inner {
    file: Arc<StoreFile>,
    max_records: u64,
    /// A non-durable commit happened since the last sweep.
    dirty: AtomicBool,
}

impl RedbDedup {
    /// Uses the redb file at `path` (the plugin store's, opened once per process), and
    /// starts its sweep on the current runtime.
    pub fn open(path: &Path, max_records: u64) -> Result<RedbDedup, DedupError> {
        let inner = Arc::new(Inner {
            file: StoreFile::shared(path)?,
            max_records,
            dirty: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                if inner.dirty.swap(false, Ordering::Relaxed) {
                    let swept = tokio::task::spawn_blocking(move || inner.sweep()).await;
                    if let Ok(Err(e)) = swept {
                        tracing::warn!(error = %e, "sweeping expired delivery records failed");
                    }
                }
            }
        });
        let (ops, queued) = std::sync::mpsc::channel::<Op>();
        let writer = inner.clone();
        std::thread::Builder::new()
            .name("dedup-writer".into())
            .spawn(move || write_groups(&writer, queued))
            .map_err(|e| DedupError(format!("cannot start the delivery records' writer: {e}")))?;
        Ok(RedbDedup { inner, ops })
    }

    fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut redb::Table<&str, &[u8]>, u64) -> Result<T, Fail> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, DedupError>> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let op: Op = Box::new(move |table, max_records| {
            let value = work(table, max_records);
            Box::new(move |committed: Result<(), DedupError>| {
                let result = match (value, committed) {
                    (Err(Fail::Kv(e)), _) => Err(DedupError::from(e)),
                    (Err(Fail::Storage(e)), _) => Err(DedupError(e.to_string())),
                    (Ok(_), Err(e)) => Err(e),
                    (Ok(value), Ok(())) => Ok(value),
                };
                let _ = answer.send(result);
            })
        });
        let sent = self.ops.send(op);
        Box::pin(async move {
            let stopped = || DedupError("the delivery records' writer stopped".into());
            sent.map_err(|_| stopped())?;
            answered.await.map_err(|_| stopped())?
        })
    }
}

/// The writer thread: waits for one operation, takes every other one waiting, runs them in
/// one non-durable transaction, then answers each.
fn write_groups(inner: &Inner, queued: std::sync::mpsc::Receiver<Op>) {
    while let Ok(first) = queued.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queued.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let mut replies = Vec::with_capacity(group.len());
        // An operation that never ran (the transaction could not begin) is dropped with its
        // answer: its caller hears the writer stopped, and runs without de-duplication.
        let committed = inner.file.run(|db| {
            let mut tx = db.begin_write().map_err(storage)?;
            tx.set_durability(Durability::None);
            {
                let mut table = tx.open_table(DEDUP).map_err(storage)?;
                for op in group.drain(..) {
                    replies.push(op(&mut table, inner.max_records));
                }
            }
            tx.commit().map_err(storage)
        });
        inner.dirty.store(true, Ordering::Relaxed);
        let committed = committed.map_err(DedupError::from);
        for reply in replies {
            reply(committed.clone());
        }
    }
}

impl Inner {
    /// Drops expired records, in one durable commit.
    fn sweep(&self) -> Result<(), DedupError> {
        let now = now_ms();
        Ok(self.file.run(|db| {
            let tx = db.begin_write().map_err(storage)?;
            {
                let mut table = tx.open_table(DEDUP).map_err(storage)?;
                table
                    .retain(|_, v| Record::decode(v).is_some_and(|r| r.live(now)))
                    .map_err(storage)?;
            }
            tx.commit().map_err(storage)
        })?)
    }
}

fn read(table: &redb::Table<&str, &[u8]>, key: &str) -> Result<Option<Record>, Fail> {
    Ok(table
        .get(key)
        .map_err(storage)?
        .and_then(|v| Record::decode(v.value())))
}

impl DedupStore for RedbDedup {
    fn name(&self) -> &'static str {
        "redb"
    }

    fn claim(
        &self,
        key: &DeliveryKey,
        owner: Owner,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Claim, DedupError>> {
        let key = key.as_str().to_owned();
        self.write(move |table, max_records| {
            let now = now_ms();
            let found = Record::claim(read(table, &key)?.as_ref(), now);
            if found == Claim::Claimed {
                if table.len().map_err(storage)? >= max_records {
                    table
                        .retain(|_, v| Record::decode(v).is_some_and(|r| r.live(now)))
                        .map_err(storage)?;
                    if table.len().map_err(storage)? >= max_records {
                        return Err(Fail::Kv(
                            crate::capabilities::keyvalue::backend::KvError::Backend(format!(
                                "{max_records} delivery records, the most it keeps"
                            )),
                        ));
                    }
                }
                let record = Record {
                    expires_ms: now + lease.as_millis() as u64,
                    state: RecordState::Running(owner),
                };
                table
                    .insert(key.as_str(), record.encode().as_slice())
                    .map_err(storage)?;
            }
            Ok(found)
        })
    }

    fn peek(&self, key: &DeliveryKey) -> BoxFuture<'_, Result<Claim, DedupError>> {
        let key = key.as_str().to_owned();
        let file = self.inner.file.clone();
        Box::pin(async move {
            let done = tokio::task::spawn_blocking(move || {
                file.run(|db| {
                    let tx = db.begin_read().map_err(storage)?;
                    let table = match tx.open_table(DEDUP) {
                        Ok(table) => table,
                        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Claim::Claimed),
                        Err(e) => return Err(storage(e)),
                    };
                    let record = table
                        .get(key.as_str())
                        .map_err(storage)?
                        .and_then(|v| Record::decode(v.value()));
                    Ok(Record::claim(record.as_ref(), now_ms()))
                })
            });
            Ok(done.await.map_err(|e| DedupError(e.to_string()))??)
        })
    }

    fn complete(
        &self,
        key: &DeliveryKey,
        _owner: Owner,
        answer: &StoredAnswer,
        window: Duration,
    ) -> BoxFuture<'_, Result<(), DedupError>> {
        let key = key.as_str().to_owned();
        let record = Record {
            expires_ms: now_ms() + window.as_millis() as u64,
            state: RecordState::Done(answer.clone()),
        };
        self.write(move |table, _| {
            table
                .insert(key.as_str(), record.encode().as_slice())
                .map_err(storage)?;
            Ok(())
        })
    }

    fn release(&self, key: &DeliveryKey, owner: Owner) -> BoxFuture<'_, Result<(), DedupError>> {
        let key = key.as_str().to_owned();
        self.write(move |table, _| {
            if read(table, &key)?.is_some_and(|r| r.owned_by(owner)) {
                table.remove(key.as_str()).map_err(storage)?;
            }
            Ok(())
        })
    }
}
