//! Writing a bot: implement [`Bot`], then [`export_bot!`](crate::export_bot).

use crate::{BotReply, BotRequest, CallInfo, PluginError};

/// A Pyrus bot.
///
/// ```
/// use pyrus_plugin_sdk::{Bot, BotReply, BotRequest, CallInfo, PluginError};
///
/// struct Approver;
///
/// impl Bot for Approver {
///     fn handle(req: BotRequest, _call: &CallInfo) -> Result<Option<BotReply>, PluginError> {
///         let who = req.author().and_then(|a| a.email()).unwrap_or("there");
///         Ok(Some(BotReply::new().text(format!("Hello, {who}.")).approve()))
///     }
/// }
/// // In the plugin crate: pyrus_plugin_sdk::export_bot!(Approver);
///
/// let reply = pyrus_plugin_sdk::bot::handle_json::<Approver>(
///     &CallInfo::new("approver"),
///     r#"{"task": {"author": {"email": "bob@example.com"}}}"#.to_string(),
/// );
/// assert_eq!(
///     reply.unwrap().unwrap(),
///     r#"{"text":"Hello, bob@example.com.","approval_choice":"approved"}"#
/// );
/// ```
pub trait Bot {
    /// Handles one call. `Ok(None)` answers an empty 2xx (the bot does nothing visible);
    /// `Err` makes the host answer an error, and Pyrus retries the call.
    fn handle(request: BotRequest, call: &CallInfo) -> Result<Option<BotReply>, PluginError>;
}

/// Parses the body, runs `B`, and serializes its reply: what the exported `handle` does.
/// Call it in native tests to exercise a bot end to end on JSON text.
pub fn handle_json<B: Bot>(call: &CallInfo, body: String) -> Result<Option<String>, PluginError> {
    let request = BotRequest::parse_owned(body).map_err(|e| {
        PluginError::bad_request(format!(
            "the body is not a bot request: {}",
            crate::model::de::json_error(&e)
        ))
    })?;
    Ok(B::handle(request, call)?.map(|reply| reply.to_json()))
}

/// Exports a type implementing [`Bot`] as the plugin's `pyrus:plugin/bot@0.2.0` interface:
/// the component targets the `bot-plugin` world. Use it once, in a `cdylib` crate built for
/// `wasm32-wasip2`.
///
/// ```no_run
/// use pyrus_plugin_sdk::{Bot, BotReply, BotRequest, CallInfo, PluginError};
///
/// struct MyBot;
/// impl Bot for MyBot {
///     fn handle(_req: BotRequest, _call: &CallInfo) -> Result<Option<BotReply>, PluginError> {
///         Ok(None)
///     }
/// }
/// pyrus_plugin_sdk::export_bot!(MyBot);
/// ```
#[macro_export]
macro_rules! export_bot {
    ($bot:ty) => {
        const _: () = {
            struct __PyrusBotExport;

            impl $crate::bindings::bot_world::exports::pyrus::plugin0_2_0::bot::Guest
                for __PyrusBotExport
            {
                fn handle(
                    info: $crate::bindings::bot_world::pyrus::plugin0_2_0::types::CallInfo,
                    request: ::std::string::String,
                ) -> ::std::result::Result<
                    ::std::option::Option<::std::string::String>,
                    $crate::bindings::bot_world::pyrus::plugin0_2_0::types::PluginError,
                > {
                    $crate::bindings::bot_dispatch::<$bot>(info, request)
                }
            }

            $crate::bindings::bot_world::__export_bot_world!(
                __PyrusBotExport with_types_in $crate::bindings::bot_world
            );
        };
    };
}

#[cfg(test)]
mod tests {
    use crate::{Bot, BotReply, BotRequest, CallInfo, PluginError};

    struct Echo;

    impl Bot for Echo {
        fn handle(_: BotRequest, _: &CallInfo) -> Result<Option<BotReply>, PluginError> {
            Ok(None)
        }
    }

    #[test]
    fn a_body_that_does_not_parse_is_described_without_its_values() {
        for body in [
            r#"{"task": "secret-text-1"}"#,
            r#"{"task_id": {"x": "secret-text-2"}}"#,
            "not json secret-text-3",
        ] {
            let e = super::handle_json::<Echo>(&CallInfo::new("b"), body.into()).unwrap_err();
            assert_eq!(e.code, "invalid_request");
            assert!(!e.message.contains("secret-text"), "{}", e.message);
            assert!(e.message.contains("line 1 column"), "{}", e.message);
        }
    }
}
