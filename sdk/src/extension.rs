//! Writing an extension: implement [`Extension`] (only the methods you use), then
//! [`export_extension!`](crate::export_extension).
//!
//! The component exports `pyrus:plugin/extension@0.2.0`, one entry point that Pyrus's
//! webhooks reach with their [`Method`]; the exported function parses the body, calls the
//! trait's method for it, and serializes the reply ([`handle_json`] does the same natively).
//! A method the extension does not implement answers [`not_supported`], which the host turns
//! into a 501, so Pyrus knows the extension does not offer it. So does a webhook this
//! version of the contract does not name ([`Method::Other`]).
//!
//! An extension that also takes calls from the external system it bridges implements
//! [`Extension::inbound`] and exports with `export_extension!(MyExtension, inbound)`: the
//! component then also exports `pyrus:plugin/inbound@0.2.0` (world
//! `extension-inbound-plugin`), and the host config must set `inbound = true`.
//! `export_extension!(MyExtension)` exports no inbound handler at all (world
//! `extension-plugin`).

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

    /// A call from the external system, on `/extensions/NAME/inbound/...`. Called only when
    /// the extension is exported with `export_extension!(MyExtension, inbound)` and the host
    /// config sets `inbound = true`. Verify the caller: Pyrus does not sign these.
    /// Default: 404.
    fn inbound(
        _req: crate::InboundRequest,
        _call: &CallInfo,
    ) -> Result<crate::InboundResponse, PluginError> {
        Err(not_supported("inbound").with_status(404))
    }
}

/// The error an unimplemented method answers: code `not_supported`, status 501.
///
/// ```
/// let e = pyrus_plugin_sdk::extension::not_supported("createdialog");
/// assert_eq!((e.code.as_str(), e.status), ("not_supported", Some(501)));
/// assert_eq!(e.message, "this extension does not implement /createdialog");
/// ```
pub fn not_supported(method: &str) -> PluginError {
    PluginError::new(
        "not_supported",
        format!("this extension does not implement /{method}"),
    )
    .with_status(501)
}

/// The webhook a call is for, as the host hands it over; for [`handle_json`].
///
/// ```
/// use pyrus_plugin_sdk::extension::{handle_json, Method};
/// use pyrus_plugin_sdk::{CallInfo, Extension};
///
/// struct Quiet;
/// impl Extension for Quiet {}
///
/// let call = CallInfo::new("quiet");
/// assert_eq!(handle_json::<Quiet>(Method::Pulse, &call, String::new()).unwrap(), None);
/// // A webhook this SDK does not know is declined like an unimplemented one.
/// let e = handle_json::<Quiet>(Method::Other("newwebhook".into()), &call, "{}".into());
/// assert_eq!(e.unwrap_err().status, Some(501));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `GET /pulse`, with an empty body.
    Pulse,
    /// `POST /authorize`.
    Authorize,
    /// `POST /toggle`.
    Toggle,
    /// `POST /event`.
    Event,
    /// `POST /sendmessage`.
    SendMessage,
    /// `POST /createdialog`.
    CreateDialog,
    /// `POST /getavailablenumbers`.
    GetAvailableNumbers,
    /// A webhook the contract does not name, by its URL segment in lower case (a later host
    /// can hand new webhooks to plugins built against this SDK). Always `not_supported`.
    Other(String),
}

/// Parses the body for `method`, runs `E`, and serializes the reply: what the exported
/// `handle` does. Call it in native tests.
///
/// ```
/// use pyrus_plugin_sdk::extension::{handle_json, Method};
/// use pyrus_plugin_sdk::{CallInfo, Extension, PluginError, SendMessageReply, SendMessageRequest};
///
/// struct Sender;
/// impl Extension for Sender {
///     fn send_message(req: SendMessageRequest, _call: &CallInfo)
///         -> Result<SendMessageReply, PluginError> {
///         Ok(SendMessageReply::delivered(format!("{}-1", req.channel()?)))
///     }
/// }
///
/// let call = CallInfo::new("sender");
/// let body = r#"{"channel_id":"c7","message_text":"hi"}"#.to_string();
/// let reply = handle_json::<Sender>(Method::SendMessage, &call, body).unwrap().unwrap();
/// assert!(reply.contains(r#""message_id":"c7-1""#));
/// // The body does not parse: 400 `invalid_request`.
/// let e = handle_json::<Sender>(Method::SendMessage, &call, "[1]".into()).unwrap_err();
/// assert_eq!(e.code, "invalid_request");
/// // Not implemented: 501 `not_supported`.
/// let e = handle_json::<Sender>(Method::Toggle, &call, "{}".into()).unwrap_err();
/// assert_eq!(e.code, "not_supported");
/// ```
pub fn handle_json<E: Extension>(
    method: Method,
    call: &CallInfo,
    body: String,
) -> Result<Option<String>, PluginError> {
    fn parse<T>(r: Result<T, serde_json::Error>) -> Result<T, PluginError> {
        r.map_err(|e| {
            PluginError::bad_request(format!(
                "the body is not understood: {}",
                crate::model::de::json_error(&e)
            ))
        })
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
        Method::Other(name) => return Err(not_supported(&name)),
    })
}

/// Exports a type implementing [`Extension`] as the plugin's
/// `pyrus:plugin/extension@0.2.0` interface. Use it once, in a `cdylib` crate built for
/// `wasm32-wasip2`.
///
/// - `export_extension!(MyExtension)`: the `extension-plugin` world, Pyrus's webhooks only.
/// - `export_extension!(MyExtension, inbound)`: the `extension-inbound-plugin` world, which
///   also exports `pyrus:plugin/inbound@0.2.0`, answered by [`Extension::inbound`], for
///   calls from the external system the extension bridges (the host config must also set
///   `inbound = true`).
///
/// Each webhook reaches the trait method of the same name; those the type does not
/// implement, and webhooks this SDK does not know, answer `not_supported` (501).
///
/// ```no_run
/// struct MyExtension;
/// impl pyrus_plugin_sdk::Extension for MyExtension { /* ... */ }
/// pyrus_plugin_sdk::export_extension!(MyExtension);
/// ```
///
/// An extension that takes inbound calls:
///
/// ```no_run
/// use pyrus_plugin_sdk::{CallInfo, Extension, InboundRequest, InboundResponse, PluginError};
///
/// struct Bridge;
/// impl Extension for Bridge {
///     fn inbound(req: InboundRequest, _call: &CallInfo) -> Result<InboundResponse, PluginError> {
///         Ok(InboundResponse::json(200, &serde_json::json!({"path": req.path})))
///     }
/// }
/// pyrus_plugin_sdk::export_extension!(Bridge, inbound);
/// ```
#[macro_export]
macro_rules! export_extension {
    ($ext:ty) => {
        const _: () = {
            struct __PyrusExtensionExport;

            $crate::__extension_guest!($ext, __PyrusExtensionExport);

            $crate::bindings::extension_world::__export_extension_world!(
                __PyrusExtensionExport with_types_in $crate::bindings::extension_world
            );
        };
    };
    ($ext:ty, inbound) => {
        const _: () = {
            struct __PyrusExtensionExport;

            $crate::__extension_guest!($ext, __PyrusExtensionExport);

            impl $crate::bindings::extension_inbound_world::exports::pyrus::plugin0_2_0::inbound::Guest
                for __PyrusExtensionExport
            {
                fn handle(
                    info: $crate::bindings::bot_world::pyrus::plugin0_2_0::types::CallInfo,
                    request: $crate::bindings::extension_inbound_world::exports::pyrus::plugin0_2_0::inbound::InboundRequest,
                ) -> ::std::result::Result<
                    $crate::bindings::extension_inbound_world::exports::pyrus::plugin0_2_0::inbound::InboundResponse,
                    $crate::bindings::bot_world::pyrus::plugin0_2_0::types::PluginError,
                > {
                    $crate::bindings::extension_inbound::<$ext>(info, request)
                }
            }

            $crate::bindings::extension_inbound_world::__export_extension_inbound_world!(
                __PyrusExtensionExport
            );
        };
    };
}

/// The extension world's `extension::Guest` for `$ext`, on `$export`: for
/// [`export_extension!`](crate::export_extension).
#[doc(hidden)]
#[macro_export]
macro_rules! __extension_guest {
    ($ext:ty, $export:ident) => {
        impl $crate::bindings::extension_world::exports::pyrus::plugin0_2_0::extension::Guest
            for $export
        {
            fn handle(
                info: $crate::bindings::bot_world::pyrus::plugin0_2_0::types::CallInfo,
                method: $crate::bindings::extension_world::exports::pyrus::plugin0_2_0::extension::Method,
                request: ::std::string::String,
            ) -> ::std::result::Result<
                ::std::option::Option<::std::string::String>,
                $crate::bindings::bot_world::pyrus::plugin0_2_0::types::PluginError,
            > {
                $crate::bindings::extension_dispatch::<$ext>(
                    ::std::convert::From::from(method),
                    info,
                    request,
                )
            }
        }
    };
}
