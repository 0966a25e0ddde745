//! The loaded plugins by name. A call takes a snapshot (`Arc<Registry>`) and keeps it for the
//! whole call, so replacing the registry never changes a plugin under a running call.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::Component;

use crate::config::{Config, PluginConfig};
use crate::names::PluginName;
use crate::runtime::bot::BotPlugin;
use crate::runtime::{LoadError, Runtime};
use crate::secret::Secret;

/// A bot ready to serve: its compiled plugin, its secret, and its config.
pub struct LoadedBot {
    pub name: PluginName,
    pub path: PathBuf,
    pub plugin: BotPlugin,
    pub secret: Arc<Secret>,
    pub settings: Option<String>,
}

#[derive(Default)]
pub struct Registry {
    bots: HashMap<PluginName, Arc<LoadedBot>>,
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
        let mut compiled: HashMap<&Path, Component> = HashMap::new();
        let mut bots = HashMap::new();
        for (name, entry) in &config.bots {
            let error = |error| RegistryError {
                file: config.path.clone(),
                key: format!("bots.{name}.plugin"),
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
            let bot = load_bot(runtime, name, entry, &component).map_err(error)?;
            bots.insert(name.clone(), Arc::new(bot));
        }
        Ok(Registry { bots })
    }

    pub fn bot(&self, name: &str) -> Option<&Arc<LoadedBot>> {
        self.bots.get(name)
    }

    /// The bots, sorted by name.
    pub fn bots(&self) -> Vec<&Arc<LoadedBot>> {
        let mut bots: Vec<_> = self.bots.values().collect();
        bots.sort_by(|a, b| a.name.cmp(&b.name));
        bots
    }
}

fn load_bot(
    runtime: &Runtime,
    name: &PluginName,
    entry: &PluginConfig,
    component: &Component,
) -> Result<LoadedBot, LoadError> {
    let plugin = BotPlugin::new(runtime, component, &entry.plugin, entry.limits.clone())?;
    Ok(LoadedBot {
        name: name.clone(),
        path: entry.plugin.clone(),
        plugin,
        secret: entry.secret.clone(),
        settings: entry.settings.clone(),
    })
}
