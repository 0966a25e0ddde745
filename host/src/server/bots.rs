//! `POST /bots/{name}`: a Pyrus bot webhook.
//!
//! Order of checks: known bot (404) → body within the limit (413) → signature over the raw
//! bytes (403; the plugin never sees an unsigned body) → UTF-8 JSON object (400) → plugin.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tracing::Instrument;

use super::error::ApiError;
use super::stats::Kind;
use super::webhook::{self, Failure};
use super::{body, AppState};
use crate::retry::{self, Attempt};

pub async fn handle(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let attempt = Attempt::parse(headers.get(retry::HEADER).map(|v| v.as_bytes()));
    let span = tracing::info_span!(
        "bot_call",
        bot = %name,
        task_id = tracing::field::Empty,
        attempt = attempt.attempt,
    );
    webhook::observe(
        &state,
        Kind::Bot,
        &name,
        serve(&state, &name, &headers, attempt, body),
    )
    .instrument(span)
    .await
}

async fn serve(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    attempt: Attempt,
    body: Body,
) -> Result<Response, Failure> {
    // The snapshot keeps this bot's plugin alive for the whole call, whatever reloads do.
    let registry = state.registry.load_full();
    let bot = registry.bot(name).ok_or_else(|| {
        Failure::new(
            "unknown_bot",
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_bot",
                format!("no bot named {name:?} is configured"),
            ),
        )
    })?;
    let bytes = body::read(headers, body, state.max_body_bytes())
        .await
        .map_err(Failure::bad_request)?;
    webhook::verify(headers, &bot.secret, &bytes, false)?;
    let text = webhook::utf8(bytes)?;
    if let Some(task_id) = peek_task_id(&text)? {
        tracing::Span::current().record("task_id", tracing::field::display(task_id));
    }
    let info = webhook::call_info(name, attempt, headers, &bot.settings);
    bot.plugin
        .handle(&state.runtime, info, text)
        .await
        .map(webhook::reply)
        .map_err(|e| {
            webhook::call_failure(&format!("bot {name}"), e, StatusCode::INTERNAL_SERVER_ERROR)
        })
}

/// Checks that the body is a JSON object in the current protocol and returns its `task_id`
/// (number or numeric string) for the log. Unknown fields are skipped without allocating.
fn peek_task_id(text: &str) -> Result<Option<String>, Failure> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        task_id: Option<serde_json::Value>,
        #[serde(rename = "TaskId")]
        legacy_task_id: Option<serde::de::IgnoredAny>,
    }
    // One pass over the body: this both validates it and reads `task_id`.
    let envelope: Envelope = webhook::parse_json_object(text)?;
    if envelope.legacy_task_id.is_some() && envelope.task_id.is_none() {
        return Err(Failure::bad_request(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_protocol",
            "this is the legacy PascalCase bot protocol (TaskId); only the current protocol (task_id) is served",
        )));
    }
    Ok(envelope.task_id.and_then(|id| match id {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if s.len() <= 32 => Some(s),
        _ => None,
    }))
}

#[cfg(test)]
mod tests {
    use super::peek_task_id;

    fn code(text: &str) -> String {
        peek_task_id(text).err().unwrap().error.code.to_string()
    }

    #[test]
    fn task_id_peek() {
        assert_eq!(
            peek_task_id(r#"{"task_id": 5, "task": {}}"#).ok().unwrap(),
            Some("5".into())
        );
        assert_eq!(
            peek_task_id(r#"{"task_id": "7"}"#).ok().unwrap(),
            Some("7".into())
        );
        assert_eq!(peek_task_id(r#"{"event": "test"}"#).ok().unwrap(), None);
        assert_eq!(code("not json{{{"), "invalid_json");
        assert_eq!(code("[1]"), "invalid_json");
        assert_eq!(
            code(r#"{"TaskId": 1, "Text": "x"}"#),
            "unsupported_protocol"
        );
    }
}
