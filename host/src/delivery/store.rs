//! Where de-duplication records live: one trait, with the `[store]` section's backends
//! (redb for one host, Redis for several) and an in-process one for a host that opened no
//! store.

use std::time::Duration;

use super::key::DeliveryKey;
pub use crate::capabilities::keyvalue::backend::BoxFuture;

/// What a finished first attempt answered, replayed to its retries: a 200 with this JSON,
/// or an empty 200. Only successful answers are kept (see [`super`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer(pub Option<String>);

impl StoredAnswer {
    /// Stored form: `-` for an empty answer, `+` then the JSON.
    pub fn encode(&self) -> Vec<u8> {
        match &self.0 {
            None => b"-".to_vec(),
            Some(json) => [b"+", json.as_bytes()].concat(),
        }
    }

    pub fn decode(bytes: &[u8]) -> Option<StoredAnswer> {
        match bytes.split_first()? {
            (b'-', []) => Some(StoredAnswer(None)),
            (b'+', json) => Some(StoredAnswer(Some(String::from_utf8(json.to_vec()).ok()?))),
            _ => None,
        }
    }
}

/// Which run holds a claim: released or completed only by it, so that a run that outlived
/// its lease cannot remove the claim of the run that took over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner(pub u64);

impl Owner {
    /// A fresh owner: the std hasher's random keys over the time, unique enough to tell
    /// runs apart (across hosts too).
    pub fn random() -> Owner {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(now_ms());
        Owner(h.finish())
    }
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody ran this call in the window: the caller runs it (and owns the claim).
    Claimed,
    /// Another run holds it (here or on another host), until its lease ends.
    Running,
    /// A run finished within the window with this answer.
    Done(StoredAnswer),
}

/// A de-duplication store failed. The call then runs without de-duplication (a call is
/// never lost over it), and the log says why.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("delivery store unavailable: {0}")]
pub struct DedupError(pub String);

impl From<crate::capabilities::keyvalue::backend::KvError> for DedupError {
    fn from(e: crate::capabilities::keyvalue::backend::KvError) -> Self {
        DedupError(e.to_string())
    }
}

/// De-duplication records. Each record expires on its own (a lease for a running call, the
/// window for a finished one), and stores bound how many they keep.
pub trait DedupStore: Send + Sync {
    /// `redb`, `redis` or `memory`, for logs and `/healthz`.
    fn name(&self) -> &'static str;

    /// Claims `key` for `owner` for `lease`, unless a run holds it or finished in the window.
    fn claim(
        &self,
        key: &DeliveryKey,
        owner: Owner,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Claim, DedupError>>;

    /// What the record of `key` says now, without claiming (`Claimed` means none).
    fn peek(&self, key: &DeliveryKey) -> BoxFuture<'_, Result<Claim, DedupError>>;

    /// Keeps `answer` for `window` in place of `owner`'s claim.
    fn complete(
        &self,
        key: &DeliveryKey,
        owner: Owner,
        answer: &StoredAnswer,
        window: Duration,
    ) -> BoxFuture<'_, Result<(), DedupError>>;

    /// Removes `owner`'s claim: its run failed, and a retry must run the plugin again.
    fn release(&self, key: &DeliveryKey, owner: Owner) -> BoxFuture<'_, Result<(), DedupError>>;
}

/// Milliseconds since the Unix epoch: records expire in wall-clock time, which survives a
/// restart (a monotonic clock does not).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// A record as the embedded stores keep it: a claim or an answer, and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub expires_ms: u64,
    pub state: RecordState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordState {
    Running(Owner),
    Done(StoredAnswer),
}

impl Record {
    /// `R` + expiry + owner, or `D` + expiry + answer.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(17);
        match &self.state {
            RecordState::Running(owner) => {
                out.push(b'R');
                out.extend_from_slice(&self.expires_ms.to_le_bytes());
                out.extend_from_slice(&owner.0.to_le_bytes());
            }
            RecordState::Done(answer) => {
                out.push(b'D');
                out.extend_from_slice(&self.expires_ms.to_le_bytes());
                out.extend_from_slice(&answer.encode());
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Record> {
        let (&tag, rest) = bytes.split_first()?;
        let (expires, rest) = rest.split_at_checked(8)?;
        let expires_ms = u64::from_le_bytes(expires.try_into().ok()?);
        let state = match tag {
            b'R' => RecordState::Running(Owner(u64::from_le_bytes(rest.try_into().ok()?))),
            b'D' => RecordState::Done(StoredAnswer::decode(rest)?),
            _ => return None,
        };
        Some(Record { expires_ms, state })
    }

    pub fn live(&self, now: u64) -> bool {
        self.expires_ms > now
    }

    /// What a claim or peek reports of this record (`Claimed` for none or an expired one).
    pub fn claim(record: Option<&Record>, now: u64) -> Claim {
        match record.filter(|r| r.live(now)).map(|r| &r.state) {
            None => Claim::Claimed,
            Some(RecordState::Running(_)) => Claim::Running,
            Some(RecordState::Done(answer)) => Claim::Done(answer.clone()),
        }
    }

    pub fn owned_by(&self, owner: Owner) -> bool {
        self.state == RecordState::Running(owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        for state in [
            RecordState::Running(Owner(7)),
            RecordState::Done(StoredAnswer(None)),
            RecordState::Done(StoredAnswer(Some("{\"text\":\"hi\"}".into()))),
        ] {
            let record = Record {
                expires_ms: 123,
                state,
            };
            assert_eq!(Record::decode(&record.encode()), Some(record));
        }
        assert_eq!(Record::decode(b"Xgarbage"), None);
        assert_eq!(Record::decode(b""), None);
    }
}
