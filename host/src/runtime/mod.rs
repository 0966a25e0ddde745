//! Running plugins: one [`Engine`](wasmtime::Engine) for the process, a linker per world built
//! once, and per call a fresh [`Store`](wasmtime::Store) with the plugin's limits.
//!
//! Nothing is compiled or linked on the call path: [`bot::BotPlugin::load`] does that once,
//! and a call only instantiates the pre-linked component.

pub mod bindings;
pub mod bot;
pub mod call;
pub mod engine;
pub mod error;
pub mod extension;
pub mod limits;
pub mod log;
pub mod state;
pub mod stdio;

use std::sync::Arc;

use tokio::sync::Semaphore;
use wasmtime::component::{Component, HasSelf, InstancePre, Linker};
use wasmtime::Engine;

pub use bindings::types::CallInfo;
pub use error::{CallError, LoadError};

/// The process-wide runtime: the engine, its epoch ticker, the linkers, and the admission
/// gate in front of the instance pool.
pub struct Runtime {
    engine: Engine,
    /// One linker for both worlds: they import the same interfaces.
    linker: Linker<state::CallState>,
    /// The pooling allocator fails at once when it is full; this gate turns that into a
    /// clean "busy" answer before any work is done.
    pool_permits: Arc<Semaphore>,
    settings: engine::EngineSettings,
    /// The plugin state backend, when the config grants any plugin a store.
    store: Option<crate::capabilities::keyvalue::Store>,
    _ticker: engine::EpochTicker,
}

impl Runtime {
    pub fn new(settings: engine::EngineSettings) -> anyhow::Result<Runtime> {
        let engine = engine::new_engine(&settings)?;
        let ticker = engine::EpochTicker::start(&engine);
        let linker = linker(&engine)?;
        Ok(Runtime {
            engine,
            linker,
            pool_permits: Arc::new(Semaphore::new(engine::MAX_INSTANCES as usize)),
            settings,
            store: None,
            _ticker: ticker,
        })
    }

    /// Gives plugins granted `key_value_stores` this store.
    pub fn with_store(mut self, store: crate::capabilities::keyvalue::Store) -> Self {
        self.store = Some(store);
        self
    }

    /// The plugin state backend, if any.
    pub fn store(&self) -> Option<&crate::capabilities::keyvalue::Store> {
        self.store.as_ref()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Instances of the pool running a call now.
    pub fn instances_in_use(&self) -> usize {
        engine::MAX_INSTANCES as usize - self.pool_permits.available_permits()
    }

    /// Pre-links a compiled component and checks it against a world with `typed` (a
    /// bindgen `*Pre::new`): the component must export the world's interface and import
    /// nothing the host does not provide.
    pub(crate) fn instantiate_pre<P>(
        &self,
        component: &Component,
        path: &std::path::Path,
        world: &'static str,
        typed: impl FnOnce(InstancePre<state::CallState>) -> wasmtime::Result<P>,
    ) -> Result<P, LoadError> {
        let wrong_world = |e: wasmtime::Error| LoadError::WrongWorld {
            path: path.to_path_buf(),
            world,
            reason: format!("{e:#}"),
        };
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(wrong_world)?;
        typed(pre).map_err(wrong_world)
    }
}

/// WASI (which every wasip2 guest imports) and the host's own interfaces (`log`).
fn linker(engine: &Engine) -> anyhow::Result<Linker<state::CallState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    // Every plugin may import wasi:http; whether a request goes out is decided per call
    // against its allow-list (capabilities::http).
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    bindings::bot::BotPlugin::add_to_linker::<_, HasSelf<state::CallState>>(&mut linker, |s| s)?;
    Ok(linker)
}
