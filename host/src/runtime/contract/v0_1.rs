//! `pyrus:plugin@0.1.0`: a bot exports `bot.handle`; an extension exports one function per
//! webhook (and, from a later build of 0.1.0 on, `inbound`) in its `extension` interface.
//!
//! Released and frozen (`wit/deps/pyrus-plugin-0.1.0/`). Extensions built before `inbound`
//! was added still load (their inbound calls are off).

use wasmtime::component::{Component, ComponentExportIndex, Instance};
use wasmtime::Store;

use super::{
    call_inbound, call_json, find_interface, not_supported, version_of, world, CallInfo, Method,
    Outcome, Request,
};
use crate::names::Kind;
use crate::runtime::state::CallState;

pub const VERSION: &str = "0.1.0";

pub enum Exports {
    Bot {
        version: String,
        handle: ComponentExportIndex,
    },
    Extension {
        version: String,
        /// In the order of [`Method::ALL`].
        methods: [ComponentExportIndex; 7],
        inbound: Option<ComponentExportIndex>,
    },
}

impl Exports {
    pub fn find(component: &Component, exports: &[String], kind: Kind) -> Option<Exports> {
        let func = |iface: &ComponentExportIndex, name: &str| {
            component.get_export_index(Some(iface), name)
        };
        match kind {
            Kind::Bot => {
                let name = find_interface(exports, "pyrus:plugin/bot", VERSION)?;
                let iface = component.get_export_index(None, name)?;
                Some(Exports::Bot {
                    version: version_of(name),
                    handle: func(&iface, "handle")?,
                })
            }
            Kind::Extension => {
                let name = find_interface(exports, "pyrus:plugin/extension", VERSION)?;
                let iface = component.get_export_index(None, name)?;
                // Every webhook function is required, as 0.1.0 was released; `inbound` was
                // added to it later, so components built before it load without one.
                let methods = Method::ALL.map(|m| func(&iface, m.wit_name()));
                let methods = methods.into_iter().collect::<Option<Vec<_>>>()?;
                let methods: [ComponentExportIndex; 7] = methods.try_into().ok()?;
                let inbound = func(&iface, "inbound");
                Some(Exports::Extension {
                    version: version_of(name),
                    methods,
                    inbound,
                })
            }
        }
    }

    pub fn contract(&self) -> String {
        match self {
            Exports::Bot { version, .. } => world(Kind::Bot, version),
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
            (Exports::Extension { methods, .. }, Request::Webhook(method, body)) => {
                let index = Method::ALL
                    .iter()
                    .position(|m| m == method)
                    .expect("every method");
                let func = &methods[index];
                match method {
                    Method::Pulse => call_json(store, instance, func, (info,)).await,
                    _ => call_json(store, instance, func, (info, body.as_str())).await,
                }
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
