//! Guest bindings generated from `wit/`, one module per world. Plugin authors use
//! [`export_bot!`](crate::export_bot) rather than these directly.
//!
//! Both worlds live in every plugin's dependency graph without harm: with a public export
//! macro, wit-bindgen records a world's exports only where its export macro is invoked, so a
//! component exports exactly the world its author chose.

#[doc(hidden)]
pub mod bot_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "bot-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_bot_world",
    });
}

#[doc(hidden)]
pub fn bot_dispatch<B: crate::Bot>(
    info: bot_world::pyrus::plugin::types::CallInfo,
    request: String,
) -> Result<Option<String>, bot_world::pyrus::plugin::types::PluginError> {
    let call = crate::CallInfo {
        name: info.name,
        attempt: info.attempt,
        max_attempts: info.max_attempts,
        user_agent: info.user_agent,
        settings: info.settings,
    };
    crate::bot::handle_json::<B>(&call, request).map_err(|e| {
        bot_world::pyrus::plugin::types::PluginError {
            code: e.code,
            message: e.message,
            status: e.status,
        }
    })
}
