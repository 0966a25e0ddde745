//! `wasi:keyvalue` (`store`, `atomics`, `batch`) for plugins, in their own namespace.
//!
//! A plugin opens a bucket by identifier; only identifiers listed in its
//! `key_value_stores` open (else `access-denied`, logged), and every key is stored under the
//! plugin's namespace (`bots/NAME`), so plugins never see each other's data. Key size, value
//! size and the total bytes per plugin are capped (`[store]`). The backend is opened once,
//! at start, and only when some plugin is granted a store; `[store]` changes need a restart.

pub mod backend;
pub mod redb;
pub mod redis;

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::{Linker, Resource};

use super::{Capability, Entry, GrantError, HasState, Section, View, ViewOf};
use backend::{KvBackend, KvError, Scope};

/// The longest one store operation may take before it fails as "store unavailable".
pub const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/deps/keyvalue",
        world: "wasi:keyvalue/imports",
        imports: {
            // Store backends do I/O (a disk commit, a Redis round trip).
            default: async | trappable,
        },
        with: {
            "wasi:keyvalue/store.bucket": super::Bucket,
        },
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store as kv_store};

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

/// `[store]`: where plugin state lives, and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    pub limits: KvLimits,
}

#[derive(Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// One redb file (the default).
    Redb { path: PathBuf },
    /// A Redis server shared by several hosts. The URL may hold a password.
    Redis { url: String },
}

/// Never shows a Redis password (the config's `Debug` prints this).
impl std::fmt::Debug for StoreBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreBackend::Redb { path } => f.debug_struct("Redb").field("path", path).finish(),
            StoreBackend::Redis { url } => f
                .debug_struct("Redis")
                .field("url", &redis::redacted(url))
                .finish(),
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
    pub async fn open(config: &StoreConfig) -> Result<Store, KvError> {
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
            backend: Arc::new(backend::Bounded {
                inner: backend,
                limit: OPERATION_TIMEOUT,
            }),
            limits: config.limits,
        })
    }
}

/// The capability: the store, when this process opened one.
pub struct KeyValue {
    settings: StoreConfig,
    store: Option<Store>,
}

impl KeyValue {
    /// The open store, if any plugin is granted one.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }
}

/// One plugin's grant: its namespace and the stores it may open.
#[derive(Debug, Clone)]
pub struct KvGrant(Arc<KvGrantInner>);

#[derive(Debug)]
struct KvGrantInner {
    /// `bots/NAME` or `extensions/NAME`: every key the plugin touches is under it.
    namespace: String,
    /// The store identifiers it may open (`key_value_stores`); empty: none.
    stores: Vec<String>,
}

impl KvGrant {
    pub fn stores(&self) -> &[String] {
        &self.0.stores
    }
}

/// One call's view: its grant and the process's store.
pub struct KvState {
    grant: KvGrant,
    store: Option<Store>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    backend: Option<String>,
    path: Option<PathBuf>,
    /// A string, or `{ env = "VAR" }` / `{ file = "PATH" }` when it holds a password.
    url: Option<toml::Value>,
    max_key_bytes: Option<usize>,
    max_value_kb: Option<usize>,
    max_total_kb: Option<u64>,
}

/// Store and bucket names: they become part of storage keys.
fn is_identifier(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    section: &Section,
    key: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, GrantError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(GrantError::new(
            section.key(key),
            format!(
                "{value} is out of range {}..={}",
                range.start(),
                range.end()
            ),
        ))
    }
}

impl Capability for KeyValue {
    const NAME: &'static str = "key-value store";
    const KEYS: &'static [&'static str] = &["key_value_stores"];
    const SECTION: Option<&'static str> = Some("store");
    type Settings = StoreConfig;
    type Grant = KvGrant;
    type State = KvState;

    fn settings(section: Section) -> Result<StoreConfig, GrantError> {
        let raw: RawStore = section.parse()?;
        let backend = match raw.backend.as_deref().unwrap_or("redb") {
            "redb" => {
                if raw.url.is_some() {
                    return Err(GrantError::new(
                        section.key("url"),
                        "is for backend = \"redis\"",
                    ));
                }
                let path = match raw.path {
                    Some(path) => section.base.join(path),
                    None => redb::default_path().ok_or_else(|| {
                        GrantError::new(
                            section.key("path"),
                            "no data folder (HOME is not set): give a path",
                        )
                    })?,
                };
                StoreBackend::Redb { path }
            }
            "redis" => {
                if raw.path.is_some() {
                    return Err(GrantError::new(
                        section.key("path"),
                        "is for backend = \"redb\"",
                    ));
                }
                let url = match raw.url {
                    None => {
                        return Err(GrantError::new(
                            section.key("url"),
                            "missing: redis://host:port/db",
                        ))
                    }
                    Some(toml::Value::String(url)) => url,
                    Some(other) => {
                        let source: crate::secret::SecretSource =
                            other.try_into().map_err(|_| {
                                GrantError::new(
                                    section.key("url"),
                                    "a URL, { env = \"VAR\" } or { file = \"PATH\" }",
                                )
                            })?;
                        let secret = source
                            .resolve(&section.base)
                            .map_err(|e| GrantError::new(section.key("url"), e.to_string()))?;
                        String::from_utf8_lossy(secret.expose()).into_owned()
                    }
                };
                if url.starts_with("rediss://") {
                    // Refused here rather than failing at start with the client's message.
                    return Err(GrantError::new(
                        section.key("url"),
                        "rediss:// (TLS to Redis) is not built into this host: use redis:// \
                         on a private network, or a TLS tunnel to Redis",
                    ));
                }
                if !url.starts_with("redis://") {
                    return Err(GrantError::new(
                        section.key("url"),
                        "must start with redis://",
                    ));
                }
                StoreBackend::Redis { url }
            }
            other => {
                return Err(GrantError::new(
                    section.key("backend"),
                    format!("{other:?}: one of \"redb\" (default), \"redis\""),
                ))
            }
        };
        let mut limits = KvLimits::default();
        if let Some(n) = raw.max_key_bytes {
            limits.max_key_bytes = in_range(&section, "max_key_bytes", n, 1..=65_536)?;
        }
        if let Some(kb) = raw.max_value_kb {
            limits.max_value_bytes = in_range(&section, "max_value_kb", kb, 1..=65_536)? << 10;
        }
        if let Some(kb) = raw.max_total_kb {
            if kb == 0 {
                return Err(GrantError::new(
                    section.key("max_total_kb"),
                    "must be greater than 0",
                ));
            }
            limits.max_total_bytes = kb << 10;
        }
        Ok(StoreConfig { backend, limits })
    }

    fn grant(entry: &mut Entry<'_>) -> Result<KvGrant, GrantError> {
        let stores: Vec<String> = entry.take("key_value_stores")?.unwrap_or_default();
        if let Some(bad) = stores.iter().find(|s| !is_identifier(s)) {
            return Err(entry.error(
                "key_value_stores",
                format!("{bad:?}: a store name is 1 to 64 letters, digits, '-' or '_'"),
            ));
        }
        Ok(KvGrant(Arc::new(KvGrantInner {
            namespace: entry.namespace().to_string(),
            stores,
        })))
    }

    async fn open(settings: &StoreConfig, grants: &[&KvGrant]) -> anyhow::Result<KeyValue> {
        let needed = grants.iter().any(|g| !g.stores().is_empty());
        let store = match needed {
            true => {
                let store = Store::open(settings).await?;
                tracing::info!(backend = store.backend.name(), "plugin store open");
                Some(store)
            }
            false => None,
        };
        Ok(KeyValue {
            settings: settings.clone(),
            store,
        })
    }

    fn closed(settings: &StoreConfig) -> KeyValue {
        KeyValue {
            settings: settings.clone(),
            store: None,
        }
    }

    fn link<T: HasState<Self>>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        let get = <T as HasState<Self>>::view;
        kv_store::add_to_linker::<T, ViewOf<Self>>(linker, get)?;
        atomics::add_to_linker::<T, ViewOf<Self>>(linker, get)?;
        batch::add_to_linker::<T, ViewOf<Self>>(linker, get)
    }

    fn state(&self, grant: &KvGrant) -> KvState {
        KvState {
            grant: grant.clone(),
            store: self.store.clone(),
        }
    }

    fn max_transfer(state: &KvState) -> usize {
        match (&state.store, state.grant.stores().is_empty()) {
            (Some(store), false) => store.limits.max_key_bytes + store.limits.max_value_bytes,
            _ => 0,
        }
    }

    fn describe(grant: &KvGrant) -> Option<String> {
        (!grant.stores().is_empty()).then(|| format!("stores {}", grant.stores().join(", ")))
    }

    fn status(&self) -> Option<String> {
        let store = self.store.as_ref()?;
        Some(format!("store: {} backend open", store.backend.name()))
    }

    fn reload_note(&self, new: &StoreConfig, grants: &[&KvGrant]) -> Option<String> {
        match &self.store {
            Some(_) if *new != self.settings => Some("[store] changed: restart to apply it".into()),
            None if grants.iter().any(|g| !g.stores().is_empty()) => Some(
                "a plugin was granted key_value_stores but the host started without a store: restart to open it".into(),
            ),
            _ => None,
        }
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

impl View<'_, KvState> {
    fn store(&self) -> Result<&Store, kv_store::Error> {
        self.state
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

impl kv_store::Host for View<'_, KvState> {
    async fn open(&mut self, identifier: String) -> KvResult<Resource<Bucket>> {
        if !self.state.grant.stores().contains(&identifier) {
            tracing::warn!(
                store = %crate::text::sanitize(&identifier, 64),
                "plugin tried to open a store it is not granted (key_value_stores)"
            );
            return Ok(Err(kv_store::Error::AccessDenied));
        }
        if let Err(e) = self.store() {
            return Ok(Err(e));
        }
        let scope = Scope {
            namespace: self.state.grant.0.namespace.clone(),
            bucket: identifier,
        };
        Ok(Ok(self.table.push(Bucket { scope })?))
    }
}

impl kv_store::HostBucket for View<'_, KvState> {
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

impl atomics::Host for View<'_, KvState> {
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

impl batch::Host for View<'_, KvState> {
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

#[cfg(test)]
mod tests {
    use super::StoreBackend;

    #[test]
    fn debug_hides_the_redis_password() {
        let backend = StoreBackend::Redis {
            url: "redis://user:hunter2@127.0.0.1:6379/0".into(),
        };
        let shown = format!("{backend:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("127.0.0.1:6379"),
            "{shown}"
        );
    }
}
