//! The embedded backend: one redb file, no server. Each write is one transaction committed
//! with fsync before the plugin hears it succeeded, so it survives `kill -9` of the host (and
//! a power cut). One process at a time: redb locks the file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use redb::{Database, ReadableTable, TableDefinition};

use super::backend::{parse_counter, BoxFuture, KeyPage, KvBackend, KvError, Scope};

/// (namespace, bucket, key) → value.
const DATA: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("data");
/// namespace → bytes of keys and values it holds.
const USAGE: TableDefinition<&str, u64> = TableDefinition::new("usage");

pub struct RedbBackend {
    file: Arc<StoreFile>,
}

/// The open database, or none after an I/O failure. redb refuses every operation after one
/// (`PreviousIo`) until the file is closed and opened again, which also repairs it: a full
/// disk that frees up must not need a restart of the host.
///
/// One per file and process ([`StoreFile::shared`]): the plugin store and the delivery
/// records (`crate::delivery`) live in the same file, and redb locks a file to one open
/// database.
pub(crate) struct StoreFile {
    path: PathBuf,
    db: Mutex<Option<Arc<Database>>>,
}

/// Why a transaction failed: the plugin's fault (a quota, a counter) or the storage's.
pub(crate) enum Fail {
    Kv(KvError),
    Storage(Box<redb::Error>),
}

impl From<KvError> for Fail {
    fn from(e: KvError) -> Self {
        Fail::Kv(e)
    }
}

pub(crate) fn storage(e: impl Into<redb::Error>) -> Fail {
    Fail::Storage(Box::new(e.into()))
}

impl StoreFile {
    /// The file at `path`, opened once per process whoever asks for it.
    pub(crate) fn shared(path: &Path) -> Result<Arc<StoreFile>, KvError> {
        static OPEN: Mutex<Vec<(PathBuf, std::sync::Weak<StoreFile>)>> = Mutex::new(Vec::new());
        let mut open_files = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        open_files.retain(|(_, file)| file.strong_count() > 0);
        if let Some(file) = open_files
            .iter()
            .find(|(p, _)| p == path)
            .and_then(|(_, f)| f.upgrade())
        {
            return Ok(file);
        }
        let file = Arc::new(StoreFile {
            path: path.to_path_buf(),
            db: Mutex::new(Some(Arc::new(open(path)?))),
        });
        open_files.push((path.to_path_buf(), Arc::downgrade(&file)));
        Ok(file)
    }

    /// The database, opened again first if an I/O failure closed it. Runs on a blocking
    /// thread: opening after a failure repairs the file.
    fn database(&self) -> Result<Arc<Database>, KvError> {
        let mut slot = self.db.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(db) = &*slot {
            return Ok(db.clone());
        }
        let db = Arc::new(open(&self.path)?);
        tracing::info!(path = ?self.path, "store file opened again after an I/O failure");
        *slot = Some(db.clone());
        Ok(db)
    }

    /// Runs `work` on the database; an I/O failure closes it, so that the next operation
    /// opens it again (once the last operation on the failed one is done).
    pub(crate) fn run<T>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, Fail>,
    ) -> Result<T, KvError> {
        let db = self.database()?;
        match work(&db) {
            Ok(value) => Ok(value),
            Err(Fail::Kv(e)) => Err(e),
            Err(Fail::Storage(e)) => {
                if matches!(*e, redb::Error::Io(_) | redb::Error::PreviousIo) {
                    let mut slot = self.db.lock().unwrap_or_else(|e| e.into_inner());
                    if slot
                        .as_ref()
                        .is_some_and(|current| Arc::ptr_eq(current, &db))
                    {
                        tracing::warn!(path = ?self.path, error = %e, "store file failed; it will be opened again");
                        *slot = None;
                    }
                }
                Err(KvError::Backend(e.to_string()))
            }
        }
    }
}

/// Opens (or creates) the store file, creating its folder and the tables.
fn open(path: &Path) -> Result<Database, KvError> {
    let fail = |e: &dyn std::fmt::Display| {
        KvError::Backend(format!("cannot open the store {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    }
    let db = Database::create(path).map_err(|e| fail(&e))?;
    // Create the tables once, so that readers never meet a missing table.
    let tx = db.begin_write().map_err(|e| fail(&e))?;
    tx.open_table(DATA).map_err(|e| fail(&e))?;
    tx.open_table(USAGE).map_err(|e| fail(&e))?;
    tx.commit().map_err(|e| fail(&e))?;
    Ok(db)
}

impl RedbBackend {
    /// Opens (or creates) the store file, creating its folder.
    pub fn open(path: &Path) -> Result<RedbBackend, KvError> {
        Ok(RedbBackend {
            file: StoreFile::shared(path)?,
        })
    }

    /// Runs a write transaction on a blocking thread: a commit waits for the disk.
    fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&redb::WriteTransaction) -> Result<T, Fail> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, KvError>> {
        let file = self.file.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                file.run(|db| {
                    let tx = db.begin_write().map_err(storage)?;
                    let value = work(&tx)?;
                    tx.commit().map_err(storage)?;
                    Ok(value)
                })
            })
            .await
            .map_err(|e| KvError::Backend(e.to_string()))?
        })
    }

    fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&redb::ReadTransaction) -> Result<T, Fail> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, KvError>> {
        let file = self.file.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                file.run(|db| work(&db.begin_read().map_err(storage)?))
            })
            .await
            .map_err(|e| KvError::Backend(e.to_string()))?
        })
    }
}

/// The table key of `key` in `scope`.
fn at<'a>(scope: &'a Scope, key: &'a str) -> (&'a str, &'a str, &'a str) {
    (scope.namespace.as_str(), scope.bucket.as_str(), key)
}

/// The bytes `namespace` holds now.
fn used(usage: &impl ReadableTable<&'static str, u64>, namespace: &str) -> Result<u64, Fail> {
    Ok(usage
        .get(namespace)
        .map_err(storage)?
        .map(|v| v.value())
        .unwrap_or(0))
}

/// Bytes an entry counts for in its namespace's usage.
fn entry_size(key: &str, value_len: usize) -> u64 {
    (key.len() + value_len) as u64
}

/// Writes `value` at `key` and updates the namespace's usage, within `tx`.
fn put(
    tx: &redb::WriteTransaction,
    scope: &Scope,
    key: &str,
    value: &[u8],
    max_total: u64,
) -> Result<(), Fail> {
    let mut data = tx.open_table(DATA).map_err(storage)?;
    let mut usage = tx.open_table(USAGE).map_err(storage)?;
    let old = data
        .get(at(scope, key))
        .map_err(storage)?
        .map(|v| entry_size(key, v.value().len()))
        .unwrap_or(0);
    let used = used(&usage, &scope.namespace)?;
    let new_used = used - old.min(used) + entry_size(key, value.len());
    if new_used > max_total && new_used > used {
        return Err(KvError::QuotaExceeded(new_used, max_total).into());
    }
    data.insert(at(scope, key), value).map_err(storage)?;
    usage
        .insert(scope.namespace.as_str(), new_used)
        .map_err(storage)?;
    Ok(())
}

impl KvBackend for RedbBackend {
    fn name(&self) -> &'static str {
        "redb"
    }

    fn get(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<Option<Vec<u8>>, KvError>> {
        self.read(move |tx| {
            let data = tx.open_table(DATA).map_err(storage)?;
            let value = data.get(at(&scope, &key)).map_err(storage)?;
            Ok(value.map(|v| v.value().to_vec()))
        })
    }

    fn set(
        &self,
        scope: Scope,
        key: String,
        value: Vec<u8>,
        max_total: u64,
    ) -> BoxFuture<'_, Result<(), KvError>> {
        self.write(move |tx| put(tx, &scope, &key, &value, max_total))
    }

    fn delete(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<(), KvError>> {
        self.write(move |tx| {
            let mut data = tx.open_table(DATA).map_err(storage)?;
            let removed = data
                .remove(at(&scope, &key))
                .map_err(storage)?
                .map(|v| entry_size(&key, v.value().len()));
            if let Some(size) = removed {
                let mut usage = tx.open_table(USAGE).map_err(storage)?;
                let used = used(&usage, &scope.namespace)?;
                usage
                    .insert(scope.namespace.as_str(), used.saturating_sub(size))
                    .map_err(storage)?;
            }
            Ok(())
        })
    }

    fn exists(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<bool, KvError>> {
        self.read(move |tx| {
            let data = tx.open_table(DATA).map_err(storage)?;
            let value = data.get(at(&scope, &key)).map_err(storage)?;
            Ok(value.is_some())
        })
    }

    fn list_keys(
        &self,
        scope: Scope,
        cursor: Option<u64>,
        page: usize,
    ) -> BoxFuture<'_, Result<KeyPage, KvError>> {
        self.read(move |tx| {
            let data = tx.open_table(DATA).map_err(storage)?;
            let start = cursor.unwrap_or(0);
            let from = at(&scope, "");
            let mut keys = Vec::new();
            let mut more = false;
            let entries = data.range(from..).map_err(storage)?;
            for entry in entries.skip(start as usize) {
                let (key, _) = entry.map_err(storage)?;
                let (namespace, bucket, key) = key.value();
                if namespace != scope.namespace || bucket != scope.bucket {
                    break;
                }
                if keys.len() == page {
                    more = true;
                    break;
                }
                keys.push(key.to_string());
            }
            let next = more.then(|| start + keys.len() as u64);
            Ok(KeyPage { keys, next })
        })
    }

    fn increment(
        &self,
        scope: Scope,
        key: String,
        delta: u64,
        max_total: u64,
    ) -> BoxFuture<'_, Result<u64, KvError>> {
        self.write(move |tx| {
            let current = {
                let data = tx.open_table(DATA).map_err(storage)?;
                let value = data.get(at(&scope, &key)).map_err(storage)?;
                match value {
                    Some(v) => parse_counter(v.value())?,
                    None => 0,
                }
            };
            let next = current.checked_add(delta).ok_or(KvError::Overflow)?;
            put(tx, &scope, &key, next.to_string().as_bytes(), max_total)?;
            Ok(next)
        })
    }
}

/// `$XDG_DATA_HOME/pyrus-host/state.redb`, else `~/.local/share/pyrus-host/state.redb`.
pub fn default_path() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("pyrus-host").join("state.redb"))
}
