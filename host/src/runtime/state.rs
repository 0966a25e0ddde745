//! What a store holds for one call: the WASI context (empty: no files, env or sockets), the
//! memory limiter, and the capabilities' states.

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use std::sync::Arc;

use super::limits::{Limits, MemoryLimiter};
use super::scheduler::Turn;
use crate::capabilities::{CallData, States};

/// The most random bytes one `get-random-bytes` call may ask for; more traps the call.
/// A plugin needs a few dozen bytes (hash seeds, ids, keys).
pub const MAX_RANDOM_BYTES: u64 = 1 << 20;

pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    /// What this call may reach beyond answering, one state per capability.
    pub(crate) caps: States,
    /// Where the call runs, for `pyrus:plugin/delivery`.
    pub(crate) delivery: super::DeliveryMode,
}

impl CallData for CallState {
    fn parts(&mut self) -> (&mut States, &mut ResourceTable) {
        (&mut self.caps, &mut self.table)
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
/// yields at every tick through `turn`, so the scheduler decides when the call goes on. At
/// the first tick past `deadline` the running call is interrupted there and then (a timer
/// around the call covers a call that is waiting for its turn or in a host function).
pub fn new_store(
    engine: &Engine,
    limits: &Limits,
    fuel_enabled: bool,
    caps: States,
    turn: Arc<Turn>,
    deadline: std::time::Instant,
) -> Store<CallState> {
    // The builder's defaults deny everything: stdin closed, no args, env, preopened dirs,
    // sockets or name lookups. Capabilities add only what they own (stdout/stderr capture).
    let mut wasi = WasiCtx::builder();
    // Random bytes are made by the host before the guest gets them: bound what one host
    // call may be asked to allocate and fill (wasmtime-wasi's default is 64 MiB).
    wasi.max_random_size(MAX_RANDOM_BYTES);
    caps.configure_wasi(&mut wasi);
    let transfer = limits.transfer_bytes(caps.max_transfer());
    let state = CallState {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        limiter: MemoryLimiter::new(limits.memory_bytes),
        caps,
        delivery: super::DeliveryMode::Sync,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    // Everything the plugin hands the host (reply, error, host call arguments) is copied
    // out of its memory: bounded here, not by wasmtime's default of 128 MiB per crossing.
    store.set_hostcall_fuel(transfer);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if std::time::Instant::now() >= deadline {
            return Err(wasmtime::Trap::Interrupt.into());
        }
        Ok(wasmtime::UpdateDeadline::YieldCustom(
            1,
            Box::pin(turn.yield_now()),
        ))
    });
    if fuel_enabled {
        // The engine counts fuel for every store once any plugin has a budget; the others
        // get an unlimited one.
        store
            .set_fuel(limits.fuel.unwrap_or(u64::MAX))
            .expect("fuel is enabled on this engine");
    }
    store
}
