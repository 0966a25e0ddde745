//! The loaded plugins by name. A call takes a snapshot (`Arc<Registry>`) and keeps it for the
//! whole call, so replacing the registry never changes a plugin under a running call.
//!
//! A registry is built from a config and, on reload, from the previous registry: a plugin
//! whose bytes did not change keeps its compiled code, and a plugin that fails to load keeps
//! serving its previous version while the error is recorded.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use wasmtime::component::Component;

use crate::cache::{self, CompileCache, Source};
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

#[derive(Default)]
pub struct Registry {
    plugins: BTreeMap<Kind, BTreeMap<PluginName, Arc<Loaded>>>,
    /// Plugins whose last load failed, by config key (`bots.hello`), with the error.
    errors: BTreeMap<String, String>,
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
}

impl Registry {
    /// Builds the registry `config` describes, reusing what `previous` already compiled.
    /// Compiles: call it off the request path.
    pub fn build(
        runtime: &Runtime,
        cache: &CompileCache,
        config: &Config,
        previous: Option<&Registry>,
    ) -> (Registry, BuildReport) {
        let mut builder = Builder {
            runtime,
            cache,
            config,
            report: BuildReport::default(),
            components: HashMap::new(),
            errors: BTreeMap::new(),
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
        let registry = Registry {
            plugins,
            errors: builder.errors,
        };
        (registry, builder.report)
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
    /// Compiled components by content hash: a file served under several names, or unchanged
    /// since the previous registry, is compiled at most once.
    components: HashMap<String, Component>,
    errors: BTreeMap<String, String>,
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
                Ok(loaded) => {
                    out.insert(name.clone(), Arc::new(loaded));
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

    fn load(
        &mut self,
        kind: Kind,
        name: &PluginName,
        entry: &PluginConfig,
        old: Option<&Arc<Loaded>>,
    ) -> Result<Loaded, LoadError> {
        let bytes = std::fs::read(&entry.plugin).map_err(|error| LoadError::Read {
            path: entry.plugin.clone(),
            error,
        })?;
        let hash = cache::content_hash(&bytes);
        let component = match self.components.get(&hash) {
            Some(c) => {
                self.report.reused += 1;
                c.clone()
            }
            None => {
                let (component, source) = self
                    .cache
                    .component(self.runtime.engine(), &bytes, &hash)
                    .map_err(|e| LoadError::NotComponent {
                        path: entry.plugin.clone(),
                        reason: format!("{e:#}"),
                    })?;
                match source {
                    Source::Compiled => self.report.compiled += 1,
                    Source::Cached => self.report.cached += 1,
                }
                self.components.insert(hash.clone(), component.clone());
                component
            }
        };
        let plugin = Plugin::new(
            self.runtime,
            &component,
            &entry.plugin,
            kind,
            entry.limits.clone(),
            entry.grants.clone(),
            entry.inbound,
            old.map(|o| &o.plugin),
        )?;
        let (loaded_at, load_count) = match old {
            Some(old) if old.hash == hash => (old.loaded_at, old.load_count),
            Some(old) => (SystemTime::now(), old.load_count + 1),
            None => (SystemTime::now(), 1),
        };
        Ok(Loaded {
            kind,
            name: name.clone(),
            path: entry.plugin.clone(),
            plugin,
            secret: entry.secret.clone(),
            settings: entry.settings.clone(),
            hash,
            loaded_at,
            load_count,
            component,
        })
    }
}
