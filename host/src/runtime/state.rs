//! What a store holds for one call: the WASI context (empty: no files, env or sockets;
//! stdout/stderr captured for the log), the memory limiter and the log budget.

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::{Limits, MemoryLimiter};
use super::log::LogBudget;
use super::stdio::Captured;

pub struct CallState {
    wasi: WasiCtx,
    pub(crate) stdout: Captured,
    pub(crate) stderr: Captured,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log: LogBudget,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A fresh store for one call, with the plugin's memory limit and an epoch deadline that
/// yields to the async runtime at every tick (the call's timeout is enforced around it).
pub fn new_store(engine: &Engine, limits: &Limits) -> Store<CallState> {
    let stdout = Captured::default();
    let stderr = Captured::default();
    let state = CallState {
        // The builder's defaults deny everything: stdin closed, no args, env, preopened
        // dirs, sockets or name lookups. Only stdout/stderr go somewhere: the host log.
        wasi: WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build(),
        stdout,
        stderr,
        table: ResourceTable::new(),
        limiter: MemoryLimiter::new(limits.memory_bytes),
        log: LogBudget::default(),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|_| Ok(wasmtime::UpdateDeadline::Yield(1)));
    store
}
