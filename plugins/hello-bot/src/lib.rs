//! The Pyrus help center's sample bot, done right: it greets the task's author and approves
//! the bot's step. Unlike the original it never fails on a task without an author or email,
//! or on comments without text (most comments Pyrus sends have none).

use pyrus_plugin_sdk::{Bot, BotReply, BotRequest, CallInfo, PluginError};

pub struct HelloBot;

impl Bot for HelloBot {
    fn handle(req: BotRequest, _call: &CallInfo) -> Result<Option<BotReply>, PluginError> {
        let author = req.author();
        let who = author
            .and_then(|a| a.email().map(str::to_owned))
            .or_else(|| author.map(|a| a.full_name()).filter(|n| !n.is_empty()));
        let text = match who {
            Some(who) => format!("Hello, {who}. This task approved by bot."),
            None => "Hello. This task approved by bot.".to_string(),
        };
        Ok(Some(BotReply::new().text(text).approve()))
    }
}

#[cfg(target_arch = "wasm32")]
pyrus_plugin_sdk::export_bot!(HelloBot);

#[cfg(test)]
mod tests {
    use super::HelloBot;
    use pyrus_plugin_sdk::bot::handle_json;
    use pyrus_plugin_sdk::CallInfo;

    fn reply(body: &str) -> serde_json::Value {
        let out = handle_json::<HelloBot>(&CallInfo::new("hello"), body.to_string()).unwrap();
        serde_json::from_str(&out.unwrap()).unwrap()
    }

    #[test]
    fn greets_the_author_and_approves() {
        let r = reply(
            r#"{"task":{"id":1,"author":{"id":2,"email":"bob@example.com"},
            "comments":[{"id":3,"author":{"id":2}}]}}"#,
        );
        assert_eq!(
            r["text"],
            "Hello, bob@example.com. This task approved by bot."
        );
        assert_eq!(r["approval_choice"], "approved");
    }

    #[test]
    fn survives_missing_pieces() {
        let r = reply(
            r#"{"task":{"id":1,"author":{"id":2,"email":"","first_name":"Bob","last_name":""}}}"#,
        );
        assert_eq!(r["text"], "Hello, Bob. This task approved by bot.");
        let r = reply(r#"{"task_id":"5"}"#);
        assert_eq!(r["text"], "Hello. This task approved by bot.");
    }
}
