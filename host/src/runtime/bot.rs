//! Bot plugins: load a component against the `bot-plugin` world once, then call `handle` in a
//! fresh instance per webhook.

use std::path::Path;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::Engine;

use super::bindings::bot::{BotPlugin as Bindings, BotPluginPre};
use super::bindings::types::CallInfo;
use super::error::{CallError, LoadError, PluginError};
use super::limits::Limits;
use super::state::CallState;
use super::Runtime;

/// The linker for bot plugins: WASI (which every wasip2 guest imports) and our `log`.
pub(crate) fn linker(engine: &Engine) -> anyhow::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    Bindings::add_to_linker::<_, HasSelf<CallState>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// A bot plugin, compiled and pre-linked, ready to be instantiated per call.
pub struct BotPlugin {
    pre: BotPluginPre<CallState>,
    pub limits: Limits,
}

/// What the host tells a bot about one call, besides the body.
#[derive(Debug, Clone)]
pub struct BotCall {
    pub name: String,
    pub attempt: u32,
    pub max_attempts: Option<u32>,
    pub user_agent: Option<String>,
    pub settings: Option<String>,
}

impl BotPlugin {
    /// Links a compiled component against the `bot-plugin` world. Fails when the component
    /// does not export the `bot` interface or imports something the host does not provide.
    pub fn new(
        runtime: &Runtime,
        component: &Component,
        path: &Path,
        limits: Limits,
    ) -> Result<BotPlugin, LoadError> {
        let wrong_world = |e: wasmtime::Error| LoadError::WrongWorld {
            path: path.to_path_buf(),
            world: "pyrus:plugin/bot-plugin",
            reason: format!("{e:#}"),
        };
        let pre = runtime
            .bot_linker
            .instantiate_pre(component)
            .map_err(wrong_world)?;
        let pre = BotPluginPre::new(pre).map_err(wrong_world)?;
        Ok(BotPlugin { pre, limits })
    }

    /// Calls the bot's `handle` with the raw JSON body, in a fresh instance.
    ///
    /// Ok(Some(json)) is the comment to answer with, already checked to be a JSON object.
    pub async fn handle(
        &self,
        runtime: &Runtime,
        call: BotCall,
        body: String,
    ) -> Result<Option<String>, CallError> {
        let info = CallInfo {
            name: call.name,
            attempt: call.attempt,
            max_attempts: call.max_attempts,
            user_agent: call.user_agent,
            settings: call.settings,
        };
        let pre = &self.pre;
        let result = runtime
            .run_call(&self.limits, async move |store| {
                let bot = pre.instantiate_async(&mut *store).await?;
                bot.pyrus_plugin_bot()
                    .call_handle(&mut *store, &info, &body)
                    .await
            })
            .await?;
        match result {
            Ok(Some(reply)) => {
                check_reply(&reply)?;
                Ok(Some(reply))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(CallError::Plugin(PluginError {
                code: e.code,
                message: e.message,
                status: e.status,
            })),
        }
    }
}

/// A bot's reply becomes a Pyrus comment: it must be one JSON object. Never forward garbage.
fn check_reply(reply: &str) -> Result<(), CallError> {
    #[derive(serde::Deserialize)]
    struct AnyObject {}
    serde_json::from_str::<AnyObject>(reply)
        .map(|_| ())
        .map_err(|e| CallError::InvalidReply(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::check_reply;

    #[test]
    fn reply_must_be_a_json_object() {
        assert!(check_reply(r#"{"text":"hi","field_updates":[{"id":1}]}"#).is_ok());
        assert!(check_reply("{}").is_ok());
        for bad in ["", "hello", "[1]", "\"text\"", "{\"a\":", "null"] {
            assert!(check_reply(bad).is_err(), "{bad:?} accepted");
        }
    }
}
