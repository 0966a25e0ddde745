//! Writing an extension: implement [`Extension`] (only the methods you use), then
//! [`export_extension!`](crate::export_extension).

use serde::Serialize;

use crate::{
    AuthorizeReply, AuthorizeRequest, CallInfo, ExtensionRequest, PluginError, SendMessageReply,
    SendMessageRequest, ToggleRequest,
};

/// A Pyrus extension. Each method is one webhook Pyrus calls on the extension's base URL.
///
/// Every method has a default: `pulse` answers "alive"; the others answer a `not_supported`
/// error (status 501), so an extension implements only what it uses.
///
/// ```
/// use pyrus_plugin_sdk::{AuthorizeReply, AuthorizeRequest, CallInfo, Extension, PluginError};
///
/// struct Keys;
///
/// impl Extension for Keys {
///     fn authorize(req: AuthorizeRequest, _call: &CallInfo) -> Result<AuthorizeReply, PluginError> {
///         match req.credential("token") {
///             Some(t) if t.len() > 8 => Ok(AuthorizeReply::new(&t[..8], "My account")),
///             _ => Err(PluginError::new("bad_credentials", "the token is not valid")),
///         }
///     }
/// }
/// // In the plugin crate: pyrus_plugin_sdk::export_extension!(Keys);
///
/// use pyrus_plugin_sdk::extension::{handle_json, Method};
/// let call = CallInfo::new("keys");
/// let ok = handle_json::<Keys>(Method::Authorize, &call,
///     r#"{"credentials":[{"code":"token","value":"0123456789"}]}"#.into());
/// assert_eq!(ok.unwrap().unwrap(), r#"{"account_id":"01234567","account_name":"My account"}"#);
/// let not_impl = handle_json::<Keys>(Method::Toggle, &call, "{}".into());
/// assert_eq!(not_impl.unwrap_err().code, "not_supported");
/// ```
pub trait Extension {
    /// `GET /pulse`: is the extension alive? Default: yes.
    fn pulse(_call: &CallInfo) -> Result<(), PluginError> {
        Ok(())
    }

    /// `POST /authorize`: check the credentials, answer the external account.
    fn authorize(_req: AuthorizeRequest, _call: &CallInfo) -> Result<AuthorizeReply, PluginError> {
        Err(not_supported("authorize"))
    }

    /// `POST /toggle`: the extension was enabled, disabled or deleted in a form.
    fn toggle(_req: ToggleRequest, _call: &CallInfo) -> Result<(), PluginError> {
        Err(not_supported("toggle"))
    }

    /// `POST /event`: an event in a task the extension watches.
    fn event(_req: ExtensionRequest, _call: &CallInfo) -> Result<(), PluginError> {
        Err(not_supported("event"))
    }

    /// `POST /sendmessage`: deliver an operator's reply to the external channel.
    fn send_message(
        _req: SendMessageRequest,
        _call: &CallInfo,
    ) -> Result<SendMessageReply, PluginError> {
        Err(not_supported("sendmessage"))
    }

    /// `POST /createdialog`: an operator starts a conversation from Pyrus. Answer any JSON.
    fn create_dialog(
        _req: ExtensionRequest,
        _call: &CallInfo,
    ) -> Result<Option<serde_json::Value>, PluginError> {
        Err(not_supported("createdialog"))
    }

    /// `POST /getavailablenumbers`: a telephony extension lists its numbers. Answer any JSON.
    fn get_available_numbers(
        _req: ExtensionRequest,
        _call: &CallInfo,
    ) -> Result<serde_json::Value, PluginError> {
        Err(not_supported("getavailablenumbers"))
    }

    /// A call from the external system, on `/extensions/NAME/inbound/...` (only when the
    /// host config sets `inbound = true`). Verify the caller: Pyrus does not sign these.
    /// Default: 404.
    fn inbound(
        _req: crate::InboundRequest,
        _call: &CallInfo,
    ) -> Result<crate::InboundResponse, PluginError> {
        Err(not_supported("inbound").with_status(404))
    }
}

/// The error an unimplemented method answers.
pub fn not_supported(method: &str) -> PluginError {
    PluginError::new(
        "not_supported",
        format!("this extension does not implement /{method}"),
    )
    .with_status(501)
}

/// The webhooks, for [`handle_json`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Pulse,
    Authorize,
    Toggle,
    Event,
    SendMessage,
    CreateDialog,
    GetAvailableNumbers,
}

/// Parses the body for `method`, runs `E`, and serializes the reply: what the exported
/// functions do. Call it in native tests.
pub fn handle_json<E: Extension>(
    method: Method,
    call: &CallInfo,
    body: String,
) -> Result<Option<String>, PluginError> {
    fn parse<T>(r: Result<T, serde_json::Error>) -> Result<T, PluginError> {
        r.map_err(|e| PluginError::bad_request(format!("the body is not understood: {e}")))
    }
    fn json(value: impl Serialize) -> Option<String> {
        Some(serde_json::to_string(&value).expect("replies always serialize"))
    }
    Ok(match method {
        Method::Pulse => E::pulse(call).map(|()| None)?,
        Method::Authorize => json(E::authorize(parse(AuthorizeRequest::parse(&body))?, call)?),
        Method::Toggle => E::toggle(parse(ToggleRequest::parse(&body))?, call).map(|()| None)?,
        Method::Event => E::event(parse(ExtensionRequest::parse(&body))?, call).map(|()| None)?,
        Method::SendMessage => json(E::send_message(
            parse(SendMessageRequest::parse(&body))?,
            call,
        )?),
        Method::CreateDialog => {
            E::create_dialog(parse(ExtensionRequest::parse(&body))?, call)?.and_then(json)
        }
        Method::GetAvailableNumbers => json(E::get_available_numbers(
            parse(ExtensionRequest::parse(&body))?,
            call,
        )?),
    })
}

/// Exports a type implementing [`Extension`] as the plugin's `pyrus:plugin/extension`
/// interface. Use it once, in a `cdylib` crate built for `wasm32-wasip2`.
///
/// ```ignore
/// struct MyExtension;
/// impl pyrus_plugin_sdk::Extension for MyExtension { /* ... */ }
/// pyrus_plugin_sdk::export_extension!(MyExtension);
/// ```
#[macro_export]
macro_rules! export_extension {
    ($ext:ty) => {
        const _: () = {
            use $crate::bindings::extension_world::exports::pyrus::plugin::extension::Guest;
            // The extension world shares the bot world's `types`.
            use $crate::bindings::bot_world::pyrus::plugin::types::{CallInfo, PluginError};
            use $crate::extension::Method;

            struct __PyrusExtensionExport;

            type Reply =
                ::std::result::Result<::std::option::Option<::std::string::String>, PluginError>;

            fn run(method: Method, info: CallInfo, body: ::std::string::String) -> Reply {
                $crate::bindings::extension_dispatch::<$ext>(method, info, body)
            }

            impl Guest for __PyrusExtensionExport {
                fn pulse(info: CallInfo) -> Reply {
                    run(Method::Pulse, info, ::std::string::String::new())
                }
                fn authorize(info: CallInfo, request: ::std::string::String) -> Reply {
                    run(Method::Authorize, info, request)
                }
                fn toggle(info: CallInfo, request: ::std::string::String) -> Reply {
                    run(Method::Toggle, info, request)
                }
                fn event(info: CallInfo, request: ::std::string::String) -> Reply {
                    run(Method::Event, info, request)
                }
                fn send_message(info: CallInfo, request: ::std::string::String) -> Reply {
                    run(Method::SendMessage, info, request)
                }
                fn create_dialog(info: CallInfo, request: ::std::string::String) -> Reply {
                    run(Method::CreateDialog, info, request)
                }
                fn get_available_numbers(info: CallInfo, request: ::std::string::String) -> Reply {
                    run(Method::GetAvailableNumbers, info, request)
                }
                fn inbound(
                    info: CallInfo,
                    request: $crate::bindings::bot_world::pyrus::plugin::types::InboundRequest,
                ) -> ::std::result::Result<
                    $crate::bindings::bot_world::pyrus::plugin::types::InboundResponse,
                    PluginError,
                > {
                    $crate::bindings::extension_inbound::<$ext>(info, request)
                }
            }

            $crate::bindings::extension_world::__export_extension_world!(
                __PyrusExtensionExport with_types_in $crate::bindings::extension_world
            );
        };
    };
}
