//! A messenger bridge, both ways:
//!
//! - Pyrus → messenger: `/sendmessage` (an operator replied in Pyrus) is forwarded as
//!   `POST {messenger_url}` with `{"chat", "text"}` and the messenger's bearer token; the
//!   messenger's message id becomes the delivery id.
//! - messenger → Pyrus: the messenger calls `/extensions/NAME/inbound/messages` with
//!   `{"account_id", "chat", "text", "sender"}` and the shared secret in `X-Relay-Secret`; the
//!   extension gets a token from the Extensions API (`/token`) and delivers the message with
//!   `/getmessage`. So it is exported with `export_extension!(RelayExtension, inbound)`.
//!
//! Host config:
//! ```toml
//! [extensions.relay]
//! plugin = "plugins/target/wasm32-wasip2/release/relay_extension.wasm"
//! secret = { env = "RELAY_EXTENSION_SECRET" }
//! inbound = true
//! allowed_outbound_hosts = ["https://messenger.example.com", "https://extensions.pyrus.com"]
//!
//! [extensions.relay.variables]
//! messenger_url = "https://messenger.example.com/api/send"
//! messenger_token = { env = "RELAY_MESSENGER_TOKEN" }
//! inbound_secret = { env = "RELAY_INBOUND_SECRET" }
//! client_id = "ext@00000000-0000-0000-0000-000000000000"
//! client_secret = { env = "RELAY_CLIENT_SECRET" }
//! ```

use pyrus_plugin_sdk::http::{send, Request};
use pyrus_plugin_sdk::pyrus::{ExtensionsApi, IncomingMessage, EXTENSIONS_API_URL};
use pyrus_plugin_sdk::{
    log, secrets_equal, variables, CallInfo, Extension, InboundRequest, InboundResponse,
    PluginError, SendMessageReply, SendMessageRequest,
};
use serde::Deserialize;

pub struct RelayExtension;

/// What the messenger posts to the inbound URL.
#[derive(Debug, Deserialize)]
pub struct MessengerMessage {
    pub account_id: String,
    pub chat: String,
    pub text: String,
    #[serde(default)]
    pub sender: Option<String>,
}

impl Extension for RelayExtension {
    fn send_message(
        req: SendMessageRequest,
        _call: &CallInfo,
    ) -> Result<SendMessageReply, PluginError> {
        let chat = req.channel()?;
        let reply = send(
            Request::post(variables::require("messenger_url")?)
                .bearer(&variables::require("messenger_token")?)
                .json(&serde_json::json!({"chat": chat, "text": req.message_text})),
        )?;
        if reply.status != 200 {
            return Err(PluginError::new(
                "messenger_error",
                format!("the messenger answered {}", reply.status),
            )
            .with_status(502));
        }
        let sent: serde_json::Value = reply.json()?;
        let id = sent["id"].as_str().unwrap_or_default().to_string();
        log::info(format!("relayed a message to chat {chat}"));
        Ok(SendMessageReply::delivered(id))
    }

    fn inbound(req: InboundRequest, _call: &CallInfo) -> Result<InboundResponse, PluginError> {
        let expected = variables::require("inbound_secret")?;
        let given = req.header("x-relay-secret").unwrap_or_default();
        if !secrets_equal(given, &expected) {
            log::warn("inbound call with a wrong or missing X-Relay-Secret");
            return Ok(InboundResponse::json(
                401,
                &serde_json::json!({"error": "unauthorized"}),
            ));
        }
        if req.method != "POST" || req.path != "/messages" {
            return Ok(InboundResponse::status(404));
        }
        let message: MessengerMessage = req.json()?;
        let api_url = variables::get("extensions_api").unwrap_or_else(|| EXTENSIONS_API_URL.into());
        let api = ExtensionsApi::authenticate(
            &api_url,
            &variables::require("client_id")?,
            &variables::require("client_secret")?,
        )?;
        api.get_message(&incoming(message))?;
        Ok(InboundResponse::json(
            200,
            &serde_json::json!({"delivered": true}),
        ))
    }
}

/// The `/getmessage` body for a messenger message.
pub fn incoming(message: MessengerMessage) -> IncomingMessage {
    IncomingMessage {
        account_id: message.account_id,
        channel_id: message.chat,
        message_text: message.text,
        sender_name: message.sender,
    }
}

#[cfg(target_arch = "wasm32")]
pyrus_plugin_sdk::export_extension!(RelayExtension, inbound);

#[cfg(test)]
mod tests {
    use super::{incoming, MessengerMessage};

    #[test]
    fn messenger_messages_map_to_getmessage() {
        let m: MessengerMessage =
            serde_json::from_str(r#"{"account_id":"acc","chat":"c1","text":"hi","sender":"Ann"}"#)
                .unwrap();
        let body = serde_json::to_value(incoming(m)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"account_id":"acc","channel_id":"c1","message_text":"hi","sender_name":"Ann"})
        );
    }
}
