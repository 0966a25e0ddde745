//! The loaded plugins by name. A call takes a snapshot (`Arc<Registry>`) and keeps it for the
//! whole call, so replacing the registry never changes a plugin under a running call.
//!
//! A registry is built from a config and, on reload, from the previous registry: a plugin
//! whose bytes did not change keeps its compiled code, and a plugin that fails to load keeps
//! serving its previous version while the error is recorded.
//!
//! With a [`Compiler`], a build never waits for a compile: a plugin the compile cache lacks
//! is listed as compiling (its previous version, if any, serves meanwhile), and
//! [`Registry::with_compiled`] makes the next registry once its job is done.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use wasmtime::component::Component;

use crate::cache::{self, CompileCache};
use crate::compiler::{Compiler, Job};
use crate::config::{Config, PluginConfig};
use crate::names::{Kind, PluginName};
use crate::runtime::{LoadError, Plugin, Runtime};
use crate::secret::Secret;

/// A plugin ready to serve: the linked plugin, its secret, its config, and which version of
/// the file it runs.
pub struct Loaded {
    pub kind: Kind,
    pub name: PluginName,
    pub path: PathBuf,
    pub plugin: Plugin,
    pub secret: Arc<Secret>,
    pub settings: Option<String>,
    /// Bots: how retries of a call are recognised (`dedup_window_s`).
    pub dedup: crate::delivery::DedupPolicy,
    /// Bots: answered in the webhook, or queued (`mode`).
    pub mode: crate::delivery::Mode,
    /// SHA-1 of the wasm bytes this version was built from.
    pub hash: String,
    /// When this version (these bytes) was first loaded.
    pub loaded_at: SystemTime,
    /// How many versions of the file have been loaded under this name.
    pub load_count: u32,
    component: Component,
}

impl Loaded {
    /// Its config key, `bots.hello`.
    pub fn key(&self) -> String {
        format!("{}.{}", self.kind.section(), self.name)
    }
}

#[derive(Default, Clone)]
pub struct Registry {
    plugins: BTreeMap<Kind, BTreeMap<PluginName, Arc<Loaded>>>,
    /// Plugins whose last load failed, by config key (`bots.hello`), with the error.
    errors: BTreeMap<String, String>,
    /// Plugins whose (new) version is compiling in the background.
    compiling: BTreeMap<(Kind, PluginName), Arc<Compiling>>,
}

/// A plugin waiting for its compile job.
pub struct Compiling {
    pub kind: Kind,
    pub name: PluginName,
    pub job: Arc<Job>,
    /// How long a call may wait for it: the plugin's timeout.
    pub wait: Duration,
    entry: PluginConfig,
    /// The version serving until this one is ready, if any.
    old: Option<Arc<Loaded>>,
}

/// A plugin named in the config that could not be loaded, with the config file and key it
/// came from.
#[derive(Debug, thiserror::Error)]
#[error("{}: {key}: {error}", file.display())]
pub struct RegistryError {
    pub file: PathBuf,
    pub key: String,
    pub error: LoadError,
}

/// What building a registry did.
#[derive(Debug, Default)]
pub struct BuildReport {
    /// Plugins that could not be loaded (those that had a previous version keep serving it).
    pub errors: Vec<RegistryError>,
    pub compiled: usize,
    pub cached: usize,
    pub reused: usize,
    /// Plugins left compiling in the background.
    pub compiling: usize,
}

impl Registry {
    /// Builds the registry `config` describes, reusing what `previous` already compiled and
    /// what the compile cache holds. What needs compiling is compiled here when `compiler`
    /// is None (blocking: call it off the request path), else left to the compiler and listed
    /// in [`Registry::compiling`].
    pub fn build(
        runtime: &Runtime,
        cache: &CompileCache,
        config: &Config,
        previous: Option<&Registry>,
        compiler: Option<&Compiler>,
    ) -> (Registry, BuildReport) {
        let mut builder = Builder {
            runtime,
            cache,
            config,
            compiler,
            report: BuildReport::default(),
            components: HashMap::new(),
            errors: BTreeMap::new(),
            compiling: BTreeMap::new(),
        };
        if let Some(prev) = previous {
            for p in prev.all() {
                builder
                    .components
                    .insert(p.hash.clone(), p.component.clone());
            }
        }
        let plugins = Kind::ALL
            .into_iter()
            .map(|kind| (kind, builder.section(kind, previous)))
            .collect();
        builder.report.compiling = builder.compiling.len();
        let registry = Registry {
            plugins,
            errors: builder.errors,
            compiling: builder.compiling,
        };
        (registry, builder.report)
    }

    /// Plugins compiling in the background now.
    pub fn compiling(&self) -> impl Iterator<Item = &Arc<Compiling>> {
        self.compiling.values()
    }

    /// The compile job of the plugin of `kind` named `name`, if it has one running.
    pub fn compiling_of(&self, kind: Kind, name: &str) -> Option<&Arc<Compiling>> {
        if self.compiling.is_empty() {
            return None;
        }
        let name = PluginName::new(name).ok()?;
        self.compiling.get(&(kind, name))
    }

    /// The registry after `job` finished compiling the plugin of `kind` named `name`: the
    /// plugin served (or its error kept, the previous version serving), as this registry's
    /// config for it says. None when this registry does not wait for `job` for it (a newer
    /// build replaced it, or it was applied) or the job is not done. Links the plugin: call
    /// it off the request path.
    pub fn with_compiled(
        &self,
        runtime: &Runtime,
        kind: Kind,
        name: &PluginName,
        job: &Arc<Job>,
    ) -> Option<(Registry, Result<(), String>)> {
        let key = (kind, name.clone());
        let done = self.compiling.get(&key)?.clone();
        if !Arc::ptr_eq(&done.job, job) {
            return None;
        }
        let compiled = done.job.result()?;
        let mut next = self.clone();
        next.compiling.remove(&key);
        let config_key = format!("{}.{}", done.kind.section(), done.name);
        let linked = compiled.clone().map_err(|reason| LoadError::NotComponent {
            path: done.entry.plugin.clone(),
            reason,
        });
        let linked = linked.and_then(|component| {
            link(
                runtime,
                done.kind,
                &done.name,
                &done.entry,
                component,
                done.job.hash.clone(),
                done.old.as_ref(),
            )
        });
        let outcome = match linked {
            Ok(loaded) => {
                next.errors.remove(&config_key);
                next.plugins
                    .entry(done.kind)
                    .or_default()
                    .insert(done.name.clone(), Arc::new(loaded));
                Ok(())
            }
            Err(e) => {
                let message = format!("{config_key}.plugin: {e}");
                next.errors.insert(config_key, e.to_string());
                Err(message)
            }
        };
        Some((next, outcome))
    }

    /// The plugin of `kind` configured as `name`.
    pub fn get(&self, kind: Kind, name: &str) -> Option<&Arc<Loaded>> {
        self.plugins.get(&kind)?.get(name)
    }

    /// The plugins of `kind`, sorted by name.
    pub fn plugins(&self, kind: Kind) -> impl Iterator<Item = &Arc<Loaded>> {
        self.plugins.get(&kind).into_iter().flat_map(|m| m.values())
    }

    /// Every plugin, bots first.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Loaded>> {
        self.plugins.values().flat_map(|m| m.values())
    }

    /// The last load error of the plugin at config key `key` (`bots.hello`), if it failed.
    pub fn error(&self, key: &str) -> Option<&str> {
        self.errors.get(key).map(String::as_str)
    }

    /// Every plugin whose last load failed, by config key.
    pub fn errors(&self) -> &BTreeMap<String, String> {
        &self.errors
    }
}

struct Builder<'a> {
    runtime: &'a Runtime,
    cache: &'a CompileCache,
    config: &'a Config,
    report: BuildReport,
    compiler: Option<&'a Compiler>,
    /// Compiled components by content hash: a file served under several names, or unchanged
    /// since the previous registry, is compiled at most once.
    components: HashMap<String, Component>,
    errors: BTreeMap<String, String>,
    compiling: BTreeMap<(Kind, PluginName), Arc<Compiling>>,
}

impl Builder<'_> {
    fn section(
        &mut self,
        kind: Kind,
        previous: Option<&Registry>,
    ) -> BTreeMap<PluginName, Arc<Loaded>> {
        let mut out = BTreeMap::new();
        for (name, entry) in self.config.section(kind) {
            let old = previous.and_then(|p| p.get(kind, name.as_str()));
            match self.load(kind, name, entry, old) {
                Ok(Some(loaded)) => {
                    out.insert(name.clone(), Arc::new(loaded));
                }
                Ok(None) => {
                    // Compiling: the previous version, if any, serves meanwhile.
                    if let Some(old) = old {
                        out.insert(name.clone(), old.clone());
                    }
                }
                Err(error) => {
                    let key = format!("{}.{name}", kind.section());
                    self.errors.insert(key.clone(), error.to_string());
                    self.report.errors.push(RegistryError {
                        file: self.config.path.clone(),
                        key: format!("{key}.plugin"),
                        error,
                    });
                    // The previous version, if any, keeps serving.
                    if let Some(old) = old {
                        out.insert(name.clone(), old.clone());
                    }
                }
            }
        }
        out
    }

    /// The plugin loaded, or None when it was left compiling in the background.
    fn load(
        &mut self,
        kind: Kind,
        name: &PluginName,
        entry: &PluginConfig,
        old: Option<&Arc<Loaded>>,
    ) -> Result<Option<Loaded>, LoadError> {
        let bytes = std::fs::read(&entry.plugin).map_err(|error| LoadError::Read {
            path: entry.plugin.clone(),
            error,
        })?;
        let not_component = |reason: String| LoadError::NotComponent {
            path: entry.plugin.clone(),
            reason,
        };
        if !is_component(&bytes) {
            return Err(not_component(
                "the file does not start with a component's header".into(),
            ));
        }
        let hash = cache::content_hash(&bytes);
        let component = if let Some(c) = self.components.get(&hash) {
            self.report.reused += 1;
            c.clone()
        } else if let Some(c) = self.cache.cached(self.runtime.engine(), &hash) {
            self.report.cached += 1;
            self.components.insert(hash.clone(), c.clone());
            c
        } else if let Some(compiler) = self.compiler {
            let job = compiler.submit(&hash, bytes);
            self.compiling.insert(
                (kind, name.clone()),
                Arc::new(Compiling {
                    kind,
                    name: name.clone(),
                    job,
                    wait: entry.limits.timeout,
                    entry: entry.clone(),
                    old: old.cloned(),
                }),
            );
            return Ok(None);
        } else {
            let c = self
                .cache
                .compile(self.runtime.engine(), &bytes, &hash)
                .map_err(|e| not_component(format!("{e:#}")))?;
            self.report.compiled += 1;
            self.components.insert(hash.clone(), c.clone());
            c
        };
        link(self.runtime, kind, name, entry, component, hash, old).map(Some)
    }
}

/// Whether `bytes` start like a component (not a core module, not some other file): checked
/// before anything is compiled, so a wrong file fails at once.
fn is_component(bytes: &[u8]) -> bool {
    // `\0asm`, a version (0x0d 0x00 today), then the component layer (0x01 0x00).
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[6..8] == [0x01, 0x00]
}

/// Links a compiled component as the plugin `entry` describes.
fn link(
    runtime: &Runtime,
    kind: Kind,
    name: &PluginName,
    entry: &PluginConfig,
    component: Component,
    hash: String,
    old: Option<&Arc<Loaded>>,
) -> Result<Loaded, LoadError> {
    let plugin = Plugin::new(
        runtime,
        &component,
        &entry.plugin,
        kind,
        entry.limits.clone(),
        entry.grants.clone(),
        entry.inbound,
        old.map(|o| &o.plugin),
    )?;
    // Linked: the code need not stay resident until the plugin is called.
    crate::cache::release_resident_code(&component);
    let (loaded_at, load_count) = match old {
        Some(old) if old.hash == hash => (old.loaded_at, old.load_count),
        Some(old) => (SystemTime::now(), old.load_count + 1),
        None => (SystemTime::now(), 1),
    };
    // A new version of a served plugin: a mark on its charts.
    if old.is_some_and(|old| old.hash != hash) {
        plugin.sandbox.usage.mark_version(load_count);
    }
    Ok(Loaded {
        kind,
        name: name.clone(),
        path: entry.plugin.clone(),
        plugin,
        secret: entry.secret.clone(),
        settings: entry.settings.clone(),
        dedup: entry.dedup,
        mode: entry.mode.clone(),
        hash,
        loaded_at,
        load_count,
        component,
    })
}
