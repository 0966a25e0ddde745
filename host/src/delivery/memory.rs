//! De-duplication records in the process's memory, for a host that opened no `[store]`:
//! retries reach the host that served the first attempt only if there is one host, which
//! is what a host without a store is. A restart forgets them (a retry then runs again).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::key::DeliveryKey;
use super::store::{
    now_ms, BoxFuture, Claim, DedupError, DedupStore, Owner, Record, RecordState, StoredAnswer,
};

pub struct MemoryDedup {
    records: Mutex<HashMap<DeliveryKey, Record>>,
    max_records: usize,
}

impl MemoryDedup {
    pub fn new(max_records: usize) -> MemoryDedup {
        MemoryDedup {
            records: Mutex::default(),
            max_records,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<DeliveryKey, Record>, u64) -> T) -> T {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut records, now_ms())
    }
}

/// Makes room for one record: drops the expired ones first; if still full, refuses.
fn room(records: &mut HashMap<DeliveryKey, Record>, now: u64, max: usize) -> bool {
    if records.len() >= max {
        records.retain(|_, r| r.live(now));
    }
    records.len() < max
}

impl DedupStore for MemoryDedup {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn claim(
        &self,
        key: &DeliveryKey,
        owner: Owner,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Claim, DedupError>> {
        let result = self.with(|records, now| {
            let found = Record::claim(records.get(key), now);
            if found == Claim::Claimed {
                if !room(records, now, self.max_records) {
                    return Err(DedupError(format!(
                        "{} records in memory, the most it keeps",
                        self.max_records
                    )));
                }
                records.insert(
                    key.clone(),
                    Record {
                        expires_ms: now + lease.as_millis() as u64,
                        state: RecordState::Running(owner),
                    },
                );
            }
            Ok(found)
        });
        Box::pin(std::future::ready(result))
    }

    fn peek(&self, key: &DeliveryKey) -> BoxFuture<'_, Result<Claim, DedupError>> {
        let found = self.with(|records, now| Record::claim(records.get(key), now));
        Box::pin(std::future::ready(Ok(found)))
    }

    fn complete(
        &self,
        key: &DeliveryKey,
        _owner: Owner,
        answer: &StoredAnswer,
        window: Duration,
    ) -> BoxFuture<'_, Result<(), DedupError>> {
        self.with(|records, now| {
            records.insert(
                key.clone(),
                Record {
                    expires_ms: now + window.as_millis() as u64,
                    state: RecordState::Done(answer.clone()),
                },
            )
        });
        Box::pin(std::future::ready(Ok(())))
    }

    fn release(&self, key: &DeliveryKey, owner: Owner) -> BoxFuture<'_, Result<(), DedupError>> {
        self.with(|records, _| {
            if records.get(key).is_some_and(|r| r.owned_by(owner)) {
                records.remove(key);
            }
        });
        Box::pin(std::future::ready(Ok(())))
    }
}
