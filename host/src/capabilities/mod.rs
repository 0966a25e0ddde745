//! What a plugin may do beyond answering, each capability in its own module, granted per
//! plugin in the config and denied by default:
//!
//! - [`keyvalue`]: state in the plugin's own namespace (`wasi:keyvalue`), granted by
//!   `key_value_stores = ["default"]`, kept by a backend (`redb` file or Redis).
//! - [`variables`]: the plugin's `[bots.X.variables]` (`wasi:config/store`).
//! - [`http`]: outbound requests (`wasi:http/outgoing-handler`) to the hosts in its
//!   `allowed_outbound_hosts`.
//!
//! A capability owns its config validation (into [`Grants`]), its host functions (implemented
//! for the call's store state), and its per-call view. The linker gets every capability once,
//! for every plugin: what a plugin may actually do is decided per call from its grants.

pub mod http;
pub mod keyvalue;
pub mod variables;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::secret::Secret;

/// What the config grants one plugin.
#[derive(Debug, Default)]
pub struct Grants {
    /// The plugin's namespace in the store: `bots/NAME` or `extensions/NAME`. Every key it
    /// reads or writes is under it, whatever the plugin asks for.
    pub namespace: String,
    /// The store identifiers the plugin may open (`key_value_stores`); empty: none.
    pub key_value_stores: Vec<String>,
    /// `variables`, by name. Values are redacted in `Debug`.
    pub variables: BTreeMap<String, Secret>,
    /// Where the plugin may send HTTP requests; empty: nowhere.
    pub allowed_outbound_hosts: Vec<http::AllowedHost>,
    pub outbound: http::OutboundLimits,
    /// Extensions only: whether `/extensions/NAME/inbound/...` reaches the plugin.
    pub inbound: bool,
}

impl Grants {
    pub fn new(namespace: String) -> Self {
        Grants {
            namespace,
            ..Grants::default()
        }
    }
}

/// What one call can reach: its plugin's grants and the process's store backend.
#[derive(Clone)]
pub struct CallCapabilities {
    pub grants: Arc<Grants>,
    pub store: Option<keyvalue::Store>,
}
