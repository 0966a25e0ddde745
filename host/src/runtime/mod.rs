//! Running plugins: one [`Engine`](wasmtime::Engine) for the process, one linker built
//! once, and per call a fresh [`Store`](wasmtime::Store) with the plugin's limits.
//!
//! Nothing is compiled or linked on the call path: [`plugin::Plugin::new`] does that once,
//! and a call only instantiates the pre-linked component.

pub mod call;
pub mod contract;
pub mod deadline;
pub mod engine;
pub mod error;
pub mod limits;
pub mod os_sched;
pub mod plugin;
pub mod scheduler;
pub mod state;
pub mod usage;

use std::sync::Arc;

use tokio::sync::Semaphore;
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::Engine;

use crate::capabilities::Capabilities;
pub use contract::{
    CallInfo, DeliveryMode, InboundRequest, InboundResponse, Method, Reply, Request,
};
pub use error::{CallError, LoadError};
pub use plugin::Plugin;

/// The process-wide runtime: the engine, its epoch ticker, the linker, the capabilities,
/// and the admission gate in front of the instance pool.
pub struct Runtime {
    engine: Engine,
    /// One linker for every world and contract version.
    linker: Linker<state::CallState>,
    /// The pooling allocator fails at once when it is full; this gate turns that into a
    /// clean "busy" answer before any work is done.
    pool_permits: Arc<Semaphore>,
    settings: engine::EngineSettings,
    capabilities: Capabilities,
    /// Shares the cores between plugins.
    scheduler: Arc<scheduler::Scheduler>,
    /// Wakes a call's caller at its deadline.
    deadlines: deadline::Deadlines,
    /// How late timeouts fired.
    pub timeouts: Lateness,
    _ticker: engine::EpochTicker,
}

/// How many plugin calls run at once (the rest wait their turn in the scheduler): one per
/// core.
pub fn plugin_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The worst delay between a call's deadline and its end, over every timeout so far.
#[derive(Debug, Default)]
pub struct Lateness(std::sync::atomic::AtomicU64);

impl Lateness {
    fn record(&self, late: std::time::Duration) {
        (self.0).fetch_max(late.as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// The worst lateness so far.
    pub fn worst(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl Runtime {
    /// A runtime whose long-lane threads poll calls inside `tokio`'s context.
    pub fn new(
        settings: engine::EngineSettings,
        capabilities: Capabilities,
        tokio: tokio::runtime::Handle,
    ) -> anyhow::Result<Runtime> {
        let engine = engine::new_engine(&settings)?;
        let ticker = engine::EpochTicker::start(&engine);
        let linker = linker(&engine)?;
        Ok(Runtime {
            scheduler: Arc::new(scheduler::Scheduler::new(plugin_threads(), tokio)),
            deadlines: deadline::Deadlines::start(),
            timeouts: Lateness::default(),
            engine,
            linker,
            pool_permits: Arc::new(Semaphore::new(settings.max_instances as usize)),
            settings,
            capabilities,
            _ticker: ticker,
        })
    }

    /// The capabilities this process opened.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine settings this runtime was built with.
    pub fn settings(&self) -> &engine::EngineSettings {
        &self.settings
    }

    /// Instances of the pool running a call now.
    pub fn instances_in_use(&self) -> usize {
        self.settings.max_instances as usize - self.pool_permits.available_permits()
    }

    /// Pre-links a compiled component: it must import nothing the host does not provide.
    pub(crate) fn instantiate_pre(
        &self,
        component: &Component,
        path: &std::path::Path,
    ) -> Result<InstancePre<state::CallState>, LoadError> {
        self.linker
            .instantiate_pre(component)
            .map_err(|e| LoadError::Imports {
                path: path.to_path_buf(),
                reason: format!("{e:#}"),
            })
    }
}

/// WASI (which every wasip2 guest imports; it denies everything), the contract's own
/// interfaces, and every capability's host functions.
fn linker(engine: &Engine) -> anyhow::Result<Linker<state::CallState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    contract::link(&mut linker)?;
    Capabilities::link(&mut linker)?;
    Ok(linker)
}
