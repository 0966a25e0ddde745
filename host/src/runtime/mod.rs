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
pub mod limits;
pub mod log;
pub mod state;

use std::sync::Arc;

use tokio::sync::Semaphore;
use wasmtime::Engine;

pub use error::{CallError, LoadError};

/// The process-wide runtime: the engine, its epoch ticker, the linkers, and the admission
/// gate in front of the instance pool.
pub struct Runtime {
    engine: Engine,
    bot_linker: wasmtime::component::Linker<state::CallState>,
    /// The pooling allocator fails at once when it is full; this gate turns that into a
    /// clean "busy" answer before any work is done.
    pool_permits: Arc<Semaphore>,
    _ticker: engine::EpochTicker,
}

impl Runtime {
    pub fn new() -> anyhow::Result<Runtime> {
        let engine = engine::new_engine()?;
        let ticker = engine::EpochTicker::start(&engine);
        let bot_linker = bot::linker(&engine)?;
        Ok(Runtime {
            engine,
            bot_linker,
            pool_permits: Arc::new(Semaphore::new(engine::MAX_INSTANCES as usize)),
            _ticker: ticker,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Reads and compiles the component at `path`. Slow (tens of milliseconds): call it off
    /// the request path, once per file.
    pub fn compile(
        &self,
        path: &std::path::Path,
    ) -> Result<wasmtime::component::Component, LoadError> {
        let bytes = std::fs::read(path).map_err(|error| LoadError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        wasmtime::component::Component::from_binary(&self.engine, &bytes).map_err(|e| {
            LoadError::NotComponent {
                path: path.to_path_buf(),
                reason: format!("{e:#}"),
            }
        })
    }
}
