//! Guest bindings generated from `wit/` (`pyrus:plugin@0.2.0`), one module per world. Plugin
//! authors use [`export_bot!`](crate::export_bot) and
//! [`export_extension!`](crate::export_extension) rather than these directly.
//!
//! Every world lives in every plugin's dependency graph without harm: with a public export
//! macro, wit-bindgen records a world's exports only where its export macro is invoked, so a
//! component exports exactly the world its author chose.
//!
//! `wit/deps/` also holds the frozen `pyrus:plugin@0.1.0`, so wit-bindgen names the package's
//! Rust module after its version: `pyrus::plugin0_2_0`.
//!
//! The worlds import `wasi:http/outgoing-handler`; its interfaces (and the `wasi:io` and
//! `wasi:clocks` ones it uses) are the [`wasip2`] crate's, which [`http`](crate::http) calls,
//! so no second copy of the WASI bindings is generated.

/// The `bot-plugin` world. The imports the three worlds share (`types`, `log`,
/// `wasi:keyvalue`, `wasi:config`) are generated here.
#[doc(hidden)]
pub mod bot_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "bot-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_bot_world",
        with: {
            "wasi:keyvalue/store@0.2.0-draft": generate,
            "wasi:keyvalue/atomics@0.2.0-draft": generate,
            "wasi:keyvalue/batch@0.2.0-draft": generate,
            "wasi:config/store@0.2.0-draft": generate,
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/streams@0.2.12": wasip2::io::streams,
            "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
            "wasi:http/types@0.2.12": wasip2::http::types,
            "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        },
    });
}

/// The `extension-plugin` world. Its imports are the bot world's. The
/// `extension-inbound-plugin` world reuses its `extension` export.
#[doc(hidden)]
pub mod extension_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "extension-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_extension_world",
        with: {
            "pyrus:plugin/types@0.2.0": super::bot_world::pyrus::plugin0_2_0::types,
            "pyrus:plugin/log@0.2.0": super::bot_world::pyrus::plugin0_2_0::log,
            "wasi:keyvalue/store@0.2.0-draft": super::bot_world::wasi::keyvalue::store,
            "wasi:keyvalue/atomics@0.2.0-draft": super::bot_world::wasi::keyvalue::atomics,
            "wasi:keyvalue/batch@0.2.0-draft": super::bot_world::wasi::keyvalue::batch,
            "wasi:config/store@0.2.0-draft": super::bot_world::wasi::config::store,
            "wasi:io/error@0.2.12": wasip2::io::error,
            "wasi:io/poll@0.2.12": wasip2::io::poll,
            "wasi:io/streams@0.2.12": wasip2::io::streams,
            "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
            "wasi:http/types@0.2.12": wasip2::http::types,
            "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        },
    });
}

/// The `extension-inbound-plugin` world: the extension world plus the `inbound` export.
///
/// wit-bindgen defines one crate-wide macro per exported interface, so only one world of a
/// crate may export `extension`: generating the `extension-inbound-plugin` world next to the
/// `extension-plugin` one does not compile. This module therefore generates only the
/// `inbound` export (from a world of the SDK's own that exports nothing else), and its
/// [`__export_extension_inbound_world!`](crate::__export_extension_inbound_world) invokes
/// both the extension world's export macro and this one. wit-component unions the two
/// worlds the component embeds, so the component exports exactly what
/// `extension-inbound-plugin` says: `extension` and `inbound`, with the same imports.
#[doc(hidden)]
pub mod extension_inbound_world {
    wit_bindgen::generate!({
        path: "../wit",
        inline: "
            package pyrus:sdk;

            /// What `extension-inbound-plugin` exports beyond `extension-plugin`.
            world inbound-export {
                export pyrus:plugin/inbound@0.2.0;
            }
        ",
        world: "pyrus:sdk/inbound-export",
        pub_export_macro: true,
        export_macro_name: "__export_inbound_only",
        with: {
            "pyrus:plugin/types@0.2.0": super::bot_world::pyrus::plugin0_2_0::types,
        },
    });

    pub use crate::__export_extension_inbound_world;
}

/// Exports `$ty` as the `extension-inbound-plugin` world: `$ty` implements both the
/// extension world's `extension::Guest` and this world's `inbound::Guest`. Takes the same
/// arguments as wit-bindgen's export macros (the types path is implied).
#[doc(hidden)]
#[macro_export]
macro_rules! __export_extension_inbound_world {
    ($ty:ident) => {
        $crate::bindings::extension_world::__export_extension_world!(
            $ty with_types_in $crate::bindings::extension_world
        );
        $crate::bindings::extension_inbound_world::__export_inbound_only!(
            $ty with_types_in $crate::bindings::extension_inbound_world
        );
    };
    ($ty:ident with_types_in $($path:tt)*) => {
        $crate::__export_extension_inbound_world!($ty);
    };
}

use bot_world::pyrus::plugin0_2_0::types as wit;
use extension_inbound_world::exports::pyrus::plugin0_2_0::inbound as wit_inbound;

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

use extension_world::exports::pyrus::plugin0_2_0::extension::Method as WitMethod;

impl From<WitMethod> for crate::extension::Method {
    fn from(method: WitMethod) -> Self {
        match method {
            WitMethod::Pulse => Self::Pulse,
            WitMethod::Authorize => Self::Authorize,
            WitMethod::Toggle => Self::Toggle,
            WitMethod::Event => Self::Event,
            WitMethod::SendMessage => Self::SendMessage,
            WitMethod::CreateDialog => Self::CreateDialog,
            WitMethod::GetAvailableNumbers => Self::GetAvailableNumbers,
            WitMethod::Other(name) => Self::Other(name),
        }
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
    request: wit_inbound::InboundRequest,
) -> Result<wit_inbound::InboundResponse, wit::PluginError> {
    let request = crate::InboundRequest {
        method: request.method,
        path: request.path,
        query: request.query,
        headers: request.headers,
        body: request.body,
    };
    E::inbound(request, &call_info(info))
        .map(|r| wit_inbound::InboundResponse {
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
