//! The async queue in Redis (`[store] backend = "redis"`): several hosts share it.
//!
//! A Redis Stream with one consumer group: each job is an entry (`id` = the job id) whose
//! state lives in a hash beside it (`pyrus-queue:job:{id}`: its JSON and its stream entry).
//! A host reads new entries (`XREADGROUP ... >`), re-reads its own pending ones on every
//! poll (which keeps them fresh), and takes over entries of a host that stopped reading them
//! for [`VISIBILITY`] (`XAUTOCLAIM`): a killed host's jobs are finished by another. A job is
//! acknowledged and deleted (`XACK`, `XDEL`) once its comment is posted. Accepting writes
//! the de-duplication record (`SET NX PX`), the job and the entry in one Lua script.
//!
//! Each bot's jobs are also indexed for the operator's per-bot numbers, by the same scripts
//! that write the jobs (so every host sees the same counts): a sorted set of its jobs
//! waiting or running, scored by acceptance time (`pyrus-queue:bot:{bot}:waiting`), and a
//! set of its parked ones (`...:parked`).

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{Script, Value};

use super::job::{Job, JobId, QueueStats, Stage};
use super::queue::{BoxFuture, Enqueued, JobQueue, NewJob, QueueError};
use super::redb_queue::MAX_JOBS;
use super::store::{now_ms, Owner, StoredAnswer};

const STREAM: &str = "pyrus-queue:stream";
const GROUP: &str = "workers";
const NEXT_ID: &str = "pyrus-queue:next-id";
const PARKED: &str = "pyrus-queue:parked";

/// How long a host may go without reading its pending jobs before another takes them.
/// Each host re-reads its own on every poll (a few times a second), so only a host that
/// died, or stalled this long, loses them.
pub const VISIBILITY: Duration = Duration::from_secs(20);

/// Pending jobs re-read per poll at most.
const MAX_PENDING_READ: usize = 1000;

fn job_key(id: u64) -> String {
    format!("pyrus-queue:job:{id}")
}

/// A bot's jobs waiting or running, scored by acceptance time (ms). Bot names are ASCII
/// letters, digits, `-` and `_`: safe in a key.
fn waiting_key(bot: &str) -> String {
    format!("pyrus-queue:bot:{bot}:waiting")
}

/// A bot's parked jobs.
fn parked_key(bot: &str) -> String {
    format!("pyrus-queue:bot:{bot}:parked")
}

/// KEYS: dedup record, next id, stream, parked, the bot's waiting set. ARGV: record value,
/// window ms, job JSON, max jobs, accepted ms, bot. Returns the job id, -1 for a duplicate,
/// -2 when full.
const ENQUEUE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if redis.call('XLEN', KEYS[3]) >= tonumber(ARGV[4]) then return -2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local id = redis.call('INCR', KEYS[2])
local entry = redis.call('XADD', KEYS[3], '*', 'id', id)
redis.call('HSET', 'pyrus-queue:job:' .. id, 'json', ARGV[3], 'entry', entry, 'bot', ARGV[6])
redis.call('ZADD', KEYS[5], ARGV[5], id)
return id
"#;

/// KEYS: the job, parked, the bot's waiting set, the bot's parked set. ARGV: job JSON, job
/// id, 1 if parked, accepted ms, bot. Saves the job and moves it between the bot's sets,
/// unless the job is gone: a host that took over a job finished it meanwhile, and this
/// late save must not bring it back.
const SAVE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'bot', ARGV[5])
if ARGV[3] == '1' then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('SADD', KEYS[4], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
else
  redis.call('SREM', KEYS[2], ARGV[2])
  redis.call('SREM', KEYS[4], ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
end
return 1
"#;

/// KEYS: stream, parked. ARGV: job id, group. Acknowledges and removes the job, and takes
/// it out of its bot's sets (the bot is in the job's hash).
const FINISH: &str = r#"
local key = 'pyrus-queue:job:' .. ARGV[1]
local entry = redis.call('HGET', key, 'entry')
if entry then
  redis.call('XACK', KEYS[1], ARGV[2], entry)
  redis.call('XDEL', KEYS[1], entry)
end
local bot = redis.call('HGET', key, 'bot')
if bot then
  redis.call('ZREM', 'pyrus-queue:bot:' .. bot .. ':waiting', ARGV[1])
  redis.call('SREM', 'pyrus-queue:bot:' .. bot .. ':parked', ARGV[1])
end
redis.call('DEL', key)
redis.call('SREM', KEYS[2], ARGV[1])
return 0
"#;

pub struct RedisQueue {
    connection: ConnectionManager,
    consumer: String,
    enqueue: Script,
    save: Script,
    finish: Script,
}

fn failed(e: redis::RedisError) -> QueueError {
    QueueError(e.to_string())
}

impl RedisQueue {
    pub async fn connect(url: &str) -> Result<RedisQueue, QueueError> {
        let mut connection = crate::capabilities::keyvalue::redis::connect(url).await?;
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(STREAM)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut connection)
            .await;
        if let Err(e) = created {
            // Another host created it first.
            if e.code() != Some("BUSYGROUP") {
                return Err(failed(e));
            }
        }
        Ok(RedisQueue {
            connection,
            consumer: format!("host-{:016x}", Owner::random().0),
            enqueue: Script::new(ENQUEUE),
            save: Script::new(SAVE),
            finish: Script::new(FINISH),
        })
    }

    async fn load(&self, id: u64) -> Result<Option<Job>, QueueError> {
        let mut connection = self.connection.clone();
        let json: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(job_key(id))
            .arg("json")
            .query_async(&mut connection)
            .await
            .map_err(failed)?;
        Ok(json
            .and_then(|j| serde_json::from_slice::<Job>(&j).ok())
            .map(|mut job| {
                job.id = JobId(id);
                job
            }))
    }

    async fn save(&self, job: &Job) -> Result<(), QueueError> {
        let mut connection = self.connection.clone();
        let json = serde_json::to_vec(job).unwrap_or_default();
        let _: i64 = self
            .save
            .key(job_key(job.id.0))
            .key(PARKED)
            .key(waiting_key(&job.bot))
            .key(parked_key(&job.bot))
            .arg(json)
            .arg(job.id.0)
            .arg(u8::from(job.parked.is_some()))
            .arg(job.accepted_ms)
            .arg(&job.bot)
            .invoke_async(&mut connection)
            .await
            .map_err(failed)?;
        Ok(())
    }

    /// Job ids of stream entries read with `args` (`XREADGROUP` or `XAUTOCLAIM`).
    async fn read(&self, cmd: redis::Cmd) -> Result<Vec<u64>, QueueError> {
        let mut connection = self.connection.clone();
        let reply: Value = cmd.query_async(&mut connection).await.map_err(failed)?;
        let mut ids = Vec::new();
        collect_ids(&reply, &mut ids);
        Ok(ids)
    }
}

/// Finds every `["id", "<job id>"]` field pair in a stream reply, however nested.
fn collect_ids(value: &Value, out: &mut Vec<u64>) {
    if let Value::Array(items) = value {
        if let [Value::BulkString(field), Value::BulkString(id)] = items.as_slice() {
            if field == b"id" {
                if let Some(id) = std::str::from_utf8(id).ok().and_then(|s| s.parse().ok()) {
                    out.push(id);
                }
                return;
            }
        }
        for item in items {
            collect_ids(item, out);
        }
    }
}

impl JobQueue for RedisQueue {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn enqueue(&self, new: NewJob) -> BoxFuture<'_, Result<Enqueued, QueueError>> {
        Box::pin(async move {
            let job = Job {
                id: JobId(0),
                bot: new.bot.clone(),
                key: new.key.as_str().to_owned(),
                body: new.body,
                user_agent: new.user_agent,
                accepted_ms: now_ms(),
                stage: Stage::Run,
                failed_runs: 0,
                failed_posts: 0,
                not_before_ms: 0,
                parked: None,
                token_refused: false,
            };
            // The record a sync retry also reads: an empty 200, what the first delivery got.
            let record = [b"D".as_slice(), &StoredAnswer(None).encode()].concat();
            let mut connection = self.connection.clone();
            let id: i64 = self
                .enqueue
                .key(super::redis::record_key(&new.key))
                .key(NEXT_ID)
                .key(STREAM)
                .key(PARKED)
                .key(waiting_key(&new.bot))
                .arg(record)
                .arg(new.window.as_millis().max(1) as u64)
                .arg(serde_json::to_vec(&job).unwrap_or_default())
                .arg(MAX_JOBS)
                .arg(job.accepted_ms)
                .arg(&new.bot)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            Ok(match id {
                -1 => Enqueued::Duplicate,
                -2 => Enqueued::Full,
                id => Enqueued::New(JobId(id as u64)),
            })
        })
    }

    fn due(&self, max: usize, skip: Vec<JobId>) -> BoxFuture<'_, Result<Vec<Job>, QueueError>> {
        Box::pin(async move {
            let mut ids = Vec::new();
            // Ours, read again: this also tells the others we are alive.
            let mut own = redis::cmd("XREADGROUP");
            own.arg("GROUP").arg(GROUP).arg(&self.consumer);
            own.arg("COUNT").arg(MAX_PENDING_READ);
            own.arg("STREAMS").arg(STREAM).arg("0");
            ids.extend(self.read(own).await?);
            // A stopped host's.
            let mut orphans = redis::cmd("XAUTOCLAIM");
            orphans.arg(STREAM).arg(GROUP).arg(&self.consumer);
            orphans.arg(VISIBILITY.as_millis() as u64).arg("0-0");
            orphans.arg("COUNT").arg(max.max(1));
            ids.extend(self.read(orphans).await?);
            // New ones.
            let mut new = redis::cmd("XREADGROUP");
            new.arg("GROUP").arg(GROUP).arg(&self.consumer);
            new.arg("COUNT").arg(max.max(1));
            new.arg("STREAMS").arg(STREAM).arg(">");
            ids.extend(self.read(new).await?);
            ids.sort_unstable();
            ids.dedup();
            let now = now_ms();
            let mut jobs = Vec::new();
            for id in ids {
                if jobs.len() >= max {
                    break;
                }
                if skip.contains(&JobId(id)) {
                    continue;
                }
                if let Some(job) = self.load(id).await? {
                    if job.parked.is_none() && job.not_before_ms <= now {
                        jobs.push(job);
                    }
                }
            }
            Ok(jobs)
        })
    }

    fn update(&self, job: Job) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move { self.save(&job).await })
    }

    fn finish(&self, id: JobId) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let _: i64 = self
                .finish
                .key(STREAM)
                .key(PARKED)
                .arg(id.0)
                .arg(GROUP)
                .invoke_async(&mut connection)
                .await
                .map_err(failed)?;
            Ok(())
        })
    }

    fn replay(&self, id: JobId) -> BoxFuture<'_, Result<bool, QueueError>> {
        Box::pin(async move {
            let Some(mut job) = self.load(id.0).await?.filter(|j| j.parked.is_some()) else {
                return Ok(false);
            };
            job.parked = None;
            job.failed_runs = 0;
            job.failed_posts = 0;
            job.not_before_ms = 0;
            self.save(&job).await?;
            Ok(true)
        })
    }

    fn stats(&self) -> BoxFuture<'_, Result<QueueStats, QueueError>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let (length, parked, first): (u64, u64, Value) = redis::pipe()
                .cmd("XLEN")
                .arg(STREAM)
                .cmd("SCARD")
                .arg(PARKED)
                .cmd("XRANGE")
                .arg(STREAM)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut connection)
                .await
                .map_err(failed)?;
            // An entry id is `<ms>-<seq>`: the oldest's age without reading its job.
            let oldest = match &first {
                Value::Array(entries) => match entries.first() {
                    Some(Value::Array(entry)) => match entry.first() {
                        Some(Value::BulkString(id)) => std::str::from_utf8(id)
                            .ok()
                            .and_then(|s| s.split('-').next()?.parse::<u64>().ok()),
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            };
            Ok(QueueStats {
                depth: length.saturating_sub(parked),
                oldest_age_s: oldest.map_or(0, |o| now_ms().saturating_sub(o) / 1000),
                parked,
            })
        })
    }

    fn bot_stats(&self, bots: Vec<String>) -> BoxFuture<'_, Result<Vec<QueueStats>, QueueError>> {
        Box::pin(async move {
            // Three reads per bot, in one round trip: its sets' sizes and its oldest job.
            let mut pipe = redis::pipe();
            for bot in &bots {
                pipe.cmd("ZCARD").arg(waiting_key(bot));
                pipe.cmd("ZRANGE")
                    .arg(waiting_key(bot))
                    .arg(0)
                    .arg(0)
                    .arg("WITHSCORES");
                pipe.cmd("SCARD").arg(parked_key(bot));
            }
            let mut connection = self.connection.clone();
            let replies: Vec<Value> = pipe.query_async(&mut connection).await.map_err(failed)?;
            let now = now_ms();
            let stats = replies
                .chunks_exact(3)
                .map(|reply| {
                    let oldest: Vec<(String, f64)> =
                        redis::from_redis_value(&reply[1]).unwrap_or_default();
                    QueueStats {
                        depth: redis::from_redis_value(&reply[0]).unwrap_or(0),
                        oldest_age_s: oldest.first().map_or(0, |(_, accepted)| {
                            now.saturating_sub(*accepted as u64) / 1000
                        }),
                        parked: redis::from_redis_value(&reply[2]).unwrap_or(0),
                    }
                })
                .collect();
            Ok(stats)
        })
    }

    fn parked(&self, max: usize) -> BoxFuture<'_, Result<Vec<Job>, QueueError>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let ids: Vec<u64> = redis::cmd("SRANDMEMBER")
                .arg(PARKED)
                .arg(max)
                .query_async(&mut connection)
                .await
                .map_err(failed)?;
            let mut jobs = Vec::new();
            for id in ids {
                jobs.extend(self.load(id).await?);
            }
            jobs.sort_by_key(|j| j.id);
            Ok(jobs)
        })
    }
}
