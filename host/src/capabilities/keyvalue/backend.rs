//! The store behind `wasi:keyvalue`: one trait, an embedded backend (redb) and a shared one
//! (Redis). Keys are scoped by the host (plugin namespace + bucket), never by the plugin.

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: the trait is used as `dyn KvBackend`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a key lives: the plugin's namespace (`bots/counter`) and the bucket it opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub namespace: String,
    pub bucket: String,
}

/// One page of a bucket's keys, and where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    pub keys: Vec<String>,
    pub next: Option<u64>,
}

/// Why a store operation failed. Shown to the plugin (as `error::other`) and in the log.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum KvError {
    #[error("the key is {0} bytes, over the limit of {1}")]
    KeyTooLong(usize, usize),
    #[error("the value is {0} bytes, over the limit of {1}")]
    ValueTooLarge(usize, usize),
    #[error("the plugin's store would hold {0} bytes, over its limit of {1}")]
    QuotaExceeded(u64, u64),
    #[error("the value of the key is not a decimal counter")]
    NotACounter,
    #[error("the counter would overflow")]
    Overflow,
    /// The backend cannot be reached or did not answer in time. The SDK recognises the
    /// text's start and answers 503 `store_unavailable`: keep it.
    #[error("store unavailable: {0}")]
    Backend(String),
}

/// A key-value backend. Every write is durable when its future resolves Ok: the plugin is
/// told it succeeded only then. Sizes count key and value bytes per namespace, so that a
/// plugin's total can be capped (`max_total`).
pub trait KvBackend: Send + Sync {
    /// A short name for logs and benchmarks (`redb`, `redis`).
    fn name(&self) -> &'static str;

    fn get(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<Option<Vec<u8>>, KvError>>;

    /// Stores `value`, unless the namespace would then hold more than `max_total` bytes.
    fn set(
        &self,
        scope: Scope,
        key: String,
        value: Vec<u8>,
        max_total: u64,
    ) -> BoxFuture<'_, Result<(), KvError>>;

    fn delete(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<(), KvError>>;

    fn exists(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<bool, KvError>>;

    /// Up to `page` keys of the bucket from `cursor` on, and the cursor of the next page.
    fn list_keys(
        &self,
        scope: Scope,
        cursor: Option<u64>,
        page: usize,
    ) -> BoxFuture<'_, Result<KeyPage, KvError>>;

    /// Adds `delta` to the decimal counter at `key` (0 when absent) and returns the new
    /// value, atomically.
    fn increment(
        &self,
        scope: Scope,
        key: String,
        delta: u64,
        max_total: u64,
    ) -> BoxFuture<'_, Result<u64, KvError>>;
}

/// Parses a stored counter: decimal ASCII, as Redis' INCRBY keeps it.
pub fn parse_counter(bytes: &[u8]) -> Result<u64, KvError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or(KvError::NotACounter)
}

/// A backend whose every operation answers within `limit`: a store that is down or hung
/// fails the plugin's operation with "store unavailable" (the SDK answers 503) well before
/// the call's own timeout, rather than holding the call until then.
pub struct Bounded {
    pub inner: std::sync::Arc<dyn KvBackend>,
    pub limit: std::time::Duration,
}

impl Bounded {
    fn within<'a, T: Send + 'a>(
        &self,
        op: BoxFuture<'a, Result<T, KvError>>,
    ) -> BoxFuture<'a, Result<T, KvError>> {
        let limit = self.limit;
        Box::pin(async move {
            tokio::time::timeout(limit, op).await.unwrap_or_else(|_| {
                Err(KvError::Backend(format!(
                    "no answer in {} ms",
                    limit.as_millis()
                )))
            })
        })
    }
}

impl KvBackend for Bounded {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn get(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<Option<Vec<u8>>, KvError>> {
        self.within(self.inner.get(scope, key))
    }

    fn set(
        &self,
        scope: Scope,
        key: String,
        value: Vec<u8>,
        max_total: u64,
    ) -> BoxFuture<'_, Result<(), KvError>> {
        self.within(self.inner.set(scope, key, value, max_total))
    }

    fn delete(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<(), KvError>> {
        self.within(self.inner.delete(scope, key))
    }

    fn exists(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<bool, KvError>> {
        self.within(self.inner.exists(scope, key))
    }

    fn list_keys(
        &self,
        scope: Scope,
        cursor: Option<u64>,
        page: usize,
    ) -> BoxFuture<'_, Result<KeyPage, KvError>> {
        self.within(self.inner.list_keys(scope, cursor, page))
    }

    fn increment(
        &self,
        scope: Scope,
        key: String,
        delta: u64,
        max_total: u64,
    ) -> BoxFuture<'_, Result<u64, KvError>> {
        self.within(self.inner.increment(scope, key, delta, max_total))
    }
}
