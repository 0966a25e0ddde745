//! What a store holds for one call: the WASI context (empty: no files, env or sockets;
//! stdout/stderr captured for the log), the memory limiter and the log budget.

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::{Limits, MemoryLimiter};
use super::log::LogBudget;
use super::stdio::Captured;
use crate::capabilities::http::OutboundHooks;
use crate::capabilities::CallCapabilities;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct CallState {
    wasi: WasiCtx,
    pub(crate) stdout: Captured,
    pub(crate) stderr: Captured,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log: LogBudget,
    /// What this call may reach beyond answering (store, variables).
    pub(crate) caps: CallCapabilities,
    http: WasiHttpCtx,
    /// The outbound allow-list and what this call has used of its limits.
    http_hooks: OutboundHooks,
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
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
pub fn new_store(
    engine: &Engine,
    limits: &Limits,
    fuel_enabled: bool,
    caps: CallCapabilities,
) -> Store<CallState> {
    let stdout = Captured::new(limits.max_output_bytes);
    let stderr = Captured::new(limits.max_output_bytes);
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
        log: LogBudget::new(limits.max_log_messages),
        http: WasiHttpCtx::new(),
        http_hooks: OutboundHooks::new(caps.grants.clone()),
        caps,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|_| Ok(wasmtime::UpdateDeadline::Yield(1)));
    if fuel_enabled {
        // The engine counts fuel for every store once any plugin has a budget; the others
        // get an unlimited one.
        store
            .set_fuel(limits.fuel.unwrap_or(u64::MAX))
            .expect("fuel is enabled on this engine");
    }
    store
}
