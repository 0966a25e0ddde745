//! Bot plugins: load a component against the `bot-plugin` world once, then call `handle` in a
//! fresh instance per webhook.

use std::path::Path;

use std::sync::Arc;

use wasmtime::component::Component;

use super::bindings::bot::BotPluginPre;
use super::bindings::types::CallInfo;
use super::call::{reply_result, ReplyShape, Sandbox};
use super::error::{CallError, LoadError};
use super::limits::Limits;
use super::state::CallState;
use super::Runtime;
use crate::capabilities::Grants;

const WORLD: &str = "pyrus:plugin/bot-plugin";

/// A bot plugin, compiled and pre-linked, ready to be instantiated per call.
pub struct BotPlugin {
    pre: BotPluginPre<CallState>,
    pub sandbox: Sandbox,
}

impl BotPlugin {
    /// Links a compiled component against the `bot-plugin` world. Fails when the component
    /// does not export the `bot` interface or imports something the host does not provide.
    pub fn new(
        runtime: &Runtime,
        component: &Component,
        path: &Path,
        limits: Limits,
        grants: Arc<Grants>,
    ) -> Result<BotPlugin, LoadError> {
        let pre = runtime.instantiate_pre(component, path, WORLD, BotPluginPre::new)?;
        Ok(BotPlugin {
            pre,
            sandbox: Sandbox::new(limits, grants),
        })
    }

    /// Calls the bot's `handle` with the raw JSON body, in a fresh instance.
    ///
    /// Ok(Some(json)) is the comment to answer with, already checked to be a JSON object.
    pub async fn handle(
        &self,
        runtime: &Runtime,
        info: CallInfo,
        body: String,
    ) -> Result<Option<String>, CallError> {
        let pre = &self.pre;
        let result = runtime
            .run_call(&self.sandbox, async move |store| {
                let bot = pre.instantiate_async(&mut *store).await?;
                bot.pyrus_plugin_bot()
                    .call_handle(&mut *store, &info, &body)
                    .await
            })
            .await?;
        // A bot's reply becomes a Pyrus comment: one JSON object, never garbage.
        reply_result(result, ReplyShape::Object, &self.sandbox.limits)
    }
}
