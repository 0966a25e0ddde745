//! A messenger-style extension, the smallest useful one: `/authorize` checks the login and
//! password a user enters against the host config's settings, `/toggle` is acknowledged, and
//! `/sendmessage` "delivers" the message and answers a delivery id. Everything else answers
//! the SDK's `not_supported`.
//!
//! Host config: `settings = '{"login": "...", "password": "..."}'`.

use pyrus_plugin_sdk::{
    log, secrets_equal, AuthorizeReply, AuthorizeRequest, CallInfo, Extension, PluginError,
    SendMessageReply, SendMessageRequest, ToggleRequest,
};
use serde::Deserialize;

pub struct EchoExtension;

#[derive(Deserialize)]
struct Settings {
    login: String,
    password: String,
}

fn settings(call: &CallInfo) -> Result<Settings, PluginError> {
    let text = call.settings.as_deref().unwrap_or("");
    serde_json::from_str(text).map_err(|_| {
        PluginError::new(
            "misconfigured",
            r#"the host config's settings must be {"login": "...", "password": "..."}"#,
        )
        .with_status(500)
    })
}

impl Extension for EchoExtension {
    fn authorize(req: AuthorizeRequest, call: &CallInfo) -> Result<AuthorizeReply, PluginError> {
        let expected = settings(call)?;
        let login = req.credential("login").unwrap_or_default();
        let password = req.credential("password").unwrap_or_default();
        if secrets_equal(login, &expected.login) && secrets_equal(password, &expected.password) {
            Ok(AuthorizeReply::new(
                format!("echo:{login}"),
                format!("Echo ({login})"),
            ))
        } else {
            Err(PluginError::new(
                "bad_credentials",
                "the login or the password is wrong",
            ))
        }
    }

    fn toggle(req: ToggleRequest, _call: &CallInfo) -> Result<(), PluginError> {
        let account = req.account_id.as_deref().unwrap_or("?");
        let state = match (req.deleted, req.enabled) {
            (true, _) => "deleted",
            (false, true) => "enabled",
            (false, false) => "disabled",
        };
        log::info(format!("account {account} {state}"));
        Ok(())
    }

    fn send_message(
        req: SendMessageRequest,
        _call: &CallInfo,
    ) -> Result<SendMessageReply, PluginError> {
        let channel = req.channel()?;
        if req.message_text.trim().is_empty() && req.attachment_ids.is_empty() {
            return Err(PluginError::bad_request("the message is empty"));
        }
        let account = req.account_id.as_deref().unwrap_or("");
        let id = fnv1a(&[account, channel, &req.message_text]);
        log::info(format!(
            "delivered {} characters to {channel}",
            req.message_text.chars().count()
        ));
        Ok(SendMessageReply::delivered(format!("echo-{id:016x}")))
    }
}

/// A stable id for the same message (FNV-1a over the parts, separated).
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x100000001b3);
        }
    }
    hash
}

#[cfg(target_arch = "wasm32")]
pyrus_plugin_sdk::export_extension!(EchoExtension);

#[cfg(test)]
mod tests {
    use super::EchoExtension;
    use pyrus_plugin_sdk::extension::{handle_json, Method};
    use pyrus_plugin_sdk::CallInfo;

    fn call() -> CallInfo {
        CallInfo::new("echo").with_settings(r#"{"login":"demo","password":"s3cret"}"#)
    }

    fn authorize(login: &str, password: &str) -> Result<Option<String>, String> {
        let body = format!(
            r#"{{"credentials":[{{"code":"login","value":"{login}"}},{{"code":"password","value":"{password}"}}]}}"#
        );
        handle_json::<EchoExtension>(Method::Authorize, &call(), body).map_err(|e| e.code)
    }

    #[test]
    fn authorize_checks_credentials() {
        assert_eq!(
            authorize("demo", "s3cret").unwrap().unwrap(),
            r#"{"account_id":"echo:demo","account_name":"Echo (demo)"}"#
        );
        assert_eq!(authorize("demo", "nope").unwrap_err(), "bad_credentials");
    }

    #[test]
    fn send_message_answers_a_stable_delivery_id() {
        let body = r#"{"account_id":"echo:demo","channel_id":"c1","message_text":"hi"}"#;
        let a = handle_json::<EchoExtension>(Method::SendMessage, &call(), body.into()).unwrap();
        let b = handle_json::<EchoExtension>(Method::SendMessage, &call(), body.into()).unwrap();
        assert_eq!(a, b);
        assert!(a.unwrap().contains(r#""message_id":"echo-"#));
        let empty = r#"{"channel_id":"c1","message_text":" "}"#;
        let e = handle_json::<EchoExtension>(Method::SendMessage, &call(), empty.into());
        assert_eq!(e.unwrap_err().code, "invalid_request");
    }

    #[test]
    fn unimplemented_methods_say_so() {
        let e = handle_json::<EchoExtension>(Method::Event, &call(), "{}".into()).unwrap_err();
        assert_eq!((e.code.as_str(), e.status), ("not_supported", Some(501)));
    }
}
