//! De-duplication records in Redis (`[store] backend = "redis"`), shared by every host
//! behind the load balancer: a retry that reaches another host than the first attempt is
//! still recognised.
//!
//! A claim is `SET key R<owner> NX PX lease GET` (Redis 7): one atomic step that either takes
//! the key or returns who holds it. A finished run replaces it with its answer for the
//! window; Redis expires both, so the records need no sweep.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;

use super::key::DeliveryKey;
use super::store::{BoxFuture, Claim, DedupError, DedupStore, Owner, StoredAnswer};

pub struct RedisDedup {
    connection: ConnectionManager,
    release: Script,
}

/// KEYS: record. ARGV: the owner's claim value. Deletes the record only if it is that claim.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"#;

pub(super) fn record_key(key: &DeliveryKey) -> String {
    format!("pyrus-delivery:{key}")
}

fn claim_value(owner: Owner) -> Vec<u8> {
    [b"R".as_slice(), &owner.0.to_le_bytes()].concat()
}

/// What a stored value says: a claim (`R` + owner) or an answer (`D` + answer).
fn decode(value: Option<Vec<u8>>) -> Result<Claim, DedupError> {
    match value.as_deref() {
        None => Ok(Claim::Claimed),
        Some([b'R', ..]) => Ok(Claim::Running),
        Some([b'D', answer @ ..]) => StoredAnswer::decode(answer)
            .map(Claim::Done)
            .ok_or_else(|| DedupError("an unreadable delivery record".into())),
        Some(_) => Err(DedupError("an unreadable delivery record".into())),
    }
}

fn failed(e: redis::RedisError) -> DedupError {
    DedupError(e.to_string())
}

impl RedisDedup {
    pub async fn connect(url: &str) -> Result<RedisDedup, DedupError> {
        Ok(RedisDedup {
            connection: crate::capabilities::keyvalue::redis::connect(url).await?,
            release: Script::new(RELEASE),
        })
    }
}

impl DedupStore for RedisDedup {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn claim(
        &self,
        key: &DeliveryKey,
        owner: Owner,
        lease: Duration,
    ) -> BoxFuture<'_, Result<Claim, DedupError>> {
        let mut connection = self.connection.clone();
        let key = record_key(key);
        Box::pin(async move {
            let previous: Option<Vec<u8>> = redis::cmd("SET")
                .arg(&key)
                .arg(claim_value(owner))
                .arg("NX")
                .arg("PX")
                .arg(lease.as_millis().max(1) as u64)
                .arg("GET")
                .query_async(&mut connection)
                .await
                .map_err(failed)?;
            decode(previous)
        })
    }

    fn peek(&self, key: &DeliveryKey) -> BoxFuture<'_, Result<Claim, DedupError>> {
        let mut connection = self.connection.clone();
        let key = record_key(key);
        Box::pin(async move {
            let value: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .map_err(failed)?;
            decode(value)
        })
    }

    fn complete(
        &self,
        key: &DeliveryKey,
        _owner: Owner,
        answer: &StoredAnswer,
        window: Duration,
    ) -> BoxFuture<'_, Result<(), DedupError>> {
        let mut connection = self.connection.clone();
        let key = record_key(key);
        let value = [b"D".as_slice(), &answer.encode()].concat();
        Box::pin(async move {
            let () = redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("PX")
                .arg(window.as_millis().max(1) as u64)
                .query_async(&mut connection)
                .await
                .map_err(failed)?;
            Ok(())
        })
    }

    fn release(&self, key: &DeliveryKey, owner: Owner) -> BoxFuture<'_, Result<(), DedupError>> {
        let mut connection = self.connection.clone();
        let key = record_key(key);
        Box::pin(async move {
            let _: i64 = self
                .release
                .key(&key)
                .arg(claim_value(owner))
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            Ok(())
        })
    }
}
