//! `wasi:config/store`: a plugin's `variables` from the host config. Values that came from
//! the environment or a file are secrets: the host never logs any value, and `Debug` of the
//! grant redacts them all.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::Linker;

use super::{Capability, Entry, GrantError, HasState, Section, View, ViewOf};
use crate::secret::{Secret, SecretSource};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/deps/config",
        world: "wasi:config/imports",
        imports: { default: trappable },
    });
}

use bindings::wasi::config::store;

/// `[bots.X.variables]`: each a string, or a secret source (`{ env }` / `{ file }`).
pub struct Variables;

/// The plugin's variables by name.
pub type VariableMap = Arc<BTreeMap<String, Secret>>;

impl Capability for Variables {
    const NAME: &'static str = "variables";
    const KEYS: &'static [&'static str] = &["variables"];
    type Settings = ();
    type Grant = VariableMap;
    type State = VariableMap;

    fn settings(_: Section) -> Result<(), GrantError> {
        Ok(())
    }

    fn grant(entry: &mut Entry<'_>) -> Result<VariableMap, GrantError> {
        let raw: BTreeMap<String, toml::Value> = entry.take("variables")?.unwrap_or_default();
        let mut out = BTreeMap::new();
        for (name, value) in raw {
            let key = entry.key_of(&format!("variables.{name}"));
            let value = match value {
                toml::Value::String(text) => Secret::new(text.as_bytes()),
                other => {
                    let source: SecretSource = other.try_into().map_err(|_| {
                        GrantError::new(
                            &key,
                            "a variable is a string, { env = \"VAR\" } or { file = \"PATH\" }",
                        )
                    })?;
                    entry.secret(&key, &source)?
                }
            };
            out.insert(name, value);
        }
        Ok(Arc::new(out))
    }

    async fn open(_: &(), _: &[&VariableMap]) -> anyhow::Result<Variables> {
        Ok(Variables)
    }

    fn closed(_: &()) -> Variables {
        Variables
    }

    fn link<T: HasState<Self>>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        store::add_to_linker::<T, ViewOf<Self>>(linker, <T as HasState<Self>>::view)
    }

    fn state(&self, grant: &VariableMap) -> VariableMap {
        grant.clone()
    }

    fn describe(grant: &VariableMap) -> Option<String> {
        (!grant.is_empty()).then(|| {
            let names: Vec<&str> = grant.keys().map(String::as_str).collect();
            format!("variables {}", names.join(", "))
        })
    }
}

type ConfigResult<T> = wasmtime::Result<Result<T, store::Error>>;

impl store::Host for View<'_, VariableMap> {
    fn get(&mut self, key: String) -> ConfigResult<Option<String>> {
        Ok(Ok(self.state.get(&key).map(expose)))
    }

    fn get_all(&mut self) -> ConfigResult<Vec<(String, String)>> {
        let all = self
            .state
            .iter()
            .map(|(k, v)| (k.clone(), expose(v)))
            .collect();
        Ok(Ok(all))
    }
}

fn expose(secret: &Secret) -> String {
    String::from_utf8_lossy(secret.expose()).into_owned()
}
