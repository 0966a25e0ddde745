//! Key-value state that outlives a call: counters, what a bot already did for a task, an
//! extension's account mapping. Backed by the host's store (a local file or Redis), through
//! the standard `wasi:keyvalue` interface.
//!
//! The host grants each plugin the stores it may open (`key_value_stores = ["default"]` in
//! its config entry) and keeps every plugin's keys apart: two plugins opening "default" see
//! different data. Keys, values and the plugin's total size are capped by the host's
//! `[store]` settings.
//!
//! ```no_run
//! use pyrus_plugin_sdk::store::Store;
//!
//! # fn demo() -> Result<(), pyrus_plugin_sdk::store::StoreError> {
//! let store = Store::open("default")?;
//! let calls = store.increment("task:42", 1)?;          // atomic, 1 on the first call
//! store.set("task:42:last", "approved")?;
//! assert_eq!(store.get_string("task:42:last")?.as_deref(), Some("approved"));
//! # let _ = calls;
//! # Ok(()) }
//! ```
//!
//! These functions call the host: in native unit tests (`cargo test`) they are not available,
//! so keep the logic that decides what to store in plain functions and test those.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::bindings::bot_world::wasi::keyvalue::{atomics, store as kv};
use crate::PluginError;

/// An open store (a `wasi:keyvalue` bucket) in this plugin's namespace.
pub struct Store {
    bucket: kv::Bucket,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The host config does not grant this plugin the store (`key_value_stores`).
    AccessDenied,
    /// The host has no such store.
    NoSuchStore,
    /// Anything else: a size limit, the plugin's quota, the backend. The text says which.
    Other(String),
    /// A value could not be encoded or decoded as JSON.
    Json(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::AccessDenied => {
                write!(f, "the host does not grant this store (key_value_stores)")
            }
            StoreError::NoSuchStore => write!(f, "no such store"),
            StoreError::Other(message) => write!(f, "{message}"),
            StoreError::Json(message) => write!(f, "stored JSON: {message}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    /// Whether the host could not reach its store backend (e.g. Redis is down): the call may
    /// succeed if tried again later.
    ///
    /// ```
    /// use pyrus_plugin_sdk::store::StoreError;
    /// let e = StoreError::Other("store unavailable: connection refused".into());
    /// assert!(e.is_unavailable());
    /// assert!(!StoreError::AccessDenied.is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Other(m) if m.starts_with("store unavailable"))
    }
}

/// A store error fails the call, so that Pyrus retries it: 503 `store_unavailable` when the
/// host cannot reach its store backend, 500 `store_error` otherwise.
impl From<StoreError> for PluginError {
    fn from(e: StoreError) -> PluginError {
        match e.is_unavailable() {
            true => PluginError::new("store_unavailable", e.to_string()).with_status(503),
            false => PluginError::new("store_error", e.to_string()).with_status(500),
        }
    }
}

impl From<kv::Error> for StoreError {
    fn from(e: kv::Error) -> StoreError {
        match e {
            kv::Error::AccessDenied => StoreError::AccessDenied,
            kv::Error::NoSuchStore => StoreError::NoSuchStore,
            kv::Error::Other(message) => StoreError::Other(message),
        }
    }
}

impl Store {
    /// Opens the store `name` (one of the plugin's `key_value_stores`).
    ///
    /// ```no_run
    /// let store = pyrus_plugin_sdk::store::Store::open("default")?;
    /// # Ok::<(), pyrus_plugin_sdk::store::StoreError>(())
    /// ```
    pub fn open(name: &str) -> Result<Store, StoreError> {
        Ok(Store {
            bucket: kv::open(name)?,
        })
    }

    /// The value at `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.bucket.get(key)?)
    }

    /// The value at `key` as text (invalid UTF-8 is replaced).
    ///
    /// ```no_run
    /// # let store = pyrus_plugin_sdk::store::Store::open("default")?;
    /// let last = store.get_string("last-task")?.unwrap_or_default();
    /// # Ok::<(), pyrus_plugin_sdk::store::StoreError>(())
    /// ```
    pub fn get_string(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(key)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The JSON value at `key`, decoded.
    ///
    /// ```no_run
    /// # let store = pyrus_plugin_sdk::store::Store::open("default")?;
    /// let seen: Vec<i64> = store.get_json("seen-tasks")?.unwrap_or_default();
    /// # Ok::<(), pyrus_plugin_sdk::store::StoreError>(())
    /// ```
    pub fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        match self.get(key)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::Json(e.to_string())),
        }
    }

    /// Stores `value` at `key`. When this returns Ok the write is durable.
    ///
    /// ```no_run
    /// # let store = pyrus_plugin_sdk::store::Store::open("default")?;
    /// store.set("greeting", "hello")?;
    /// # Ok::<(), pyrus_plugin_sdk::store::StoreError>(())
    /// ```
    pub fn set(&self, key: &str, value: impl AsRef<[u8]>) -> Result<(), StoreError> {
        Ok(self.bucket.set(key, value.as_ref())?)
    }

    /// Stores `value` at `key` as JSON.
    ///
    /// ```no_run
    /// # let store = pyrus_plugin_sdk::store::Store::open("default")?;
    /// store.set_json("seen-tasks", &vec![1, 2, 3])?;
    /// # Ok::<(), pyrus_plugin_sdk::store::StoreError>(())
    /// ```
    pub fn set_json<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Json(e.to_string()))?;
        self.set(key, bytes)
    }

    /// Removes `key` (nothing happens when it is absent).
    pub fn delete(&self, key: &str) -> Result<(), StoreError> {
        Ok(self.bucket.delete(key)?)
    }

    /// Whether `key` has a value.
    pub fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.bucket.exists(key)?)
    }

    /// Adds `delta` to the counter at `key` (0 when absent) and returns the new value, in
    /// one atomic step, also across several hosts sharing a Redis store. Counters are stored
    /// as decimal text, so `get_string` reads them too.
    ///
    /// ```no_run
    /// # let store = pyrus_plugin_sdk::store::Store::open("default")?;
    /// let n = store.increment("calls", 1)?;
    /// # Ok::<(), pyrus_plugin_sdk::store::StoreError>(())
    /// ```
    pub fn increment(&self, key: &str, delta: u64) -> Result<u64, StoreError> {
        Ok(atomics::increment(&self.bucket, key, delta)?)
    }

    /// Every key of this store (all pages).
    pub fn keys(&self) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.bucket.list_keys(cursor)?;
            keys.extend(page.keys);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }
}
