//! What a capability reads of the config: its keys of one plugin entry ([`Entry`]), with
//! `[defaults]` behind them, and its own top-level section ([`Section`]).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::secret::{Secret, SecretSource, Secrets};

/// A config problem a capability found: the full key and what is wrong. The config adds
/// the file.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct GrantError {
    pub key: String,
    pub problem: String,
}

impl GrantError {
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        GrantError {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// A top-level config section owned by a capability (`[store]`), if the config has it.
pub struct Section {
    pub name: &'static str,
    pub value: Option<toml::Value>,
    /// The config file's folder: relative paths resolve against it.
    pub base: PathBuf,
}

impl Section {
    /// The section of a capability that has none.
    pub fn none() -> Section {
        Section {
            name: "",
            value: None,
            base: PathBuf::new(),
        }
    }

    /// Deserializes the section (its defaults when absent).
    pub fn parse<T: DeserializeOwned + Default>(&self) -> Result<T, GrantError> {
        match &self.value {
            None => Ok(T::default()),
            Some(v) => v
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| GrantError::new(self.name, e.message().to_string())),
        }
    }

    /// The full key of `name` in this section, for errors.
    pub fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.name)
    }
}

/// One `[bots.NAME]` or `[extensions.NAME]` entry, as the capabilities read it: each takes
/// its own keys; whatever nobody takes is an unknown key.
pub struct Entry<'a> {
    key: String,
    namespace: String,
    table: toml::Table,
    defaults: &'a toml::Table,
    base: &'a Path,
    secrets: Secrets,
    /// Secrets that could not be read under [`Secrets::Defer`].
    pub unavailable: Vec<GrantError>,
}

impl<'a> Entry<'a> {
    /// `key` is `bots.hello`; `table` the entry's keys not read by the config itself.
    pub fn new(
        key: String,
        table: toml::Table,
        defaults: &'a toml::Table,
        base: &'a Path,
        secrets: Secrets,
    ) -> Self {
        Entry {
            namespace: key.replacen('.', "/", 1),
            key,
            table,
            defaults,
            base,
            secrets,
            unavailable: Vec::new(),
        }
    }

    /// The entry's key, `bots.hello`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The plugin's own namespace (`bots/hello`), for state that must not mix.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Whether the entry is a bot's.
    pub fn is_bot(&self) -> bool {
        self.key.starts_with("bots.")
    }

    /// The full key of `name` in this entry, for errors.
    pub fn key_of(&self, name: &str) -> String {
        format!("{}.{name}", self.key)
    }

    /// An error about key `name` of this entry.
    pub fn error(&self, name: &str, problem: impl Into<String>) -> GrantError {
        GrantError::new(self.key_of(name), problem)
    }

    /// Takes key `name`: the entry's own value, else `[defaults]`'s.
    pub fn take<T: DeserializeOwned>(&mut self, name: &str) -> Result<Option<T>, GrantError> {
        let (value, key) = match self.table.remove(name) {
            Some(v) => (v, self.key_of(name)),
            None => match self.defaults.get(name) {
                Some(v) => (v.clone(), format!("defaults.{name}")),
                None => return Ok(None),
            },
        };
        value
            .try_into()
            .map(Some)
            .map_err(|e: toml::de::Error| GrantError::new(key, e.message().trim().to_string()))
    }

    /// Reads a secret from its source; under [`Secrets::Defer`] one that cannot be read is
    /// recorded and replaced by an empty placeholder.
    pub fn secret(&mut self, key: &str, source: &SecretSource) -> Result<Secret, GrantError> {
        match source.resolve(self.base) {
            Ok(secret) => Ok(secret),
            Err(e) if self.secrets == Secrets::Defer => {
                self.unavailable.push(GrantError::new(key, e.to_string()));
                Ok(Secret::new(b""))
            }
            Err(e) => Err(GrantError::new(key, e.to_string())),
        }
    }

    /// The keys nobody took.
    pub fn into_rest(self) -> (toml::Table, Vec<GrantError>) {
        (self.table, self.unavailable)
    }
}
