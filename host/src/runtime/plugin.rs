//! A loaded plugin, whatever its kind and contract version: the pre-linked component, the
//! adapter for the contract it exports, and the sandbox its calls run in.

use std::path::Path;
use std::sync::Arc;

use wasmtime::component::{Component, InstancePre};

use super::call::{check, Admission, ReplyShape, Sandbox};
use super::contract::{Adapter, CallInfo, DeliveryMode, Reply, Request};
use super::error::{CallError, LoadError};
use super::limits::Limits;
use super::state::CallState;
use super::Runtime;
use crate::capabilities::Grants;
use crate::names::Kind;

/// A plugin, compiled and pre-linked, ready to be instantiated per call.
pub struct Plugin {
    pre: InstancePre<CallState>,
    /// Shared with the calls running (each owns what it uses, to move between threads).
    adapter: Arc<Adapter>,
    /// Whether the config lets inbound calls reach it (`inbound = true`).
    inbound: bool,
    pub sandbox: Sandbox,
}

impl Plugin {
    /// Links a compiled component as a plugin of `kind`. Fails when it exports no contract
    /// version this host serves for that kind, imports what the host does not provide, or
    /// is configured with `inbound = true` but does not take inbound calls. `previous` is
    /// the version it replaces, if any: its admission gate carries over.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        runtime: &Runtime,
        component: &Component,
        path: &Path,
        kind: Kind,
        limits: Limits,
        grants: Arc<Grants>,
        inbound: bool,
        previous: Option<&Plugin>,
    ) -> Result<Plugin, LoadError> {
        let adapter = Adapter::find(runtime.engine(), component, kind, path)?;
        if inbound && !adapter.takes_inbound() {
            return Err(LoadError::NoInbound {
                path: path.to_path_buf(),
                contract: adapter.contract(),
            });
        }
        let pre = runtime.instantiate_pre(component, path)?;
        Ok(Plugin {
            pre,
            adapter: Arc::new(adapter),
            inbound,
            sandbox: Sandbox::new(limits, grants, previous.map(|p| &p.sandbox)),
        })
    }

    /// The world and contract version the component targets
    /// (`pyrus:plugin/bot-plugin@0.2.0`).
    pub fn contract(&self) -> String {
        self.adapter.contract()
    }

    /// Whether inbound calls reach this plugin: enabled in the config (and so exported).
    pub fn takes_inbound(&self) -> bool {
        self.inbound
    }

    /// Takes this call's place in the plugin's and the pool's gates: do it before reading
    /// the request, so that a refused call costs nothing.
    pub fn admit(&self, runtime: &Runtime) -> Result<Admission, CallError> {
        runtime.admit(&self.sandbox)
    }

    /// Runs one admitted call in a fresh instance, then checks the reply: a bot's is one JSON
    /// object, an extension's any JSON, an inbound response a real HTTP status with at most
    /// 100 headers (64 KiB); each within `max_reply_kb`.
    pub async fn call(
        &self,
        runtime: &Runtime,
        admission: Admission,
        info: CallInfo,
        request: Request,
    ) -> Result<Reply, CallError> {
        let timeout = self.sandbox.limits.timeout;
        self.call_queued(
            runtime,
            admission,
            info,
            request,
            timeout,
            DeliveryMode::Sync,
        )
        .await
    }

    /// Like [`Plugin::call`], with its own time limit and delivery mode (an async bot's
    /// run from the queue).
    pub async fn call_queued(
        &self,
        runtime: &Runtime,
        admission: Admission,
        info: CallInfo,
        request: Request,
        timeout: std::time::Duration,
        delivery: DeliveryMode,
    ) -> Result<Reply, CallError> {
        let shape = match request {
            Request::Bot(_) => ReplyShape::Object,
            _ => ReplyShape::Any,
        };
        let (pre, adapter) = (self.pre.clone(), self.adapter.clone());
        let result = runtime
            .run_call(&self.sandbox, admission, timeout, delivery, move |store| {
                Box::pin(async move {
                    let instance = pre.instantiate_async(&mut *store).await?;
                    adapter.call(store, instance, &info, &request).await
                })
            })
            .await?;
        check(result, shape, &self.sandbox.limits)
    }
}
