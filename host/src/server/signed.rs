//! The webhooks Pyrus signs, for bots and extensions alike: `POST /bots/{name}`, and on an
//! extension's base URL `/extensions/{name}`, `GET /pulse` and
//! `POST /{authorize|toggle|event|sendmessage|createdialog|getavailablenumbers}`.
//!
//! Order of checks: known plugin (404) → known method (404) → admission (503 when the
//! plugin or the pool is busy, before any body is read) → body within the limit and time
//! (413, 408) → signature over the raw bytes (403; the plugin never sees an unsigned body)
//! → UTF-8 JSON object (400) → plugin. On `/pulse` a missing `X-Pyrus-Sig` is allowed (one
//! documented revision of the protocol omits it there), but a present and wrong one is
//! refused. A plugin error is answered 500 for bots (so that Pyrus retries), 400 for
//! extensions, unless the plugin chose a status.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tracing::Instrument;

use super::error::ApiError;
use super::webhook::{self, Failure};
use super::{body, bot_body, compiling, metrics, AppState};
use crate::delivery::queue::{Enqueued, NewJob};
use crate::delivery::{Answered, AsyncPolicy, DeliveryKey, Mode};
use crate::names::Kind;
use crate::registry::Loaded;
use crate::retry::{self, Attempt};
use crate::runtime::{Method, Reply, Request};
use crate::text;

/// Names come from the URL, before they are known to be configured: what the log keeps of
/// one (escaped).
pub(crate) const MAX_NAME_IN_LOG: usize = 80;

/// `POST /bots/{name}`.
pub async fn bot(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Path(name)) = path else {
        return webhook::invalid_path();
    };
    serve(state, Kind::Bot, name, None, headers, body).await
}

/// `GET /extensions/{name}/pulse`.
pub async fn pulse(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(Path(name)) = path else {
        return webhook::invalid_path();
    };
    let method = Some(Method::Pulse.path().to_string());
    serve(state, Kind::Extension, name, method, headers, Body::empty()).await
}

/// `POST /extensions/{name}/{method}`.
pub async fn extension(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Path((name, method))) = path else {
        return webhook::invalid_path();
    };
    serve(state, Kind::Extension, name, Some(method), headers, body).await
}

async fn serve(
    state: Arc<AppState>,
    kind: Kind,
    name: String,
    method: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let attempt = Attempt::parse(headers.get(retry::HEADER).map(|v| v.as_bytes()));
    let span = match &method {
        None => tracing::info_span!(
            "bot_call",
            bot = %text::sanitize(&name, MAX_NAME_IN_LOG),
            task_id = tracing::field::Empty,
            attempt = attempt.attempt,
        ),
        Some(method) => tracing::info_span!(
            "extension_call",
            extension = %text::sanitize(&name, MAX_NAME_IN_LOG),
            method = %text::sanitize(method, MAX_NAME_IN_LOG),
            attempt = attempt.attempt,
        ),
    };
    let call = Call {
        state: &state,
        kind,
        name: &name,
        headers: &headers,
        attempt,
    };
    let attempt_number = Some(attempt.attempt);
    webhook::observe(
        &state,
        kind,
        &name,
        attempt_number,
        call.run(method.as_deref(), body),
    )
    .instrument(span)
    .await
}

/// One signed webhook call.
struct Call<'a> {
    state: &'a AppState,
    kind: Kind,
    name: &'a str,
    headers: &'a HeaderMap,
    attempt: Attempt,
}

impl Call<'_> {
    async fn run(self, method: Option<&str>, body: Body) -> Result<Response, Failure> {
        // The snapshot keeps this plugin alive for the whole call, whatever reloads do.
        let registry = compiling::when_ready(self.state, self.kind, self.name).await?;
        let plugin = webhook::lookup(&registry, self.kind, self.name)?;
        let method = method.map(parse_method).transpose()?;
        // Named only when a call fails: no string is built for a call that succeeds.
        let what = || match method {
            None => format!("bot {}", self.name),
            Some(m) => format!("extension {} /{m}", self.name),
        };
        let refused = |e| webhook::call_failure(&what(), e, plugin_error_status(self.kind));
        // Admitted before the body is read: a call refused as busy costs no body.
        let admission = plugin.plugin.admit(&self.state.runtime).map_err(refused)?;
        let bytes = body::read(
            self.headers,
            body,
            self.state.max_body_bytes(),
            self.state.body_timeout,
        )
        .await
        .map_err(Failure::bad_request)?;
        let unsigned_ok = method == Some(Method::Pulse);
        webhook::verify(self.headers, &plugin.secret, &bytes, unsigned_ok)?;
        let text = webhook::utf8(bytes)?;
        if let (None, Mode::Async(policy)) = (method, &plugin.mode) {
            drop(admission);
            return self.accept(plugin, policy, text).await;
        }
        // The host reads a bot's body once: its check, the log's task_id, the delivery key.
        let (request, dedup) = match method {
            None => {
                let read = bot_body::read(&text)?;
                if let Some(task_id) = &read.task_id {
                    tracing::Span::current().record("task_id", tracing::field::display(task_id));
                }
                // Bots' retries are recognised by the call they repeat (`crate::delivery`).
                let dedup = plugin.dedup.enabled().then(|| {
                    let key = DeliveryKey::of_ids(&plugin.name, &read.ids, &text);
                    (key, plugin.dedup)
                });
                (Request::Bot(text), dedup)
            }
            Some(Method::Pulse) => (Request::Webhook(Method::Pulse, text), None),
            Some(method) => {
                webhook::require_json_object(&text)?;
                (Request::Webhook(method, text), None)
            }
        };
        let info = webhook::call_info(self.name, self.attempt, self.headers, &plugin.settings);
        let called = plugin
            .plugin
            .call(&self.state.runtime, admission, info, request);
        let run = async {
            match called.await {
                Ok(Reply::Json(json)) => Ok(json),
                Ok(Reply::Inbound(_)) => Err(webhook::call_failure(
                    &what(),
                    crate::runtime::CallError::InvalidReply(
                        "an inbound response to a webhook".into(),
                    ),
                    StatusCode::INTERNAL_SERVER_ERROR,
                )),
                Err(e) => Err(webhook::call_failure(
                    &what(),
                    e,
                    plugin_error_status(self.kind),
                )),
            }
        };
        let Some((key, policy)) = dedup else {
            return run.await.map(webhook::reply);
        };
        let timeout = plugin.plugin.sandbox.limits.timeout;
        match self.state.deliveries.once(key, policy, timeout, run).await {
            Ok(Answered::Ran(answer)) => answer.map(webhook::reply),
            Ok(Answered::Duplicate(answer)) => {
                tracing::info!(
                    dedup = "replayed",
                    "answered with an earlier delivery's answer"
                );
                metrics::record_duplicate(self.name, "sync");
                Ok(webhook::reply(answer))
            }
            Err(e) => Err(Failure::new(
                "duplicate_in_progress",
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "delivery_in_progress",
                    e.to_string(),
                ),
            )),
        }
    }
}

impl Call<'_> {
    /// Async mode: queues the call durably and answers an empty 200 at once; a worker runs
    /// the plugin and posts its reply as a comment. A retry of a queued call is answered
    /// the same without being queued again.
    async fn accept(
        &self,
        plugin: &Loaded,
        policy: &AsyncPolicy,
        text: String,
    ) -> Result<Response, Failure> {
        let read = bot_body::read(&text)?;
        let refuse = |code: &'static str, message: String| {
            Failure::bad_request(ApiError::new(StatusCode::BAD_REQUEST, code, message))
        };
        // Refused now rather than queued and parked: the worker could not post the reply.
        let Some(task_id) = read.ids.task_number() else {
            return Err(refuse(
                "missing_task_id",
                "an async bot's reply is posted on the call's task: the body has no numeric task_id"
                    .into(),
            ));
        };
        tracing::Span::current().record("task_id", tracing::field::display(task_id));
        let api_url = match &read.api_url {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(url)) => Some(url.as_str()),
            Some(_) => return Err(refuse("invalid_json", "api_url must be a string".into())),
        };
        if let Err(e) = policy.base_for(api_url) {
            return Err(refuse("api_url_not_allowed", e.to_string()));
        }
        let job = NewJob {
            bot: plugin.name.to_string(),
            key: DeliveryKey::of_ids(&plugin.name, &read.ids, &text),
            body: text,
            user_agent: self
                .headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| crate::text::sanitize(v, 200).into_owned()),
            window: plugin.dedup.window.max(std::time::Duration::from_secs(1)),
        };
        match self.state.deliveries.accept(job).await {
            Ok(Enqueued::New(id)) => {
                tracing::info!(job = id.0, "queued");
                Ok(webhook::reply(None))
            }
            Ok(Enqueued::Duplicate) => {
                tracing::info!(dedup = "already_queued", "a delivery of an accepted call");
                metrics::record_duplicate(self.name, "async");
                Ok(webhook::reply(None))
            }
            Ok(Enqueued::Full) => Err(Failure::new(
                "queue_full",
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "queue_full",
                    "the queue holds its most jobs; Pyrus will retry",
                ),
            )),
            Err(e) => Err(Failure::new(
                "queue_unavailable",
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "queue_unavailable",
                    format!("the call could not be queued: {e}"),
                ),
            )),
        }
    }
}

/// The status of a plugin error that chose none: a bot's is retried by Pyrus (500); an
/// extension's is the extension protocol's refusal (400).
fn plugin_error_status(kind: Kind) -> StatusCode {
    match kind {
        Kind::Bot => StatusCode::INTERNAL_SERVER_ERROR,
        Kind::Extension => StatusCode::BAD_REQUEST,
    }
}

fn parse_method(method: &str) -> Result<Method, Failure> {
    Method::from_path(method).ok_or_else(|| {
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
    })
}
