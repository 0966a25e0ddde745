//! The loaded plugins by name. A call takes a snapshot (`Arc<Registry>`) and keeps it for the
//! whole call, so replacing the registry never changes a plugin under a running call.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::Component;

use crate::config::{Config, PluginConfig};
use crate::names::PluginName;
use crate::runtime::bot::BotPlugin;
use crate::runtime::extension::ExtensionPlugin;
use crate::runtime::{LoadError, Runtime};
use crate::secret::Secret;

/// A plugin ready to serve: the compiled plugin `P`, its secret, and its config.
pub struct Loaded<P> {
    pub name: PluginName,
    pub path: PathBuf,
    pub plugin: P,
    pub secret: Arc<Secret>,
    pub settings: Option<String>,
}

pub type LoadedBot = Loaded<BotPlugin>;
pub type LoadedExtension = Loaded<ExtensionPlugin>;

#[derive(Default)]
pub struct Registry {
    bots: BTreeMap<PluginName, Arc<LoadedBot>>,
    extensions: BTreeMap<PluginName, Arc<LoadedExtension>>,
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

impl Registry {
    /// Loads every plugin the config names. Compiles: call it off the request path.
    pub fn load(runtime: &Runtime, config: &Config) -> Result<Registry, RegistryError> {
        // Several names may serve the same file with different settings: compile it once.
        let mut compiled = HashMap::new();
        Ok(Registry {
            bots: load_section(
                runtime,
                config,
                "bots",
                &config.bots,
                &mut compiled,
                BotPlugin::new,
            )?,
            extensions: load_section(
                runtime,
                config,
                "extensions",
                &config.extensions,
                &mut compiled,
                ExtensionPlugin::new,
            )?,
        })
    }

    pub fn bot(&self, name: &str) -> Option<&Arc<LoadedBot>> {
        self.bots.get(name)
    }

    pub fn extension(&self, name: &str) -> Option<&Arc<LoadedExtension>> {
        self.extensions.get(name)
    }

    /// The bots, sorted by name.
    pub fn bots(&self) -> impl Iterator<Item = &Arc<LoadedBot>> {
        self.bots.values()
    }

    /// The extensions, sorted by name.
    pub fn extensions(&self) -> impl Iterator<Item = &Arc<LoadedExtension>> {
        self.extensions.values()
    }
}

type Link<P> =
    fn(&Runtime, &Component, &Path, crate::runtime::limits::Limits) -> Result<P, LoadError>;

fn load_section<'c, P>(
    runtime: &Runtime,
    config: &'c Config,
    section: &str,
    entries: &'c BTreeMap<PluginName, PluginConfig>,
    compiled: &mut HashMap<&'c Path, Component>,
    link: Link<P>,
) -> Result<BTreeMap<PluginName, Arc<Loaded<P>>>, RegistryError> {
    let mut out = BTreeMap::new();
    for (name, entry) in entries {
        let error = |error| RegistryError {
            file: config.path.clone(),
            key: format!("{section}.{name}.plugin"),
            error,
        };
        let component = match compiled.get(entry.plugin.as_path()) {
            Some(c) => c.clone(),
            None => {
                let c = runtime.compile(&entry.plugin).map_err(error)?;
                compiled.insert(&entry.plugin, c.clone());
                c
            }
        };
        let plugin =
            link(runtime, &component, &entry.plugin, entry.limits.clone()).map_err(error)?;
        out.insert(
            name.clone(),
            Arc::new(Loaded {
                name: name.clone(),
                path: entry.plugin.clone(),
                plugin,
                secret: entry.secret.clone(),
                settings: entry.settings.clone(),
            }),
        );
    }
    Ok(out)
}
