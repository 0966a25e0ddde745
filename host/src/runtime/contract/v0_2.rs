//! `pyrus:plugin@0.2.0`: a bot exports `bot.handle`; an extension exports one
//! `extension.handle` taking the method, and, when it takes inbound calls, `inbound.handle`.

use wasmtime::component::{Component, ComponentExportIndex, ComponentType, Instance, Lower};
use wasmtime::Store;

use super::{
    call_inbound, call_json, find_interface, not_supported, version_of, world, CallInfo, Method,
    Outcome, Request,
};
use crate::names::Kind;
use crate::runtime::state::CallState;

pub const VERSION: &str = "0.2.0";

/// The WIT `method` variant. `other` carries webhooks this version does not name; this host
/// names every webhook it routes, so it never sends one.
#[derive(ComponentType, Lower, Debug, Clone)]
#[component(variant)]
enum WitMethod {
    #[component(name = "pulse")]
    Pulse,
    #[component(name = "authorize")]
    Authorize,
    #[component(name = "toggle")]
    Toggle,
    #[component(name = "event")]
    Event,
    #[component(name = "send-message")]
    SendMessage,
    #[component(name = "create-dialog")]
    CreateDialog,
    #[component(name = "get-available-numbers")]
    GetAvailableNumbers,
    #[allow(dead_code)]
    #[component(name = "other")]
    Other(String),
}

impl From<Method> for WitMethod {
    fn from(m: Method) -> Self {
        match m {
            Method::Pulse => WitMethod::Pulse,
            Method::Authorize => WitMethod::Authorize,
            Method::Toggle => WitMethod::Toggle,
            Method::Event => WitMethod::Event,
            Method::SendMessage => WitMethod::SendMessage,
            Method::CreateDialog => WitMethod::CreateDialog,
            Method::GetAvailableNumbers => WitMethod::GetAvailableNumbers,
        }
    }
}

pub enum Exports {
    Bot {
        version: String,
        handle: ComponentExportIndex,
    },
    Extension {
        version: String,
        handle: ComponentExportIndex,
        inbound: Option<ComponentExportIndex>,
    },
}

impl Exports {
    pub fn find(component: &Component, exports: &[String], kind: Kind) -> Option<Exports> {
        let handle_of = |name: &str| {
            let iface = component.get_export_index(None, name)?;
            component.get_export_index(Some(&iface), "handle")
        };
        match kind {
            Kind::Bot => {
                let name = find_interface(exports, "pyrus:plugin/bot", VERSION)?;
                Some(Exports::Bot {
                    version: version_of(name),
                    handle: handle_of(name)?,
                })
            }
            Kind::Extension => {
                let name = find_interface(exports, "pyrus:plugin/extension", VERSION)?;
                let inbound = find_interface(exports, "pyrus:plugin/inbound", VERSION);
                Some(Exports::Extension {
                    version: version_of(name),
                    handle: handle_of(name)?,
                    inbound: inbound.and_then(handle_of),
                })
            }
        }
    }

    pub fn contract(&self) -> String {
        match self {
            Exports::Bot { version, .. } => world(Kind::Bot, version),
            Exports::Extension {
                version,
                inbound: Some(_),
                ..
            } => format!("pyrus:plugin/extension-inbound-plugin@{version}"),
            Exports::Extension { version, .. } => world(Kind::Extension, version),
        }
    }

    pub fn takes_inbound(&self) -> bool {
        matches!(
            self,
            Exports::Extension {
                inbound: Some(_),
                ..
            }
        )
    }

    pub async fn call(
        &self,
        store: &mut Store<CallState>,
        instance: Instance,
        info: &CallInfo,
        request: &Request,
    ) -> Outcome {
        match (self, request) {
            (Exports::Bot { handle, .. }, Request::Bot(body)) => {
                call_json(store, instance, handle, (info, body.as_str())).await
            }
            (Exports::Extension { handle, .. }, Request::Webhook(method, body)) => {
                let method = WitMethod::from(*method);
                let outcome = call_json(store, instance, handle, (info, &method, body.as_str()));
                // 0.2.0 declines a webhook with `not_supported`: Pyrus is told 501.
                Ok(outcome.await?.map_err(|mut e| {
                    if e.code == "not_supported" && e.status.is_none() {
                        e.status = Some(501);
                    }
                    e
                }))
            }
            (
                Exports::Extension {
                    inbound: Some(func),
                    ..
                },
                Request::Inbound(request),
            ) => call_inbound(store, instance, func, info, request).await,
            _ => Ok(Err(not_supported("this kind of call"))),
        }
    }
}
