//! Copies the value of one form field into another and approves the step, like the official
//! CopyField example bot.
//!
//! Settings, as JSON in the bot's "Settings" box in Pyrus (`bot_settings`), or else in the
//! host config's `settings`:
//! `{"SourceFieldCode": "u_Source", "TargetFieldCode": "u_Target"}`.
//!
//! When it cannot copy (no settings, no such field, a value of a kind that cannot be copied)
//! it says why in a comment and does not approve, so that people on the task see the problem
//! instead of a silent retry loop.

use pyrus_plugin_sdk::{Bot, BotReply, BotRequest, CallInfo, FieldUpdate, PluginError};
use serde::Deserialize;

pub struct CopyFieldBot;

#[derive(Debug, Deserialize)]
struct Settings {
    #[serde(rename = "SourceFieldCode")]
    source: String,
    #[serde(rename = "TargetFieldCode")]
    target: String,
}

const SETTINGS_HELP: &str =
    r#"set the bot's Settings to {"SourceFieldCode": "...", "TargetFieldCode": "..."}"#;

impl Bot for CopyFieldBot {
    fn handle(req: BotRequest, call: &CallInfo) -> Result<Option<BotReply>, PluginError> {
        let settings = match settings(&req, call) {
            Ok(s) => s,
            Err(problem) => return Ok(Some(complaint(&problem))),
        };
        let Some(source) = req
            .task
            .as_ref()
            .and_then(|t| t.field_by_code(&settings.source))
        else {
            return Ok(Some(complaint(&format!(
                "the task has no field with code {}",
                settings.source
            ))));
        };
        let Some(value) = source.value.to_update_value() else {
            return Ok(Some(complaint(&format!(
                "the value of {} cannot be copied (field type {})",
                settings.source, source.kind
            ))));
        };
        let bot = req.user_id.map(|id| format!(" {id}")).unwrap_or_default();
        Ok(Some(
            BotReply::new()
                .text(format!("Field value was copied by bot{bot}."))
                .approve()
                .field_update(FieldUpdate::by_code(settings.target, value)),
        ))
    }
}

fn settings(req: &BotRequest, call: &CallInfo) -> Result<Settings, String> {
    if let Some(s) = req
        .bot_settings_json::<Settings>()
        .map_err(|e| format!("bot_settings is not valid: {e}; {SETTINGS_HELP}"))?
    {
        return Ok(s);
    }
    match call
        .settings
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| format!("the host's settings are not valid: {e}; {SETTINGS_HELP}")),
        None => Err(format!("no settings: {SETTINGS_HELP}")),
    }
}

fn complaint(problem: &str) -> BotReply {
    pyrus_plugin_sdk::log::warn(format!("cannot copy: {problem}"));
    BotReply::new().text(format!("CopyField bot cannot copy: {problem}."))
}

#[cfg(target_arch = "wasm32")]
pyrus_plugin_sdk::export_bot!(CopyFieldBot);

#[cfg(test)]
mod tests {
    use super::CopyFieldBot;
    use pyrus_plugin_sdk::bot::handle_json;
    use pyrus_plugin_sdk::CallInfo;
    use serde_json::{json, Value};

    fn run(body: Value, call: CallInfo) -> Value {
        let out = handle_json::<CopyFieldBot>(&call, body.to_string()).unwrap();
        serde_json::from_str(&out.unwrap()).unwrap()
    }

    const SETTINGS: &str = r#"{"SourceFieldCode":"u_Source","TargetFieldCode":"u_Target"}"#;

    #[test]
    fn copies_a_nested_value_and_approves() {
        let body = json!({"user_id": 77, "bot_settings": SETTINGS, "task": {"id": 1, "fields": [
            {"id": 1, "type": "title", "value": {"fields": [
                {"id": 2, "type": "money", "code": "u_Source", "value": 1365.27}]}},
            {"id": 3, "type": "money", "code": "u_Target"}]}});
        let r = run(body, CallInfo::new("copy"));
        assert_eq!(r["approval_choice"], "approved");
        assert_eq!(r["text"], "Field value was copied by bot 77.");
        assert_eq!(
            r["field_updates"],
            json!([{"code": "u_Target", "value": 1365.27}])
        );
    }

    #[test]
    fn host_settings_are_the_fallback() {
        let body = json!({"task": {"fields": [{"id": 2, "type": "text", "code": "u_Source", "value": "x"}]}});
        let r = run(body, CallInfo::new("copy").with_settings(SETTINGS));
        assert_eq!(r["field_updates"][0]["value"], "x");
    }

    #[test]
    fn explains_what_is_missing_without_approving() {
        let r = run(json!({"bot_settings": SETTINGS}), CallInfo::new("copy"));
        assert!(r["text"]
            .as_str()
            .unwrap()
            .contains("no field with code u_Source"));
        assert!(r.get("approval_choice").is_none());
        let r = run(json!({"bot_settings": "{oops"}), CallInfo::new("copy"));
        assert!(r["text"]
            .as_str()
            .unwrap()
            .contains("bot_settings is not valid"));
        let r = run(json!({}), CallInfo::new("copy"));
        assert!(r["text"].as_str().unwrap().contains("no settings"));
    }
}
