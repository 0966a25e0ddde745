//! Guest bindings generated from `wit/`, one module per world. Plugin authors use
//! [`export_bot!`](crate::export_bot) and
//! [`export_extension!`](crate::export_extension) rather than these directly.
//!
//! Both worlds live in every plugin's dependency graph without harm: with a public export
//! macro, wit-bindgen records a world's exports only where its export macro is invoked, so a
//! component exports exactly the world its author chose.

#[doc(hidden)]
pub mod bot_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "bot-plugin",
        // The vendored WASI interfaces (wasi:keyvalue, wasi:config) are generated here.
        generate_all,
        pub_export_macro: true,
        export_macro_name: "__export_bot_world",
    });
}

/// The `extension-plugin` world. Its imports (`types`, `log`, `wasi:keyvalue`, `wasi:config`)
/// are the bot world's.
#[doc(hidden)]
pub mod extension_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "extension-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_extension_world",
        with: {
            "pyrus:plugin/types@0.1.0": super::bot_world::pyrus::plugin::types,
            "pyrus:plugin/log@0.1.0": super::bot_world::pyrus::plugin::log,
            "wasi:keyvalue/store@0.2.0-draft": super::bot_world::wasi::keyvalue::store,
            "wasi:keyvalue/atomics@0.2.0-draft": super::bot_world::wasi::keyvalue::atomics,
            "wasi:keyvalue/batch@0.2.0-draft": super::bot_world::wasi::keyvalue::batch,
            "wasi:config/store@0.2.0-draft": super::bot_world::wasi::config::store,
        },
    });
}

use bot_world::pyrus::plugin::types as wit;

fn call_info(info: wit::CallInfo) -> crate::CallInfo {
    crate::CallInfo {
        name: info.name,
        attempt: info.attempt,
        max_attempts: info.max_attempts,
        user_agent: info.user_agent,
        settings: info.settings,
    }
}

fn plugin_error(e: crate::PluginError) -> wit::PluginError {
    wit::PluginError {
        code: e.code,
        message: e.message,
        status: e.status,
    }
}

#[doc(hidden)]
pub fn extension_dispatch<E: crate::Extension>(
    method: crate::extension::Method,
    info: wit::CallInfo,
    request: String,
) -> Result<Option<String>, wit::PluginError> {
    crate::extension::handle_json::<E>(method, &call_info(info), request).map_err(plugin_error)
}

#[doc(hidden)]
pub fn extension_inbound<E: crate::Extension>(
    info: wit::CallInfo,
    request: wit::InboundRequest,
) -> Result<wit::InboundResponse, wit::PluginError> {
    let request = crate::InboundRequest {
        method: request.method,
        path: request.path,
        query: request.query,
        headers: request.headers,
        body: request.body,
    };
    E::inbound(request, &call_info(info))
        .map(|r| wit::InboundResponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
        })
        .map_err(plugin_error)
}

#[doc(hidden)]
pub fn bot_dispatch<B: crate::Bot>(
    info: wit::CallInfo,
    request: String,
) -> Result<Option<String>, wit::PluginError> {
    crate::bot::handle_json::<B>(&call_info(info), request).map_err(plugin_error)
}
