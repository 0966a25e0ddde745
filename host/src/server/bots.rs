//! `POST /bots/{name}`: a Pyrus bot webhook.
//!
//! Order of checks: known bot (404) → body within the limit (413) → signature over the raw
//! bytes (403; the plugin never sees an unsigned body) → UTF-8 JSON object (400) → plugin.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::error::ApiError;
use super::{body, AppState};
use crate::retry::{self, Attempt};
use crate::runtime::bot::BotCall;
use crate::runtime::CallError;
use crate::signature;

pub async fn handle(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let attempt = Attempt::parse(headers.get(retry::HEADER).map(|v| v.as_bytes()));
    let span = tracing::info_span!(
        "bot_call",
        bot = %name,
        task_id = tracing::field::Empty,
        attempt = attempt.attempt,
    );
    async move {
        let result = serve(&state, &name, &headers, attempt, body).await;
        let duration_us = started.elapsed().as_micros() as u64;
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                tracing::info!(status, outcome = "ok", duration_us, "bot call");
                response
            }
            Err(Failure { error, outcome }) => {
                let status = error.status.as_u16();
                let cause = error.message.as_str();
                if error.status.is_server_error() {
                    tracing::warn!(status, outcome, duration_us, cause, "bot call failed");
                } else {
                    tracing::info!(status, outcome, duration_us, cause, "bot call refused");
                }
                error.into_response()
            }
        }
    }
    .instrument(span)
    .await
}

/// A failed call: the answer to send, and the one-word outcome for the log.
struct Failure {
    error: ApiError,
    outcome: &'static str,
}

impl Failure {
    fn new(outcome: &'static str, error: ApiError) -> Self {
        Failure { error, outcome }
    }
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

    let bytes = body::read(headers, body, state.max_body_bytes)
        .await
        .map_err(|e| Failure::new("bad_request", e))?;

    signature::check(
        headers.get(signature::HEADER).map(|v| v.as_bytes()),
        &bot.secret,
        &bytes,
    )
    .map_err(|e| {
        Failure::new(
            "rejected_signature",
            ApiError::new(StatusCode::FORBIDDEN, "invalid_signature", e.to_string()),
        )
    })?;

    let text = String::from_utf8(Vec::from(bytes)).map_err(|_| {
        Failure::new(
            "bad_request",
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "the body is not UTF-8 text",
            ),
        )
    })?;
    let envelope = peek_envelope(&text).map_err(|e| Failure::new("bad_request", e))?;
    if let Some(task_id) = envelope {
        tracing::Span::current().record("task_id", tracing::field::display(task_id));
    }

    let call = BotCall {
        name: bot.name.to_string(),
        attempt: attempt.attempt,
        max_attempts: attempt.max_attempts,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        settings: bot.settings.clone(),
    };
    match bot.plugin.handle(&state.runtime, call, text).await {
        Ok(Some(reply)) => {
            Ok(([(header::CONTENT_TYPE, "application/json")], reply).into_response())
        }
        Ok(None) => Ok(StatusCode::OK.into_response()),
        Err(e) => Err(call_failure(name, e)),
    }
}

/// Turns a failed plugin call into the answer for Pyrus. Every failure of the plugin itself is
/// a 5xx so that Pyrus retries; a full pool is 503.
fn call_failure(name: &str, e: CallError) -> Failure {
    let status = match &e {
        CallError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        CallError::Plugin(p) => p
            .status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match &e {
        CallError::Plugin(p) => p.message.clone(),
        other => format!("bot {name}: {other}"),
    };
    Failure::new(
        e.outcome(),
        ApiError::new(status, e.code().to_owned(), message),
    )
}

/// Checks that the body is a JSON object in the current protocol and returns its `task_id`
/// (number or numeric string) for the log. Unknown fields are skipped without allocating.
fn peek_envelope(text: &str) -> Result<Option<String>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        task_id: Option<serde_json::Value>,
        #[serde(rename = "TaskId")]
        legacy_task_id: Option<serde::de::IgnoredAny>,
    }
    let not_object = |detail: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not a JSON object: {detail}"),
        )
    };
    // A derived struct would also accept a JSON array; Pyrus always sends an object.
    if !text.trim_start().starts_with('{') {
        return Err(not_object("it does not start with '{'".into()));
    }
    let envelope: Envelope = serde_json::from_str(text).map_err(|e| not_object(e.to_string()))?;
    if envelope.legacy_task_id.is_some() && envelope.task_id.is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_protocol",
            "this is the legacy PascalCase bot protocol (TaskId); only the current protocol (task_id) is served",
        ));
    }
    Ok(envelope.task_id.and_then(|id| match id {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if s.len() <= 32 => Some(s),
        _ => None,
    }))
}

#[cfg(test)]
mod tests {
    use super::peek_envelope;

    #[test]
    fn envelope_peek() {
        assert_eq!(
            peek_envelope(r#"{"task_id": 5, "task": {}}"#).unwrap(),
            Some("5".into())
        );
        assert_eq!(
            peek_envelope(r#"{"task_id": "7"}"#).unwrap(),
            Some("7".into())
        );
        assert_eq!(peek_envelope(r#"{"event": "test"}"#).unwrap(), None);
        assert_eq!(
            peek_envelope("not json{{{").unwrap_err().code,
            "invalid_json"
        );
        assert_eq!(peek_envelope("[1]").unwrap_err().code, "invalid_json");
        assert_eq!(
            peek_envelope(r#"{"TaskId": 1, "Text": "x"}"#)
                .unwrap_err()
                .code,
            "unsupported_protocol"
        );
    }
}
