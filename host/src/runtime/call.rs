//! Running one call in a fresh store: admission, the timeout, and turning a wasmtime error
//! into a [`CallError`] that says what happened.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::{Store, Trap};

use super::contract::{InboundResponse, Reply};
use super::error::{CallError, PluginError};
use super::limits::Limits;
use super::scheduler::{Account, Turn};
use super::state::{new_store, CallState};
use super::usage::Usage;
use super::Runtime;
use crate::capabilities::Grants;

/// What one plugin's calls run under, whatever its world: its limits, what it was granted,
/// the admission gate of `limits.max_concurrency` permits, and its share of the cores.
pub struct Sandbox {
    pub limits: Limits,
    pub grants: Arc<Grants>,
    permits: Arc<Semaphore>,
    /// The CPU its calls used, which the scheduler weighs (kept across reloads).
    pub account: Arc<Account>,
    /// Its use of CPU and memory per minute, and its versions (kept across reloads).
    pub usage: Arc<Usage>,
}

impl Sandbox {
    /// A sandbox with its own admission gate, or with `previous`'s gate when that has the
    /// same `max_concurrency`: a reload then neither doubles the calls a plugin may run at
    /// once nor forgets the ones in flight. Its CPU account always carries over, so a
    /// reload does not restore a busy plugin's share.
    pub fn new(limits: Limits, grants: Arc<Grants>, previous: Option<&Sandbox>) -> Sandbox {
        let permits = match previous {
            Some(p) if p.limits.max_concurrency == limits.max_concurrency => p.permits.clone(),
            _ => Arc::new(Semaphore::new(limits.max_concurrency as usize)),
        };
        Sandbox {
            permits,
            account: previous.map(|p| p.account.clone()).unwrap_or_default(),
            usage: previous.map(|p| p.usage.clone()).unwrap_or_default(),
            limits,
            grants,
        }
    }

    /// Calls of this plugin running now.
    pub fn calls_in_flight(&self) -> usize {
        self.limits.max_concurrency as usize - self.permits.available_permits()
    }
}

/// A call's place in its plugin's and the pool's gates, taken before anything else is done
/// for the call (the body is not read yet), and held until the call ends.
pub struct Admission {
    _plugin: OwnedSemaphorePermit,
    _pool: OwnedSemaphorePermit,
}

impl Runtime {
    /// Admits one call of the plugin in `sandbox`, or fails at once, rather than queueing
    /// without bound, when the plugin already runs `max_concurrency` calls
    /// ([`CallError::PluginBusy`]) or the instance pool is full ([`CallError::Busy`]).
    pub fn admit(&self, sandbox: &Sandbox) -> Result<Admission, CallError> {
        let plugin = (sandbox.permits.clone())
            .try_acquire_owned()
            .map_err(|_| CallError::PluginBusy(sandbox.limits.max_concurrency))?;
        let pool = (self.pool_permits.clone())
            .try_acquire_owned()
            .map_err(|_| CallError::Busy)?;
        Ok(Admission {
            _plugin: plugin,
            _pool: pool,
        })
    }

    /// Runs `body` with a fresh store for one admitted call, within the plugin's `sandbox`.
    ///
    /// `body` instantiates and calls the plugin, polled on the scheduler's lanes (never on
    /// the async runtime's workers); the store is dropped afterwards, whatever happened, so no state
    /// survives the call. At `timeout` the caller gets its answer at once; a call still
    /// running then is dropped by the scheduler.
    pub async fn run_call<R: Send + 'static>(
        &self,
        sandbox: &Sandbox,
        admission: Admission,
        timeout: std::time::Duration,
        delivery: super::DeliveryMode,
        body: impl for<'s> FnOnce(&'s mut Store<CallState>) -> CallFuture<'s, R> + Send + 'static,
    ) -> Result<R, CallError> {
        let limits = Limits {
            timeout,
            ..sandbox.limits.clone()
        };
        let caps = self.capabilities.states(&sandbox.grants);
        let turn = Arc::new(Turn::default());
        let started = std::time::Instant::now();
        let deadline = started + limits.timeout;
        let mut store = new_store(
            &self.engine,
            &limits,
            self.settings.fuel,
            caps,
            turn.clone(),
            deadline,
        );
        store.data_mut().delivery = delivery;
        let mut call = Ended {
            store: Some(store),
            admission: Some(admission),
            account: sandbox.account.clone(),
            usage: sandbox.usage.clone(),
            scheduler: self.scheduler.clone(),
        };
        let run = async move {
            let store = call
                .store
                .as_mut()
                .expect("the store lives until the call ends");
            let outcome = body(store).await;
            let result = outcome.map_err(|err| classify(&err, store, &limits));
            // Resetting the instance's memory is work for this plugin's call: done on its
            // lane, and counted as its CPU, not left to the workers.
            drop(call);
            result
        };
        let call = self.scheduler.run(&sandbox.account, turn, run);
        let result = tokio::select! {
            biased;
            result = call => result,
            () = self.deadlines.sleep_until(deadline) => Err(CallError::Timeout(timeout)),
        };
        if let Err(CallError::Timeout(_)) = result {
            self.timeouts
                .record(started.elapsed().saturating_sub(timeout));
        }
        result
    }
}

/// A plugin call's future over its store, as `run_call` takes it.
pub type CallFuture<'s, R> =
    std::pin::Pin<Box<dyn std::future::Future<Output = wasmtime::Result<R>> + Send + 's>>;

/// What a call holds until it ends, whether it finished, failed or was dropped at its
/// timeout: the capabilities report on the call, its usage is recorded, and its instance
/// slot and admission are given back.
struct Ended {
    store: Option<Store<CallState>>,
    admission: Option<Admission>,
    account: Arc<super::scheduler::Account>,
    usage: Arc<Usage>,
    scheduler: Arc<super::scheduler::Scheduler>,
}

impl Drop for Ended {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        store.data().caps.finish();
        let memory = store.data().limiter.used_bytes();
        self.usage.record(self.account.cpu_time(), memory);
        self.account.call_ended();
        let admission = self.admission.take();
        // Giving back a large memory to the pool (resetting its pages) takes milliseconds
        // that nothing interrupts: on the long lane, so quick calls do not wait for it. The
        // admission is held until the instance's slot is free again.
        if memory > DROP_ON_LONG_LANE_BYTES && !super::scheduler::on_long_lane() {
            (self.scheduler).run_long(&self.account, async move { drop((store, admission)) });
        }
    }
}

/// Memory above which a store is dropped on the long lane rather than the quick one.
const DROP_ON_LONG_LANE_BYTES: usize = 8 << 20;

fn classify(err: &wasmtime::Error, store: &Store<CallState>, limits: &Limits) -> CallError {
    // Every pool slot of some kind (core instances, memories, tables) is taken: the call
    // could run a moment later, so it is busy, not broken.
    if err
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return CallError::Busy;
    }
    if is_transfer_refused(err) {
        return CallError::TransferTooLarge(store.hostcall_fuel());
    }
    if let Some(asked) = store.data().limiter.exceeded {
        return CallError::OutOfMemory {
            asked_mb: asked.div_ceil(1 << 20),
            limit_mb: limits.memory_bytes >> 20,
        };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::StackOverflow) => CallError::StackOverflow,
        Some(Trap::Interrupt) => CallError::Timeout(limits.timeout),
        Some(Trap::OutOfFuel) => CallError::OutOfFuel(limits.fuel.unwrap_or(u64::MAX)),
        Some(trap) => CallError::Trap(trap.to_string()),
        None => CallError::Trap(err.root_cause().to_string()),
    }
}

/// Whether wasmtime refused to copy what the plugin passed because it was over the call's
/// transfer budget (`Store::set_hostcall_fuel`). Its error type is private: its text, pinned
/// with wasmtime, is what can be matched (tests/sandbox.rs fails if it changes).
fn is_transfer_refused(err: &wasmtime::Error) -> bool {
    err.chain().any(|e| {
        e.to_string()
            .contains("fuel allocated for hostcalls has been exhausted")
    })
}

/// The most headers an inbound response may have, and their most bytes in all.
pub const MAX_INBOUND_HEADERS: usize = 100;
pub const MAX_INBOUND_HEADER_BYTES: usize = 64 << 10;

/// What a plugin's JSON reply must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyShape {
    /// One JSON object (a bot's comment).
    Object,
    /// Any JSON value.
    Any,
}

/// Checks a reply before it goes anywhere: within `max_reply_bytes`, and JSON of `shape`
/// (garbage is never forwarded to Pyrus), or an inbound response with a real status.
pub(crate) fn check(
    result: Result<Reply, PluginError>,
    shape: ReplyShape,
    limits: &Limits,
) -> Result<Reply, CallError> {
    let too_large = |len: usize| CallError::ReplyTooLarge(len, limits.max_reply_bytes);
    match result.map_err(CallError::Plugin)? {
        Reply::Json(Some(json)) => {
            if json.len() > limits.max_reply_bytes {
                return Err(too_large(json.len()));
            }
            check_reply(&json, shape)?;
            Ok(Reply::Json(Some(json)))
        }
        Reply::Json(None) => Ok(Reply::Json(None)),
        Reply::Inbound(response) => {
            let InboundResponse {
                status,
                headers,
                body,
            } = &response;
            if !(100..=599).contains(status) {
                return Err(CallError::InvalidReply(format!(
                    "inbound status {status} is not an HTTP status"
                )));
            }
            if body.len() > limits.max_reply_bytes {
                return Err(too_large(body.len()));
            }
            let header_bytes: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
            if headers.len() > MAX_INBOUND_HEADERS || header_bytes > MAX_INBOUND_HEADER_BYTES {
                return Err(CallError::InvalidReply(format!(
                    "inbound response headers over {MAX_INBOUND_HEADERS} or {} KiB",
                    MAX_INBOUND_HEADER_BYTES >> 10
                )));
            }
            Ok(Reply::Inbound(response))
        }
    }
}

/// Whether `reply` is JSON of `shape` (public for the fuzz target). Numbers must fit a double:
/// `4e999` is JSON by its grammar, but Pyrus (and most parsers) cannot read it.
pub fn check_reply(reply: &str, shape: ReplyShape) -> Result<(), CallError> {
    let kind = serde_json::from_str::<Checked>(reply)
        .map_err(|e| CallError::InvalidReply(e.to_string()))?;
    if shape == ReplyShape::Object && kind.0 != JsonKind::Object {
        return Err(CallError::InvalidReply("expected a JSON object".into()));
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum JsonKind {
    Object,
    Other,
}

/// A JSON value checked without building it: what kind it is, nothing else kept.
struct Checked(JsonKind);

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> serde::de::Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, Checked>()?
            .is_some()
        {}
        Ok(Checked(JsonKind::Object))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked(JsonKind::Other))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked(JsonKind::Other))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked(JsonKind::Other))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked(JsonKind::Other))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Checked, E> {
        // serde_json already refuses out-of-range numbers; keep the rule if that changes.
        if v.is_finite() {
            Ok(Checked(JsonKind::Other))
        } else {
            Err(E::custom("number out of range"))
        }
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked(JsonKind::Other))
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked(JsonKind::Other))
    }
}

#[cfg(test)]
mod tests {
    use super::{check_reply, ReplyShape};

    #[test]
    fn bot_reply_must_be_a_json_object() {
        assert!(check_reply(
            r#"{"text":"hi","field_updates":[{"id":1}]}"#,
            ReplyShape::Object
        )
        .is_ok());
        assert!(check_reply("{}", ReplyShape::Object).is_ok());
        for bad in ["", "hello", "[1]", "\"text\"", "{\"a\":", "null"] {
            assert!(
                check_reply(bad, ReplyShape::Object).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn other_replies_must_be_json() {
        assert!(check_reply("[1]", ReplyShape::Any).is_ok());
        assert!(check_reply("{}", ReplyShape::Any).is_ok());
        assert!(check_reply("nope", ReplyShape::Any).is_err());
    }

    /// Found by the `reply` fuzz target: a number past f64's range passed the check
    /// although no JSON parser downstream reads it.
    #[test]
    fn numbers_out_of_range_are_refused() {
        for bad in [r#"{"a":4e999}"#, r#"{"a":[-1e400]}"#, "4e999"] {
            assert!(
                check_reply(bad, ReplyShape::Any).is_err(),
                "{bad:?} accepted"
            );
        }
        assert!(check_reply(
            r#"{"a":1.7e308,"b":-5,"c":18446744073709551615}"#,
            ReplyShape::Object
        )
        .is_ok());
        assert!(check_reply(r#"{"a":{"b":[null,true,"x\u00e9"]}}"#, ReplyShape::Object).is_ok());
    }
}
