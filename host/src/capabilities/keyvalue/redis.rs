//! The shared backend: Redis, for several hosts behind a load balancer sharing state.
//!
//! Keys are `pyrus:{namespace}:{bucket}:{key}`; a namespace's usage is kept at
//! `pyrus-usage:{namespace}`. Writes that change the usage run as Lua scripts, so the quota
//! check and the write are one atomic step whatever other hosts do. Namespaces and buckets
//! are restricted to `[A-Za-z0-9_/-]`, so the prefix is unambiguous and safe in `SCAN MATCH`.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::backend::{BoxFuture, KeyPage, KvBackend, KvError, Scope};

pub struct RedisBackend {
    connection: ConnectionManager,
    set: Script,
    delete: Script,
    increment: Script,
}

/// KEYS: data, usage. ARGV: value, max_total, key length. Returns the new usage, or -1 when
/// the write would go over the limit (writes that shrink are always allowed).
const SET: &str = r#"
local old = redis.call('STRLEN', KEYS[1])
if old > 0 or redis.call('EXISTS', KEYS[1]) == 1 then old = old + tonumber(ARGV[3]) end
local new = string.len(ARGV[1]) + tonumber(ARGV[3])
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
local next = used - old + new
if next > tonumber(ARGV[2]) and next > used then return -1 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], next)
return next
"#;

/// KEYS: data, usage. ARGV: key length.
const DELETE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  local size = redis.call('STRLEN', KEYS[1]) + tonumber(ARGV[1])
  redis.call('DEL', KEYS[1])
  local used = tonumber(redis.call('GET', KEYS[2]) or '0') - size
  if used < 0 then used = 0 end
  redis.call('SET', KEYS[2], used)
end
return 0
"#;

/// KEYS: data, usage. ARGV: delta, max_total, key length. Returns the new value as a string
/// (Lua numbers are doubles), or an error reply.
const INCREMENT: &str = r#"
local current = redis.call('GET', KEYS[1])
local old = 0
local value = 0
if current then
  if not string.match(current, '^%d+$') then return redis.error_reply('not a counter') end
  old = string.len(current) + tonumber(ARGV[3])
  value = tonumber(current)
end
local next = value + tonumber(ARGV[1])
if next >= 9007199254740992 then return redis.error_reply('overflow') end
local text = string.format('%d', next)
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
local after = used - old + string.len(text) + tonumber(ARGV[3])
if after > tonumber(ARGV[2]) and after > used then return redis.error_reply('quota') end
redis.call('SET', KEYS[1], text)
redis.call('SET', KEYS[2], after)
return text
"#;

impl RedisBackend {
    /// Connects to `url` (`redis://host:port/db`) and checks the server answers.
    pub async fn connect(url: &str) -> Result<RedisBackend, KvError> {
        let connection = connect(url).await?;
        Ok(RedisBackend {
            connection,
            set: Script::new(SET),
            delete: Script::new(DELETE),
            increment: Script::new(INCREMENT),
        })
    }
}

/// A connection to `url` (`redis://host:port/db`) that reconnects on its own, once the
/// server answered a first PING. The plugin store and the delivery records
/// (`crate::delivery`) each hold one.
pub(crate) async fn connect(url: &str) -> Result<ConnectionManager, KvError> {
    let fail = |e: redis::RedisError| {
        // The URL may hold a password: name the host only.
        KvError::Backend(format!("cannot connect to Redis at {}: {e}", redacted(url)))
    };
    let client = redis::Client::open(url).map_err(fail)?;
    // One direct attempt first, for a prompt and precise error at start (the manager
    // would keep retrying with backoff).
    let no_answer =
        || KvError::Backend(format!("no answer from Redis at {} in 5 s", redacted(url)));
    let mut probe = tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    .map_err(|_| no_answer())?
    .map_err(fail)?;
    let _: String = redis::cmd("PING")
        .query_async(&mut probe)
        .await
        .map_err(fail)?;
    // Fail fast at start rather than retrying for minutes; later, a lost connection is
    // re-established in the background, and each operation is bounded.
    // Every limit here is below the host's bound on one operation: the client must see its
    // own errors (they are what make it reconnect), not be cut off first.
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_factor(50)
        .set_max_delay(200)
        .set_connection_timeout(Duration::from_secs(1))
        .set_response_timeout(Duration::from_secs(1));
    let mut connection = tokio::time::timeout(
        Duration::from_secs(20),
        ConnectionManager::new_with_config(client, config),
    )
    .await
    .map_err(|_| KvError::Backend(format!("no answer from Redis at {} in 20 s", redacted(url))))?
    .map_err(fail)?;
    let _: String = redis::cmd("PING")
        .query_async(&mut connection)
        .await
        .map_err(fail)?;
    Ok(connection)
}

/// `redis://user:password@host:6379/0` → `redis://host:6379/0`.
pub fn redacted(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://{}", &url[at + 1..]),
        _ => url.to_string(),
    }
}

fn data_key(scope: &Scope, key: &str) -> String {
    format!("pyrus:{}:{}:{key}", scope.namespace, scope.bucket)
}

fn usage_key(scope: &Scope) -> String {
    format!("pyrus-usage:{}", scope.namespace)
}

fn backend(e: redis::RedisError) -> KvError {
    KvError::Backend(e.to_string())
}

impl KvBackend for RedisBackend {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn get(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<Option<Vec<u8>>, KvError>> {
        let mut c = self.connection.clone();
        Box::pin(async move { c.get(data_key(&scope, &key)).await.map_err(backend) })
    }

    fn set(
        &self,
        scope: Scope,
        key: String,
        value: Vec<u8>,
        max_total: u64,
    ) -> BoxFuture<'_, Result<(), KvError>> {
        let mut c = self.connection.clone();
        Box::pin(async move {
            let used: i64 = self
                .set
                .key(data_key(&scope, &key))
                .key(usage_key(&scope))
                .arg(&value[..])
                .arg(max_total)
                .arg(key.len())
                .invoke_async(&mut c)
                .await
                .map_err(backend)?;
            if used < 0 {
                return Err(KvError::QuotaExceeded(
                    max_total + value.len() as u64,
                    max_total,
                ));
            }
            Ok(())
        })
    }

    fn delete(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<(), KvError>> {
        let mut c = self.connection.clone();
        Box::pin(async move {
            let _: i64 = self
                .delete
                .key(data_key(&scope, &key))
                .key(usage_key(&scope))
                .arg(key.len())
                .invoke_async(&mut c)
                .await
                .map_err(backend)?;
            Ok(())
        })
    }

    fn exists(&self, scope: Scope, key: String) -> BoxFuture<'_, Result<bool, KvError>> {
        let mut c = self.connection.clone();
        Box::pin(async move { c.exists(data_key(&scope, &key)).await.map_err(backend) })
    }

    fn list_keys(
        &self,
        scope: Scope,
        cursor: Option<u64>,
        page: usize,
    ) -> BoxFuture<'_, Result<KeyPage, KvError>> {
        let mut c = self.connection.clone();
        Box::pin(async move {
            let prefix = data_key(&scope, "");
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor.unwrap_or(0))
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(page)
                .query_async(&mut c)
                .await
                .map_err(backend)?;
            let keys = keys
                .into_iter()
                .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
                .collect();
            Ok(KeyPage {
                keys,
                next: (next != 0).then_some(next),
            })
        })
    }

    fn increment(
        &self,
        scope: Scope,
        key: String,
        delta: u64,
        max_total: u64,
    ) -> BoxFuture<'_, Result<u64, KvError>> {
        let mut c = self.connection.clone();
        Box::pin(async move {
            let result: Result<String, _> = self
                .increment
                .key(data_key(&scope, &key))
                .key(usage_key(&scope))
                .arg(delta)
                .arg(max_total)
                .arg(key.len())
                .invoke_async(&mut c)
                .await;
            match result {
                Ok(text) => text.parse().map_err(|_| KvError::NotACounter),
                Err(e) if e.to_string().contains("not a counter") => Err(KvError::NotACounter),
                Err(e) if e.to_string().contains("overflow") => Err(KvError::Overflow),
                Err(e) if e.to_string().contains("quota") => {
                    Err(KvError::QuotaExceeded(max_total + 1, max_total))
                }
                Err(e) => Err(backend(e)),
            }
        })
    }
}
