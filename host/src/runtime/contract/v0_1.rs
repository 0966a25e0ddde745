//! `pyrus:plugin@0.1.0`: a bot exports `bot.handle`; an extension exports one function per
//! webhook (and, from a later build of 0.1.0 on, `inbound`) in its `extension` interface.
//!
//! Released and frozen (`wit/deps/pyrus-plugin-0.1.0/`). Extensions built before `inbound`
//! was added still load: a function the component lacks is answered as not implemented.

use wasmtime::component::{Component, ComponentExportIndex, Instance};
use wasmtime::Store;

use super::{
    find_interface, not_supported, world, CallInfo, InboundRequest, InboundResponse, Method,
    Outcome, Reply, Request, WitError,
};
use crate::names::Kind;
use crate::runtime::state::CallState;

pub const VERSION: &str = "0.1.0";

type JsonResult = (Result<Option<String>, WitError>,);

pub enum Exports {
    Bot {
        version: String,
        handle: ComponentExportIndex,
    },
    Extension {
        version: String,
        /// In the order of [`Method::ALL`]; `None` where the component lacks the function.
        methods: [Option<ComponentExportIndex>; 7],
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
                let methods = Method::ALL.map(|m| func(&iface, m.wit_name()));
                let inbound = func(&iface, "inbound");
                // An interface with none of the functions is not this contract.
                if methods.iter().all(Option::is_none) && inbound.is_none() {
                    return None;
                }
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
                let f = instance
                    .get_typed_func::<(&CallInfo, &str), JsonResult>(&mut *store, handle)?;
                let (result,) = f.call_async(&mut *store, (info, body)).await?;
                Ok(result.map(Reply::Json).map_err(Into::into))
            }
            (Exports::Extension { methods, .. }, Request::Webhook(method, body)) => {
                let index = Method::ALL
                    .iter()
                    .position(|m| m == method)
                    .expect("every method");
                let Some(func) = &methods[index] else {
                    return Ok(Err(not_supported(&format!("/{method}"))));
                };
                let (result,) = if *method == Method::Pulse {
                    let f =
                        instance.get_typed_func::<(&CallInfo,), JsonResult>(&mut *store, func)?;
                    f.call_async(&mut *store, (info,)).await?
                } else {
                    let f = instance
                        .get_typed_func::<(&CallInfo, &str), JsonResult>(&mut *store, func)?;
                    f.call_async(&mut *store, (info, body)).await?
                };
                Ok(result.map(Reply::Json).map_err(Into::into))
            }
            (
                Exports::Extension {
                    inbound: Some(func),
                    ..
                },
                Request::Inbound(request),
            ) => {
                let f = instance.get_typed_func::<
                    (&CallInfo, &InboundRequest),
                    (Result<InboundResponse, WitError>,),
                >(&mut *store, func)?;
                let (result,) = f.call_async(&mut *store, (info, request)).await?;
                Ok(result.map(Reply::Inbound).map_err(Into::into))
            }
            _ => Ok(Err(not_supported("this kind of call"))),
        }
    }
}

fn version_of(interface: &str) -> String {
    interface
        .rsplit_once('@')
        .map_or(VERSION, |(_, v)| v)
        .to_string()
}
