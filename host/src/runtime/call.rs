//! Running one call in a fresh store: admission, the timeout, and turning a wasmtime error
//! into a [`CallError`] that says what happened.

use wasmtime::{Store, Trap};

use super::error::CallError;
use super::limits::Limits;
use super::state::{new_store, CallState};
use super::Runtime;

impl Runtime {
    /// Runs `body` with a fresh store for one call, within `limits`.
    ///
    /// `body` instantiates and calls the plugin; the store is dropped afterwards, whatever
    /// happened, so no state survives the call. Fails at once with [`CallError::Busy`] when
    /// the instance pool is full rather than queueing without bound.
    pub async fn run_call<R>(
        &self,
        limits: &Limits,
        body: impl AsyncFnOnce(&mut Store<CallState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let _permit = self
            .pool_permits
            .try_acquire()
            .map_err(|_| CallError::Busy)?;
        let mut store = new_store(&self.engine, limits);
        let outcome = tokio::time::timeout(limits.timeout, body(&mut store)).await;
        let dropped = store.data().log.dropped();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "plugin log messages over the per-call cap were dropped"
            );
        }
        match outcome {
            Err(_elapsed) => Err(CallError::Timeout(limits.timeout)),
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(classify(&err, &store, limits)),
        }
    }
}

fn classify(err: &wasmtime::Error, store: &Store<CallState>, limits: &Limits) -> CallError {
    if store.data().limiter.exceeded {
        return CallError::OutOfMemory(limits.memory_bytes >> 20);
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::StackOverflow) => CallError::StackOverflow,
        Some(Trap::Interrupt) => CallError::Timeout(limits.timeout),
        Some(trap) => CallError::Trap(trap.to_string()),
        None => CallError::Trap(err.root_cause().to_string()),
    }
}
