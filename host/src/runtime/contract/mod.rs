//! The plugin contract (`pyrus:plugin`, the WIT in `wit/`), every released version of it.
//!
//! The host serves each version side by side: [`Adapter::find`] reads which version and
//! world a component exports, and each version's module ([`v0_1`], [`v0_2`]) turns the one
//! internal call ([`Request`] → [`Reply`]) into that version's exports. Everything else in
//! the host (routes, limits, capabilities, registry) sees only the internal call.
//!
//! The records below mirror the WIT's. Component-model types are structural, so one Rust
//! type serves every version whose record has the same fields.

mod prefix;
mod v0_1;
mod v0_2;

use std::fmt;
use std::path::Path;

use wasmtime::component::{
    Component, ComponentExportIndex, ComponentNamedList, ComponentType, Instance, Lift, Linker,
    Lower,
};
use wasmtime::{Engine, Store};

use super::error::{LoadError, PluginError, MAX_ERROR_CODE_BYTES, MAX_ERROR_MESSAGE_BYTES};
use super::state::CallState;
use crate::names::Kind;
use prefix::Prefix;

/// The released versions, oldest first. A host serves all of them.
pub const VERSIONS: [&str; 2] = [v0_1::VERSION, v0_2::VERSION];

/// What the host tells the plugin about a call (`call-info`).
#[derive(ComponentType, Lower, Debug, Clone, PartialEq, Eq)]
#[component(record)]
pub struct CallInfo {
    pub name: String,
    pub attempt: u32,
    #[component(name = "max-attempts")]
    pub max_attempts: Option<u32>,
    #[component(name = "user-agent")]
    pub user_agent: Option<String>,
    pub settings: Option<String>,
}

/// The WIT `plugin-error`, of which the host copies only what it shows
/// ([`PluginError::bounded`]): a 100 MiB message costs the host 2 KiB.
//
// Results are copied out of the plugin's memory as they are lifted: the guest's
// post-return frees them before a lazy `WasmStr` could be read. A longer text comes with a
// cut mark.
#[derive(ComponentType, Lift)]
#[component(record)]
struct WitError {
    code: Prefix<MAX_ERROR_CODE_BYTES>,
    message: Prefix<MAX_ERROR_MESSAGE_BYTES>,
    status: Option<u16>,
}

impl WitError {
    fn bounded(self) -> PluginError {
        PluginError::bounded(&self.code.text, &self.message.text, self.status)
    }
}

/// A call from the external system an extension bridges (`inbound-request`).
#[derive(ComponentType, Lower, Clone)]
#[component(record)]
pub struct InboundRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The plugin's answer to an inbound call (`inbound-response`).
#[derive(ComponentType, Lift, Clone)]
#[component(record)]
pub struct InboundResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

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
    /// Every method, in the order of the WIT.
    pub const ALL: [Method; 7] = [
        Method::Pulse,
        Method::Authorize,
        Method::Toggle,
        Method::Event,
        Method::SendMessage,
        Method::CreateDialog,
        Method::GetAvailableNumbers,
    ];

    /// The URL segment Pyrus appends to the base URL (`sendmessage`).
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

    /// Its name in the WIT (`send-message`).
    fn wit_name(self) -> &'static str {
        match self {
            Method::SendMessage => "send-message",
            Method::CreateDialog => "create-dialog",
            Method::GetAvailableNumbers => "get-available-numbers",
            other => other.path(),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// What a call asks of a plugin, whatever its kind and contract version. Its `Debug` shows
/// the kind and sizes only: a body holds an `access_token` and the customer's data.
pub enum Request {
    /// A bot webhook: the JSON body.
    Bot(String),
    /// An extension webhook: the method and the JSON body (empty for `pulse`).
    Webhook(Method, String),
    /// A call from the external system an extension bridges.
    Inbound(InboundRequest),
}

/// Header names only, and sizes: values and bodies may hold secrets (cookies, tokens).
impl fmt::Debug for InboundRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        write!(
            f,
            "InboundRequest({} {} bytes, headers {names:?})",
            self.method,
            self.body.len()
        )
    }
}

/// Header names only, and sizes, as for the request.
impl fmt::Debug for InboundResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        write!(
            f,
            "InboundResponse({} {} bytes, headers {names:?})",
            self.status,
            self.body.len()
        )
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Bot(body) => write!(f, "Bot({} bytes)", body.len()),
            Request::Webhook(method, body) => write!(f, "Webhook({method}, {} bytes)", body.len()),
            Request::Inbound(r) => write!(f, "{r:?}"),
        }
    }
}

/// What the plugin answered.
#[derive(Debug)]
pub enum Reply {
    /// JSON text, or nothing (an empty 2xx).
    Json(Option<String>),
    Inbound(InboundResponse),
}

type Outcome = wasmtime::Result<Result<Reply, PluginError>>;

/// How the host calls one component: the contract version and world it exports.
pub enum Adapter {
    V0_1(v0_1::Exports),
    V0_2(v0_2::Exports),
}

/// The error a plugin answers for a webhook it does not implement.
fn not_supported(what: &str) -> PluginError {
    PluginError {
        code: "not_supported".into(),
        message: format!("this extension does not implement {what}"),
        status: Some(501),
    }
}

impl Adapter {
    /// Reads which contract version `component` exports for a plugin of `kind`, newest
    /// first. Fails with what it exports against what this host serves.
    pub fn find(
        engine: &Engine,
        component: &Component,
        kind: Kind,
        path: &Path,
    ) -> Result<Adapter, LoadError> {
        let exports: Vec<String> = component
            .component_type()
            .exports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        if let Some(found) = v0_2::Exports::find(component, &exports, kind) {
            return Ok(Adapter::V0_2(found));
        }
        if let Some(found) = v0_1::Exports::find(component, &exports, kind) {
            return Ok(Adapter::V0_1(found));
        }
        Err(LoadError::WrongWorld {
            path: path.to_path_buf(),
            world: format!("pyrus:plugin/{}-plugin", kind.as_str()),
            reason: mismatch(&exports, kind),
        })
    }

    /// The world and version the component targets, e.g. `pyrus:plugin/bot-plugin@0.2.0`.
    pub fn contract(&self) -> String {
        match self {
            Adapter::V0_1(e) => e.contract(),
            Adapter::V0_2(e) => e.contract(),
        }
    }

    /// Whether the component takes inbound calls (exports them).
    pub fn takes_inbound(&self) -> bool {
        match self {
            Adapter::V0_1(e) => e.takes_inbound(),
            Adapter::V0_2(e) => e.takes_inbound(),
        }
    }

    /// Runs `request` on a fresh instance of the component.
    pub async fn call(
        &self,
        store: &mut Store<CallState>,
        instance: Instance,
        info: &CallInfo,
        request: &Request,
    ) -> Outcome {
        match self {
            Adapter::V0_1(e) => e.call(store, instance, info, request).await,
            Adapter::V0_2(e) => e.call(store, instance, info, request).await,
        }
    }
}

/// The world a plugin of `kind` targets in contract `version`.
fn world(kind: Kind, version: &str) -> String {
    match kind {
        Kind::Bot => format!("pyrus:plugin/bot-plugin@{version}"),
        Kind::Extension => format!("pyrus:plugin/extension-plugin@{version}"),
    }
}

/// Says what a component that fits no version exports, against what the host serves.
fn mismatch(exports: &[String], kind: Kind) -> String {
    let iface = match kind {
        Kind::Bot => "bot",
        Kind::Extension => "extension",
    };
    let served = VERSIONS
        .iter()
        .map(|v| format!("pyrus:plugin/{iface}@{v}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let found = match exports {
        [] => "nothing".to_string(),
        list => list.join(", "),
    };
    let article = |kind| match kind {
        Kind::Bot => "a",
        Kind::Extension => "an",
    };
    let mut reason = format!(
        "it exports {found}; {} {} must export {served}",
        article(kind),
        kind.as_str()
    );
    let other = match kind {
        Kind::Bot => (Kind::Extension, "pyrus:plugin/extension@"),
        Kind::Extension => (Kind::Bot, "pyrus:plugin/bot@"),
    };
    if exports.iter().any(|e| e.starts_with(other.1)) {
        reason.push_str(&format!(
            " (it is {} {}: configure it under [{}])",
            article(other.0),
            other.0.as_str(),
            other.0.section()
        ));
    } else if exports.iter().any(|e| e.starts_with("pyrus:plugin/")) {
        reason.push_str(" (a newer contract than this host serves? upgrade the host)");
    }
    reason
}

/// The export `interface@VERSION` a component has for a contract of `major.minor`
/// (`0.2` matches `0.2.0` and any later `0.2.x`).
fn find_interface<'a>(exports: &'a [String], interface: &str, version: &str) -> Option<&'a str> {
    let minor = version.rsplit_once('.').map_or(version, |(m, _)| m);
    exports.iter().map(String::as_str).find(|name| {
        name.strip_prefix(interface)
            .and_then(|rest| rest.strip_prefix('@'))
            .is_some_and(|v| {
                v == version || v.strip_prefix(minor).is_some_and(|p| p.starts_with('.'))
            })
    })
}

/// The version in an export's name (`pyrus:plugin/bot@0.2.3` gives `0.2.3`).
fn version_of(interface: &str) -> String {
    interface
        .rsplit_once('@')
        .map_or("", |(_, v)| v)
        .to_string()
}

type JsonResult = (Result<Option<String>, WitError>,);

/// Calls an export that answers JSON text (every bot and webhook function).
async fn call_json<P>(
    store: &mut Store<CallState>,
    instance: Instance,
    func: &ComponentExportIndex,
    params: P,
) -> Outcome
where
    P: ComponentNamedList + Lower + Send + Sync,
{
    let f = instance.get_typed_func::<P, JsonResult>(&mut *store, func)?;
    let (result,) = f.call_async(&mut *store, params).await?;
    Ok(result.map(Reply::Json).map_err(WitError::bounded))
}

/// Calls an `inbound` export (the same record in every version).
async fn call_inbound(
    store: &mut Store<CallState>,
    instance: Instance,
    func: &ComponentExportIndex,
    info: &CallInfo,
    request: &InboundRequest,
) -> Outcome {
    type Params<'a> = (&'a CallInfo, &'a InboundRequest);
    let f = instance
        .get_typed_func::<Params, (Result<InboundResponse, WitError>,)>(&mut *store, func)?;
    let (result,) = f.call_async(&mut *store, (info, request)).await?;
    Ok(result.map(Reply::Inbound).map_err(WitError::bounded))
}

/// Adds the contract's own interfaces to the linker: `types` holds only types, but a
/// component imports it as an instance, so every version's must exist.
pub fn link(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    for version in VERSIONS {
        linker.instance(&format!("pyrus:plugin/types@{version}"))?;
    }
    // `delivery`, an optional import of 0.2.0 bots.
    linker
        .instance(&format!("pyrus:plugin/delivery@{}", v0_2::VERSION))?
        .func_wrap("current-mode", |store, (): ()| Ok((store.data().delivery,)))?;
    Ok(())
}

/// Where a call runs (`delivery.mode`): in the webhook, or from the async queue.
#[derive(ComponentType, Lift, Lower, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[component(enum)]
#[repr(u8)]
pub enum DeliveryMode {
    #[default]
    #[component(name = "sync")]
    Sync,
    #[component(name = "queued")]
    Queued,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_debug_shows_no_body_or_headers() {
        let shown = format!(
            "{:?} {:?}",
            Request::Bot(r#"{"access_token":"tok-secret"}"#.into()),
            Request::Inbound(InboundRequest {
                method: "POST".into(),
                path: "/hook".into(),
                query: None,
                headers: vec![("x-secret".into(), "hdr-value".into())],
                body: b"body-value!".to_vec(),
            })
        );
        assert!(
            !shown.contains("tok-secret") && !shown.contains("value"),
            "{shown}"
        );
        assert_eq!(
            shown,
            r#"Bot(29 bytes) InboundRequest(POST 11 bytes, headers ["x-secret"])"#
        );
    }

    #[test]
    fn paths_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::from_path(m.path()), Some(m));
        }
        assert_eq!(Method::from_path("send-message"), None);
    }

    #[test]
    fn interfaces_match_by_minor_version() {
        let exports = vec!["pyrus:plugin/bot@0.2.3".to_string(), "x:y/z@1.0.0".into()];
        assert_eq!(
            find_interface(&exports, "pyrus:plugin/bot", "0.2.0"),
            Some("pyrus:plugin/bot@0.2.3")
        );
        assert_eq!(find_interface(&exports, "pyrus:plugin/bot", "0.1.0"), None);
        assert_eq!(
            find_interface(&exports, "pyrus:plugin/extension", "0.2.0"),
            None
        );
        let old = vec!["pyrus:plugin/bot@0.20.0".to_string()];
        assert_eq!(find_interface(&old, "pyrus:plugin/bot", "0.2.0"), None);
    }

    #[test]
    fn mismatch_says_what_is_exported_and_what_is_served() {
        let r = mismatch(&["pyrus:plugin/extension@0.2.0".into()], Kind::Bot);
        assert!(r.contains("it exports pyrus:plugin/extension@0.2.0"), "{r}");
        assert!(
            r.contains("pyrus:plugin/bot@0.1.0 or pyrus:plugin/bot@0.2.0"),
            "{r}"
        );
        assert!(
            r.contains("(it is an extension: configure it under [extensions])"),
            "{r}"
        );
        let r = mismatch(&["pyrus:plugin/bot@0.9.0".into()], Kind::Bot);
        assert!(r.contains("newer contract"), "{r}");
        assert!(mismatch(&[], Kind::Extension).contains("it exports nothing"));
    }
}
