//! # pyrus-plugin-sdk
//!
//! Write [Pyrus](https://pyrus.com) bots and extensions as WebAssembly components for
//! `pyrus-host`.
//!
//! The host verifies the webhook's signature, then calls your plugin in a fresh sandboxed
//! instance with the JSON body. This crate gives you typed models of that body
//! ([`BotRequest`], [`Task`], [`Field`], [`Comment`], [`Person`]), a [`BotReply`] builder
//! for the answer, and the glue that exports your type as a component.
//!
//! A whole bot (crate type `cdylib`, built with
//! `cargo build --target wasm32-wasip2 --release`):
//!
//! ```no_run
//! use pyrus_plugin_sdk::{export_bot, Bot, BotReply, BotRequest, CallInfo, PluginError};
//!
//! struct Hello;
//!
//! impl Bot for Hello {
//!     fn handle(req: BotRequest, _call: &CallInfo) -> Result<Option<BotReply>, PluginError> {
//!         let who = req.author().and_then(|a| a.email()).unwrap_or("there");
//!         Ok(Some(BotReply::new().text(format!("Hello, {who}.")).approve()))
//!     }
//! }
//!
//! export_bot!(Hello);
//! ```
//!
//! An extension implements [`Extension`] (only the webhooks it uses: the others answer 501
//! `not_supported`) and calls [`export_extension!`]; its request and reply types are
//! [`AuthorizeRequest`], [`AuthorizeReply`], [`ToggleRequest`], [`SendMessageRequest`],
//! [`SendMessageReply`] and [`ExtensionRequest`]. An extension that also takes calls from
//! the system it bridges implements [`Extension::inbound`] ([`InboundRequest`],
//! [`InboundResponse`]) and exports with `export_extension!(MyExtension, inbound)`:
//!
//! ```no_run
//! use pyrus_plugin_sdk::{export_extension, CallInfo, Extension, PluginError};
//! use pyrus_plugin_sdk::{SendMessageReply, SendMessageRequest};
//!
//! struct Echo;
//!
//! impl Extension for Echo {
//!     fn send_message(
//!         req: SendMessageRequest,
//!         _call: &CallInfo,
//!     ) -> Result<SendMessageReply, PluginError> {
//!         Ok(SendMessageReply::delivered(format!("{}-1", req.channel()?)))
//!     }
//! }
//!
//! export_extension!(Echo); // or export_extension!(Echo, inbound)
//! ```
//!
//! Plugins built with this SDK target the contract `pyrus:plugin@0.2.0` (`wit/plugin.wit`):
//! a bot the `bot-plugin` world, an extension `extension-plugin` or, with `inbound`,
//! `extension-inbound-plugin`.
//!
//! Beyond answering, a plugin the host config grants them can keep state in a key-value
//! [`store`], read its [`variables`] (logins, URLs, secrets), send [`http`] requests to
//! allowed hosts, and call [`pyrus`] back through its API.
//!
//! The models compile natively as well: test your logic with plain `cargo test`, through
//! [`bot::handle_json`] on JSON text as Pyrus sends it.

pub mod bindings;
pub mod bot;
mod call;
pub mod delivery;
pub mod extension;
mod headers;
pub mod http;
mod inbound;
pub mod log;
mod model;
pub mod pyrus;
pub mod store;
pub mod variables;

pub use bot::Bot;
pub use call::{CallInfo, PluginError};
pub use extension::Extension;
pub use inbound::{InboundRequest, InboundResponse};
pub use model::*;

/// Compares two secrets (a password, a shared header value) in time that does not depend on
/// where they first differ, so a caller cannot guess them byte by byte.
///
/// ```
/// assert!(pyrus_plugin_sdk::secrets_equal("s3cret", "s3cret"));
/// assert!(!pyrus_plugin_sdk::secrets_equal("s3cret", "s3creT"));
/// assert!(!pyrus_plugin_sdk::secrets_equal("s3cret", "s3c"));
/// ```
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}
