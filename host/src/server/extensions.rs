//! Extension webhooks on the extension's base URL `/extensions/{name}`: `GET /pulse`, and
//! `POST /{authorize|toggle|event|sendmessage|createdialog|getavailablenumbers}`.
//!
//! Checks as for bots; on `/pulse` a missing `X-Pyrus-Sig` is allowed (one documented
//! revision of the protocol omits it there), but a present and wrong one is refused.
//! An error the plugin returns is answered with status 400 unless it chose another.

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
use crate::runtime::extension::Method;

/// `GET /extensions/{name}/pulse`.
pub async fn pulse(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    dispatch(
        state,
        name,
        Method::Pulse.path().to_string(),
        headers,
        Body::empty(),
    )
    .await
}

/// `POST /extensions/{name}/{method}`.
pub async fn handle(
    State(state): State<Arc<AppState>>,
    Path((name, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    dispatch(state, name, method, headers, body).await
}

async fn dispatch(
    state: Arc<AppState>,
    name: String,
    method: String,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let attempt = Attempt::parse(headers.get(retry::HEADER).map(|v| v.as_bytes()));
    let span = tracing::info_span!(
        "extension_call",
        extension = %name,
        method = %method,
        attempt = attempt.attempt,
    );
    webhook::observe(
        &state,
        Kind::Extension,
        &name,
        serve(&state, &name, &method, &headers, attempt, body),
    )
    .instrument(span)
    .await
}

async fn serve(
    state: &AppState,
    name: &str,
    method: &str,
    headers: &HeaderMap,
    attempt: Attempt,
    body: Body,
) -> Result<Response, Failure> {
    let registry = state.registry.load_full();
    let extension = registry.extension(name).ok_or_else(|| {
        Failure::new(
            "unknown_extension",
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_extension",
                format!("no extension named {name:?} is configured"),
            ),
        )
    })?;
    let method = Method::from_path(method).ok_or_else(|| {
        Failure::new(
            "unknown_method",
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_method",
                format!(
                    "no extension method {method:?}; Pyrus calls GET /pulse and POST /{}",
                    Method::ALL[1..]
                        .iter()
                        .map(|m| m.path())
                        .collect::<Vec<_>>()
                        .join(", POST /")
                ),
            ),
        )
    })?;
    let bytes = body::read(headers, body, state.max_body_bytes())
        .await
        .map_err(Failure::bad_request)?;
    webhook::verify(headers, &extension.secret, &bytes, method == Method::Pulse)?;
    let text = webhook::utf8(bytes)?;
    if method != Method::Pulse {
        webhook::require_json_object(&text)?;
    }
    let info = webhook::call_info(name, attempt, headers, &extension.settings);
    extension
        .plugin
        .call(&state.runtime, method, info, text)
        .await
        .map(webhook::reply)
        .map_err(|e| {
            webhook::call_failure(
                &format!("extension {name} /{method}"),
                e,
                StatusCode::BAD_REQUEST,
            )
        })
}
