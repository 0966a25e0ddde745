//! The loaded plugins by name. A call takes a snapshot (`Arc<Registry>`) and keeps it for the
//! whole call, so replacing the registry never changes a plugin under a running call.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

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

/// A plugin named in the config that could not be loaded, with the config key it came from.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {source}")]
pub struct RegistryError {
    pub key: String,
    #[source]
    pub source: LoadError,
}

impl Registry {
    /// Loads every plugin the config names. Compiles: call it off the request path.
    pub fn load(runtime: &Runtime, config: &Config) -> Result<Registry, RegistryError> {
        let mut bots = HashMap::new();
        for (name, entry) in &config.bots {
            let bot = load_bot(runtime, name, entry).map_err(|source| RegistryError {
                key: format!("bots.{name}.plugin"),
                source,
            })?;
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
) -> Result<LoadedBot, LoadError> {
    let plugin = BotPlugin::load(runtime, &entry.plugin, entry.limits.clone())?;
    Ok(LoadedBot {
        name: name.clone(),
        path: entry.plugin.clone(),
        plugin,
        secret: entry.secret.clone(),
        settings: entry.settings.clone(),
    })
}
