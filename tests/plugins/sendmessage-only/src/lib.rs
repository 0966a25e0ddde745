//! A test-only extension that offers nothing but `/sendmessage`: it answers `{"sent":true}`
//! and declines every other method, `pulse` included, with `not_supported` (which the host
//! answers 501). It proves that a plugin exporting only the `extension-plugin` world of
//! `pyrus:plugin@0.2.0` loads and answers the one webhook it implements.
//!
//! It implements the WIT interface directly (not through the SDK's `Extension` trait, whose
//! defaults would answer `pulse`).

use pyrus_plugin_sdk::bindings::bot_world::pyrus::plugin0_2_0::types::{CallInfo, PluginError};
use pyrus_plugin_sdk::bindings::extension_world::exports::pyrus::plugin0_2_0::extension::{
    Guest, Method,
};

struct SendMessageOnly;

impl Guest for SendMessageOnly {
    fn handle(
        _info: CallInfo,
        method: Method,
        _request: String,
    ) -> Result<Option<String>, PluginError> {
        match method {
            Method::SendMessage => Ok(Some(r#"{"sent":true}"#.to_string())),
            _ => Err(PluginError {
                code: "not_supported".into(),
                message: "this extension only sends messages".into(),
                status: None,
            }),
        }
    }
}

pyrus_plugin_sdk::bindings::extension_world::__export_extension_world!(
    SendMessageOnly with_types_in pyrus_plugin_sdk::bindings::extension_world
);
