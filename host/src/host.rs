//! Everything a process runs plugins with, assembled from a config in one place: the
//! capabilities opened, the engine and its linker, the compile cache and the registry.
//! `serve`, `call`, `check` and the bench all start from [`Host::load`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cache::CompileCache;
use crate::capabilities::Capabilities;
use crate::compiler::Compiler;
use crate::config::Config;
use crate::registry::{BuildReport, Registry};
use crate::runtime::Runtime;

/// A loaded host.
pub struct Host {
    pub runtime: Arc<Runtime>,
    pub cache: CompileCache,
    pub registry: Registry,
    /// The background compile pool, when plugins compile in the background.
    pub compiler: Option<Compiler>,
    /// What building the registry did, with the plugins that failed to load.
    pub report: BuildReport,
    /// Capabilities that could not be opened: they stay closed (every use is refused).
    pub capability_errors: Vec<anyhow::Error>,
    /// How long loading the plugins took.
    pub load_time: Duration,
}

impl Host {
    /// Opens the capabilities the config's plugins are granted (on `rt`), creates the
    /// engine, and builds the registry, compiling what the cache lacks. Blocking: call it
    /// outside the async runtime.
    pub fn load(config: &Config, rt: &tokio::runtime::Runtime) -> anyhow::Result<Host> {
        Self::load_with(config, rt, false)
    }

    /// Like [`Host::load`]; with `background`, what the compile cache lacks is left to a
    /// pool of compile threads (one per core), listed in the registry as compiling.
    pub fn load_with(
        config: &Config,
        rt: &tokio::runtime::Runtime,
        background: bool,
    ) -> anyhow::Result<Host> {
        let (capabilities, capability_errors) =
            rt.block_on(Capabilities::open(&config.capabilities, config.grants()));
        let runtime = Arc::new(
            Runtime::new(config.engine_settings(), capabilities, rt.handle().clone())
                .context("cannot create the WebAssembly engine")?,
        );
        let cache = CompileCache::new(runtime.engine(), config.server.cache_dir.clone());
        let compiler = background.then(|| {
            Compiler::start(
                runtime.engine().clone(),
                cache.clone(),
                crate::runtime::plugin_threads(),
            )
        });
        let started = Instant::now();
        let (registry, report) = Registry::build(&runtime, &cache, config, None, compiler.as_ref());
        Ok(Host {
            runtime,
            cache,
            registry,
            compiler,
            report,
            capability_errors,
            load_time: started.elapsed(),
        })
    }

    /// Like [`Host::load_with`], but every capability or plugin that failed is an error:
    /// what serving needs, since there is no previous version to fall back on. (A plugin
    /// left compiling in the background reports its failure when its compile ends.)
    pub fn load_all(
        config: &Config,
        rt: &tokio::runtime::Runtime,
        background: bool,
    ) -> anyhow::Result<Host> {
        let mut host = Host::load_with(config, rt, background)?;
        if let Some(e) = host.capability_errors.drain(..).next() {
            return Err(e);
        }
        if let Some(e) = std::mem::take(&mut host.report.errors).into_iter().next() {
            return Err(e.into());
        }
        Ok(host)
    }
}
