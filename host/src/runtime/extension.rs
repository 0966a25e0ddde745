//! Extension plugins: load a component against the `extension-plugin` world once, then call
//! the export for the webhook Pyrus called, in a fresh instance per call.

use std::fmt;
use std::path::Path;

use std::sync::Arc;

use wasmtime::component::Component;

use super::bindings::extension::ExtensionPluginPre;
use super::bindings::types::{CallInfo, InboundRequest, InboundResponse};
use super::call::{reply_result, ReplyShape, Sandbox};
use super::error::PluginError;
use super::error::{CallError, LoadError};
use super::limits::Limits;
use super::Runtime;
use crate::capabilities::Grants;

const WORLD: &str = "pyrus:plugin/extension-plugin";

/// The webhooks Pyrus calls on an extension's base URL.
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

impl Method {
    /// Every method, in the order of the WIT interface.
    pub const ALL: [Method; 7] = [
        Method::Pulse,
        Method::Authorize,
        Method::Toggle,
        Method::Event,
        Method::SendMessage,
        Method::CreateDialog,
        Method::GetAvailableNumbers,
    ];

    /// The URL segment Pyrus appends to the base URL (`/sendmessage`).
    pub fn path(self) -> &'static str {
        match self {
            Method::Pulse => "pulse",
            Method::Authorize => "authorize",
            Method::Toggle => "toggle",
            Method::Event => "event",
            Method::SendMessage => "sendmessage",
            Method::CreateDialog => "createdialog",
            Method::GetAvailableNumbers => "getavailablenumbers",
        }
    }

    pub fn from_path(segment: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.path() == segment)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// An extension plugin, compiled and pre-linked, ready to be instantiated per call.
pub struct ExtensionPlugin {
    pre: ExtensionPluginPre<super::state::CallState>,
    pub sandbox: Sandbox,
}

impl ExtensionPlugin {
    /// Links a compiled component against the `extension-plugin` world.
    pub fn new(
        runtime: &Runtime,
        component: &Component,
        path: &Path,
        limits: Limits,
        grants: Arc<Grants>,
    ) -> Result<ExtensionPlugin, LoadError> {
        let pre = runtime.instantiate_pre(component, path, WORLD, ExtensionPluginPre::new)?;
        Ok(ExtensionPlugin {
            pre,
            sandbox: Sandbox::new(limits, grants),
        })
    }

    /// Calls the export for `method` in a fresh instance. `body` is the raw JSON Pyrus sent
    /// (ignored for `pulse`, which has none). A reply must be valid JSON.
    pub async fn call(
        &self,
        runtime: &Runtime,
        method: Method,
        info: CallInfo,
        body: String,
    ) -> Result<Option<String>, CallError> {
        let pre = &self.pre;
        let result = runtime
            .run_call(&self.sandbox, async move |store| {
                let ext = pre.instantiate_async(&mut *store).await?;
                let api = ext.pyrus_plugin_extension();
                let store = &mut *store;
                match method {
                    Method::Pulse => api.call_pulse(store, &info).await,
                    Method::Authorize => api.call_authorize(store, &info, &body).await,
                    Method::Toggle => api.call_toggle(store, &info, &body).await,
                    Method::Event => api.call_event(store, &info, &body).await,
                    Method::SendMessage => api.call_send_message(store, &info, &body).await,
                    Method::CreateDialog => api.call_create_dialog(store, &info, &body).await,
                    Method::GetAvailableNumbers => {
                        api.call_get_available_numbers(store, &info, &body).await
                    }
                }
            })
            .await?;
        reply_result(result, ReplyShape::Any, &self.sandbox.limits)
    }

    /// Calls the `inbound` export with a request from the external system, in a fresh
    /// instance. The response is checked: a status 100-599 and a body within `max_reply_kb`.
    pub async fn inbound(
        &self,
        runtime: &Runtime,
        info: CallInfo,
        request: InboundRequest,
    ) -> Result<InboundResponse, CallError> {
        let pre = &self.pre;
        let result = runtime
            .run_call(&self.sandbox, async move |store| {
                let ext = pre.instantiate_async(&mut *store).await?;
                ext.pyrus_plugin_extension()
                    .call_inbound(&mut *store, &info, &request)
                    .await
            })
            .await?;
        let response = result.map_err(|e| {
            CallError::Plugin(PluginError {
                code: e.code,
                message: e.message,
                status: e.status,
            })
        })?;
        if !(100..=599).contains(&response.status) {
            return Err(CallError::InvalidReply(format!(
                "inbound status {} is not an HTTP status",
                response.status
            )));
        }
        if response.body.len() > self.sandbox.limits.max_reply_bytes {
            return Err(CallError::ReplyTooLarge(
                response.body.len(),
                self.sandbox.limits.max_reply_bytes,
            ));
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::Method;

    #[test]
    fn paths_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::from_path(m.path()), Some(m));
        }
        assert_eq!(Method::from_path("send-message"), None);
    }
}
