//! `wasi:keyvalue` (`store`, `atomics`, `batch`) for plugins, in their own namespace.
//!
//! A plugin opens a bucket by identifier; only identifiers listed in its
//! `key_value_stores` open (else `access-denied`, logged), and every key is stored under the
//! plugin's namespace (`bots/NAME`), so plugins never see each other's data. Key size, value
//! size and the total bytes per plugin are capped (`[store]`).

pub mod backend;
pub mod redb;
pub mod redis;

use std::sync::Arc;

use wasmtime::component::Resource;

use crate::runtime::bindings::{atomics, batch, kv_store};
use crate::runtime::state::CallState;
use backend::{KvBackend, KvError, Scope};

/// Keys returned per `list-keys` page.
const LIST_PAGE: usize = 100;

/// The caps of `[store]`, applied to every plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvLimits {
    pub max_key_bytes: usize,
    pub max_value_bytes: usize,
    /// Keys plus values, per plugin, over all its buckets.
    pub max_total_bytes: u64,
}

impl Default for KvLimits {
    fn default() -> Self {
        KvLimits {
            max_key_bytes: 1024,
            max_value_bytes: 1 << 20,
            max_total_bytes: 64 << 20,
        }
    }
}

/// The process's store: a backend and the limits every plugin gets.
#[derive(Clone)]
pub struct Store {
    pub backend: Arc<dyn KvBackend>,
    pub limits: KvLimits,
}

impl Store {
    /// Opens the backend `[store]` describes (connecting to Redis, or opening the redb
    /// file, which one process at a time may hold).
    pub async fn open(config: &crate::config::StoreConfig) -> Result<Store, KvError> {
        use crate::config::StoreBackend;
        let backend: Arc<dyn KvBackend> = match &config.backend {
            StoreBackend::Redb { path } => {
                let path = path.clone();
                let opened = tokio::task::spawn_blocking(move || redb::RedbBackend::open(&path));
                Arc::new(
                    opened
                        .await
                        .map_err(|e| KvError::Backend(e.to_string()))??,
                )
            }
            StoreBackend::Redis { url } => Arc::new(redis::RedisBackend::connect(url).await?),
        };
        Ok(Store {
            backend,
            limits: config.limits,
        })
    }
}

/// An open bucket (the `bucket` resource): where its keys live.
#[derive(Debug)]
pub struct Bucket {
    scope: Scope,
}

type KvResult<T> = wasmtime::Result<Result<T, kv_store::Error>>;

fn other(e: KvError) -> kv_store::Error {
    kv_store::Error::Other(e.to_string())
}

impl CallState {
    fn store(&self) -> Result<&Store, kv_store::Error> {
        self.caps
            .store
            .as_ref()
            .ok_or_else(|| kv_store::Error::Other("this host has no store configured".into()))
    }

    /// The scope and store of an open bucket.
    fn bucket(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<(Scope, Store)> {
        let scope = self.table.get(bucket)?.scope.clone();
        let store = self
            .store()
            .map_err(|e| wasmtime::format_err!("{e:?}"))?
            .clone();
        Ok((scope, store))
    }

    fn check_key(&self, store: &Store, key: &str) -> Result<(), kv_store::Error> {
        if key.len() > store.limits.max_key_bytes {
            return Err(other(KvError::KeyTooLong(
                key.len(),
                store.limits.max_key_bytes,
            )));
        }
        Ok(())
    }
}

impl kv_store::Host for CallState {
    async fn open(&mut self, identifier: String) -> KvResult<Resource<Bucket>> {
        if !self.caps.grants.key_value_stores.contains(&identifier) {
            tracing::warn!(
                store = %identifier,
                "plugin tried to open a store it is not granted (key_value_stores)"
            );
            return Ok(Err(kv_store::Error::AccessDenied));
        }
        if let Err(e) = self.store() {
            return Ok(Err(e));
        }
        let scope = Scope {
            namespace: self.caps.grants.namespace.clone(),
            bucket: identifier,
        };
        Ok(Ok(self.table.push(Bucket { scope })?))
    }
}

impl kv_store::HostBucket for CallState {
    async fn get(&mut self, bucket: Resource<Bucket>, key: String) -> KvResult<Option<Vec<u8>>> {
        let (scope, store) = self.bucket(&bucket)?;
        if let Err(e) = self.check_key(&store, &key) {
            return Ok(Err(e));
        }
        Ok(store.backend.get(scope, key).await.map_err(other))
    }

    async fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> KvResult<()> {
        let (scope, store) = self.bucket(&bucket)?;
        if let Err(e) = self.check_key(&store, &key) {
            return Ok(Err(e));
        }
        if value.len() > store.limits.max_value_bytes {
            return Ok(Err(other(KvError::ValueTooLarge(
                value.len(),
                store.limits.max_value_bytes,
            ))));
        }
        let max_total = store.limits.max_total_bytes;
        Ok(store
            .backend
            .set(scope, key, value, max_total)
            .await
            .map_err(other))
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> KvResult<()> {
        let (scope, store) = self.bucket(&bucket)?;
        Ok(store.backend.delete(scope, key).await.map_err(other))
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> KvResult<bool> {
        let (scope, store) = self.bucket(&bucket)?;
        if let Err(e) = self.check_key(&store, &key) {
            return Ok(Err(e));
        }
        Ok(store.backend.exists(scope, key).await.map_err(other))
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> KvResult<kv_store::KeyResponse> {
        let (scope, store) = self.bucket(&bucket)?;
        Ok(store
            .backend
            .list_keys(scope, cursor, LIST_PAGE)
            .await
            .map(|page| kv_store::KeyResponse {
                keys: page.keys,
                cursor: page.next,
            })
            .map_err(other))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for CallState {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: u64,
    ) -> KvResult<u64> {
        let (scope, store) = self.bucket(&bucket)?;
        if let Err(e) = self.check_key(&store, &key) {
            return Ok(Err(e));
        }
        let max_total = store.limits.max_total_bytes;
        Ok(store
            .backend
            .increment(scope, key, delta, max_total)
            .await
            .map_err(other))
    }
}

impl batch::Host for CallState {
    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> KvResult<Vec<Option<(String, Vec<u8>)>>> {
        let (scope, store) = self.bucket(&bucket)?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Err(e) = self.check_key(&store, &key) {
                return Ok(Err(e));
            }
            match store.backend.get(scope.clone(), key.clone()).await {
                Ok(value) => out.push(value.map(|v| (key, v))),
                Err(e) => return Ok(Err(other(e))),
            }
        }
        Ok(Ok(out))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> KvResult<()> {
        for (key, value) in key_values {
            let bucket = Resource::new_borrow(bucket.rep());
            if let Err(e) = kv_store::HostBucket::set(self, bucket, key, value).await? {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }

    async fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> KvResult<()> {
        let (scope, store) = self.bucket(&bucket)?;
        for key in keys {
            if let Err(e) = store.backend.delete(scope.clone(), key).await {
                return Ok(Err(other(e)));
            }
        }
        Ok(Ok(()))
    }
}
