//! `wasi:config/store`: a plugin's `variables` from the host config. Values that came from
//! the environment or a file are secrets: the host never logs any value, and `Debug` of the
//! config redacts them all.

use crate::runtime::bindings::config_store;
use crate::runtime::state::CallState;

type ConfigResult<T> = wasmtime::Result<Result<T, config_store::Error>>;

impl config_store::Host for CallState {
    fn get(&mut self, key: String) -> ConfigResult<Option<String>> {
        let value = self.caps.grants.variables.get(&key).map(expose);
        Ok(Ok(value))
    }

    fn get_all(&mut self) -> ConfigResult<Vec<(String, String)>> {
        let all = self
            .caps
            .grants
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), expose(v)))
            .collect();
        Ok(Ok(all))
    }
}

fn expose(secret: &crate::secret::Secret) -> String {
    String::from_utf8_lossy(secret.expose()).into_owned()
}
