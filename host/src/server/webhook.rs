//! What bot and extension routes share: signature check, the call info handed to the plugin,
//! mapping a failed call to an answer, and the one log line per call.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;
use crate::names::Kind;
use crate::registry::{Loaded, Registry};
use crate::retry::Attempt;
use crate::runtime::{CallError, CallInfo};
use crate::secret::Secret;
use crate::signature::{self, SignatureError};

/// A refused or failed call: the answer to send, and the one-word outcome for the log.
pub struct Failure {
    pub error: ApiError,
    pub outcome: &'static str,
}

impl Failure {
    pub fn new(outcome: &'static str, error: ApiError) -> Self {
        Failure { error, outcome }
    }

    pub fn bad_request(error: ApiError) -> Self {
        Self::new("bad_request", error)
    }
}

/// Runs a webhook and writes its log line (status, outcome, duration and, on failure, the
/// cause), its metrics and its recent-call stats. Call it inside the call's span.
pub async fn observe(
    state: &AppState,
    kind: Kind,
    name: &str,
    attempt: Option<u32>,
    serve: impl Future<Output = Result<Response, Failure>>,
) -> Response {
    let started = Instant::now();
    let result = serve.await;
    let elapsed = started.elapsed();
    let duration_us = elapsed.as_micros() as u64;
    match result {
        Ok(response) => {
            let status = response.status().as_u16();
            tracing::info!(status, outcome = "ok", duration_us, "call");
            state.stats.record(kind, name, "ok", elapsed, None, attempt);
            response
        }
        Err(Failure { error, outcome }) => {
            let status = error.status.as_u16();
            let cause = error.message.as_str();
            if error.status.is_server_error() {
                tracing::warn!(status, outcome, duration_us, cause, "call failed");
            } else {
                tracing::info!(status, outcome, duration_us, cause, "call refused");
            }
            // Names nobody configured are not recorded: callers could make up any number.
            if !matches!(outcome, "unknown_bot" | "unknown_extension") {
                state
                    .stats
                    .record(kind, name, outcome, elapsed, Some((status, cause)), attempt);
            }
            error.into_response()
        }
    }
}

/// The answer to a path whose percent-encoded parts do not decode to UTF-8 (`/bots/%ff`):
/// no configured name can match it.
pub fn invalid_path() -> Response {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_path",
        "the path does not decode to UTF-8 text",
    )
    .into_response()
}

/// The plugin of `kind` named `name`, or a 404 that says no such one is configured.
pub fn lookup<'r>(
    registry: &'r Registry,
    kind: Kind,
    name: &str,
) -> Result<&'r Arc<Loaded>, Failure> {
    registry.get(kind, name).ok_or_else(|| {
        let code = match kind {
            Kind::Bot => "unknown_bot",
            Kind::Extension => "unknown_extension",
        };
        Failure::new(
            code,
            ApiError::new(
                StatusCode::NOT_FOUND,
                code,
                format!("no {} named {name:?} is configured", kind.as_str()),
            ),
        )
    })
}

/// Checks `X-Pyrus-Sig` over the raw body. With `allow_missing`, a call without the header
/// passes (a present but wrong one never does).
pub fn verify(
    headers: &HeaderMap,
    secret: &Secret,
    body: &[u8],
    allow_missing: bool,
) -> Result<(), Failure> {
    let header = headers.get(signature::HEADER).map(|v| v.as_bytes());
    match signature::check(header, secret, body) {
        Ok(()) => Ok(()),
        Err(SignatureError::Missing) if allow_missing => Ok(()),
        Err(e) => Err(Failure::new(
            "rejected_signature",
            ApiError::new(StatusCode::FORBIDDEN, "invalid_signature", e.to_string()),
        )),
    }
}

/// What the plugin is told about the call.
pub fn call_info(
    name: &str,
    attempt: Attempt,
    headers: &HeaderMap,
    settings: &Option<String>,
) -> CallInfo {
    CallInfo {
        name: name.to_string(),
        attempt: attempt.attempt,
        max_attempts: attempt.max_attempts,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        settings: settings.clone(),
    }
}

/// The body as UTF-8 text, without copying it.
pub fn utf8(bytes: Bytes) -> Result<String, Failure> {
    String::from_utf8(Vec::from(bytes)).map_err(|_| {
        Failure::bad_request(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "the body is not UTF-8 text",
        ))
    })
}

/// Answers a plugin's reply: its JSON, or an empty 200.
pub fn reply(reply: Option<String>) -> Response {
    match reply {
        Some(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        None => StatusCode::OK.into_response(),
    }
}

/// Turns a failed plugin call into the answer. Failures of the plugin itself (trap, timeout,
/// memory) are 500, so that Pyrus retries; a full pool is 503; an error the plugin returned
/// gets its own status, else `plugin_error_status`.
pub fn call_failure(what: &str, e: CallError, plugin_error_status: StatusCode) -> Failure {
    let status = match &e {
        CallError::Busy | CallError::PluginBusy(_) => StatusCode::SERVICE_UNAVAILABLE,
        CallError::Plugin(p) => p
            .status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(plugin_error_status),
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match &e {
        CallError::Plugin(p) => p.message.clone(),
        other => format!("{what}: {other}"),
    };
    Failure::new(
        e.outcome(),
        ApiError::new(status, e.code().to_owned(), message),
    )
}

/// Checks that `text` is one JSON object, the shape of every Pyrus webhook body.
pub fn require_json_object(text: &str) -> Result<(), Failure> {
    #[derive(serde::Deserialize)]
    struct AnyObject {}
    parse_json_object::<AnyObject>(text).map(|_| ())
}

/// Parses `text`, which must be one JSON object, into `T` in a single pass (the parse also
/// validates the whole body).
pub fn parse_json_object<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Failure> {
    let not_object = |detail: String| {
        Failure::bad_request(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not a JSON object: {detail}"),
        ))
    };
    // A derived struct would also accept a JSON array.
    if !text.trim_start().starts_with('{') {
        return Err(not_object("it does not start with '{'".into()));
    }
    serde_json::from_str(text).map_err(|e| not_object(e.to_string()))
}
