//! `ANY /extensions/{name}/inbound/{*path}`: calls from the external system an extension
//! bridges (a messenger's webhook, a telephony event). Off unless the extension's config
//! sets `inbound = true`. Pyrus does not sign these, and the host does not know the external
//! system's scheme: the plugin gets method, path, query, headers and body, verifies the
//! caller itself, and answers status, headers and body.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::error::ApiError;
use super::webhook::{self, Failure};
use super::{body, AppState};
use crate::names::Kind;
use crate::retry::Attempt;
use crate::runtime::{InboundRequest, Reply, Request};

/// Headers that frame the HTTP message; the host sets them, never the plugin.
const FRAMING: [&str; 4] = [
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
];

/// `/extensions/{name}/inbound` and `/extensions/{name}/inbound/{*path}`. The name and the
/// path the plugin sees are read from the raw URI, not decoded: the plugin gets the path as
/// sent, and no byte sequence in it can stop the call before the plugin.
pub async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let name = split(uri.path()).map_or("", |(name, _)| name).to_string();
    dispatch(state, name, method, uri, headers, body).await
}

/// The extension's name and the path after `/inbound` (empty when there is none), from a
/// raw `/extensions/{name}/inbound[/...]` path.
fn split(path: &str) -> Option<(&str, &str)> {
    let (name, rest) = path.strip_prefix("/extensions/")?.split_once('/')?;
    let tail = rest.strip_prefix("inbound")?;
    (tail.is_empty() || tail.starts_with('/')).then_some((name, tail))
}

async fn dispatch(
    state: Arc<AppState>,
    name: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let span = tracing::info_span!(
        "inbound_call",
        extension = %crate::text::sanitize(&name, super::signed::MAX_NAME_IN_LOG),
        method = %crate::text::sanitize(method.as_str(), super::signed::MAX_NAME_IN_LOG),
    );
    webhook::observe(
        &state,
        Kind::Extension,
        &name,
        None,
        serve(&state, &name, method, uri, headers, body),
    )
    .instrument(span)
    .await
}

async fn serve(
    state: &AppState,
    name: &str,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let registry = super::compiling::when_ready(state, Kind::Extension, name).await?;
    let extension = registry
        .get(Kind::Extension, name)
        .filter(|e| e.plugin.takes_inbound())
        .ok_or_else(|| {
            // Unknown and not enabled look alike from outside.
            Failure::new(
                "unknown_extension",
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown_inbound",
                    format!(
                        "no extension named {:?} takes inbound calls",
                        crate::text::sanitize(name, super::signed::MAX_NAME_IN_LOG)
                    ),
                ),
            )
        })?;
    // Named only when a call fails: no string is built for a call that succeeds.
    let what = || format!("extension {name} inbound");
    // Admitted before the body is read: a call refused as busy costs no body.
    let admission = (extension.plugin.admit(&state.runtime))
        .map_err(|e| webhook::call_failure(&what(), e, StatusCode::BAD_REQUEST))?;
    let bytes = body::read(&headers, body, state.max_body_bytes(), state.body_timeout)
        .await
        .map_err(Failure::bad_request)?;
    let path = split(uri.path()).map_or("", |(_, path)| path);
    let request = InboundRequest {
        method: method.to_string(),
        path: if path.is_empty() {
            "/".into()
        } else {
            path.to_string()
        },
        query: uri.query().map(str::to_owned),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: bytes.to_vec(),
    };
    let info = webhook::call_info(name, Attempt::default(), &headers, &extension.settings);
    let reply = extension
        .plugin
        .call(&state.runtime, admission, info, Request::Inbound(request))
        .await
        .map_err(|e| webhook::call_failure(&what(), e, StatusCode::BAD_REQUEST))?;
    let Reply::Inbound(response) = reply else {
        return Err(webhook::call_failure(
            &what(),
            crate::runtime::CallError::InvalidReply("a webhook reply to an inbound call".into()),
            StatusCode::INTERNAL_SERVER_ERROR,
        ));
    };
    let mut answer = Response::builder().status(response.status);
    for (k, v) in &response.headers {
        let (Ok(k), Ok(v)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) else {
            return Err(Failure::new(
                "invalid_reply",
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "invalid_plugin_reply",
                    format!(
                        "extension {name} inbound: header {:?} is not valid HTTP",
                        crate::text::sanitize(k, 128)
                    ),
                ),
            ));
        };
        if !FRAMING.contains(&k.as_str()) {
            answer = answer.header(k, v);
        }
    }
    Ok(answer
        .body(Body::from(response.body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn name_and_path_come_from_the_raw_uri() {
        assert_eq!(split("/extensions/relay/inbound"), Some(("relay", "")));
        assert_eq!(
            split("/extensions/relay/inbound/a/%ff"),
            Some(("relay", "/a/%ff"))
        );
        assert_eq!(split("/extensions/relay/inboundx"), None);
        assert_eq!(split("/extensions/relay/pulse"), None);
    }
}
