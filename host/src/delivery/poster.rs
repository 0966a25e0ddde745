//! Posting an async job's reply as a comment: `POST {api}/tasks/{task_id}/comments`.
//!
//! The token is the call's own `access_token` while it is valid (Pyrus issues it for 15
//! minutes; a margin is kept), else one the host gets with the bot's credentials
//! (`POST {api}/auth` with `login` + `security_key`), cached per bot. Tokens never reach a
//! log line or an error: errors name the status and Pyrus's `error_code` only.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::RequestOptions;

use super::job::Job;
use super::store::now_ms;
use super::AsyncPolicy;

/// A webhook's `access_token` lives 15 minutes; one older than this is not used.
const CALL_TOKEN_LIFE: Duration = Duration::from_secs(14 * 60);
/// How long a token from `/auth` is reused (Pyrus does not say; a refused one is dropped).
const AUTH_TOKEN_LIFE: Duration = Duration::from_secs(10 * 60);
/// The whole of one request to the API.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// What is read of an API answer at most.
const MAX_ANSWER: usize = 64 << 10;
/// The longest `Retry-After` honoured; longer ones wait this long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Why a post did not succeed, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Try again later (5xx, a timeout, a refused connection, 429): after `after` when the
    /// API said so.
    #[error("{reason}")]
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// The call's token was refused: try again with the bot's credentials.
    #[error("the call's access_token was refused ({0})")]
    TokenRefused(u16),
    /// Trying again will not help (a 4xx, no usable token, a refused `api_url`).
    #[error("{0}")]
    Permanent(String),
}

/// Posts comments, and keeps each bot's token from `/auth`.
#[derive(Default)]
pub struct Poster {
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

#[derive(serde::Deserialize)]
struct CallFields {
    access_token: Option<String>,
    api_url: Option<String>,
}

impl Poster {
    /// Posts `comment` (a JSON object) on the job's task.
    pub async fn post(
        &self,
        policy: &AsyncPolicy,
        job: &Job,
        comment: &str,
    ) -> Result<(), PostError> {
        let call: CallFields = serde_json::from_str(&job.body)
            .map_err(|_| PostError::Permanent("the queued body is not a JSON object".into()))?;
        let base = policy
            .base_for(call.api_url.as_deref())
            .map_err(|e| PostError::Permanent(e.to_string()))?
            .to_owned();
        let task_id = job
            .task_id()
            .ok_or_else(|| PostError::Permanent("the call has no task_id".into()))?;
        let fresh = now_ms().saturating_sub(job.accepted_ms) < CALL_TOKEN_LIFE.as_millis() as u64;
        let (token, own) = match call.access_token {
            Some(token) if fresh && !job.token_refused && !token.is_empty() => (token, true),
            _ => (self.bot_token(policy, &job.bot, &base).await?, false),
        };
        let url = format!("{base}tasks/{task_id}/comments");
        let (status, retry_after, answer) =
            send(&url, Some(&token), Bytes::from(comment.to_owned())).await?;
        match status {
            200..=299 => Ok(()),
            401 | 403 if own => Err(PostError::TokenRefused(status)),
            401 | 403 => {
                self.forget(&job.bot);
                Err(PostError::Retry {
                    reason: format!("the bot's token was refused ({status})"),
                    after: None,
                })
            }
            429 => Err(PostError::Retry {
                reason: "rate limited (429)".into(),
                after: Some(retry_after.unwrap_or(Duration::from_secs(60))),
            }),
            500..=599 => Err(PostError::Retry {
                reason: format!("the API answered {status}{}", error_code(&answer)),
                after: retry_after,
            }),
            _ => Err(PostError::Permanent(format!(
                "the API refused the comment: {status}{}",
                error_code(&answer)
            ))),
        }
    }

    /// A token from the bot's credentials, cached.
    async fn bot_token(
        &self,
        policy: &AsyncPolicy,
        bot: &str,
        base: &str,
    ) -> Result<String, PostError> {
        if let Some((token, at)) = self.lock().get(bot) {
            if at.elapsed() < AUTH_TOKEN_LIFE {
                return Ok(token.clone());
            }
        }
        let Some(credentials) = &policy.credentials else {
            return Err(PostError::Permanent(
                "the call's access_token has expired and the bot has no pyrus_login / pyrus_security_key".into(),
            ));
        };
        let body = serde_json::json!({
            "login": credentials.login,
            "security_key": String::from_utf8_lossy(credentials.security_key.expose()),
        });
        let (status, _, answer) =
            send(&format!("{base}auth"), None, Bytes::from(body.to_string())).await?;
        #[derive(serde::Deserialize)]
        struct Auth {
            access_token: String,
        }
        match status {
            200..=299 => {
                let auth: Auth = serde_json::from_slice(&answer).map_err(|_| PostError::Retry {
                    reason: "the API's /auth answer has no access_token".into(),
                    after: None,
                })?;
                self.lock()
                    .insert(bot.to_owned(), (auth.access_token.clone(), Instant::now()));
                Ok(auth.access_token)
            }
            429 | 500..=599 => Err(PostError::Retry {
                reason: format!("/auth answered {status}"),
                after: None,
            }),
            _ => Err(PostError::Permanent(format!(
                "/auth refused the bot's credentials: {status}{}",
                error_code(&answer)
            ))),
        }
    }

    fn forget(&self, bot: &str) {
        self.lock().remove(bot);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// ` (error_code)` from a Pyrus error answer, escaped and short, or nothing.
fn error_code(answer: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ApiError {
        error_code: Option<String>,
    }
    serde_json::from_slice::<ApiError>(answer)
        .ok()
        .and_then(|e| e.error_code)
        .map(|code| format!(" ({})", crate::text::sanitize(&code, 64)))
        .unwrap_or_default()
}

/// One JSON POST: the status, `Retry-After` (seconds) and at most [`MAX_ANSWER`] bytes of
/// the answer. A failure to connect or answer in time is a retry.
async fn send(
    url: &str,
    bearer: Option<&str>,
    body: Bytes,
) -> Result<(u16, Option<Duration>, Vec<u8>), PostError> {
    let retry = |reason: String| PostError::Retry {
        reason,
        after: None,
    };
    let mut request =
        http::Request::post(url).header(http::header::CONTENT_TYPE, "application/json");
    if let Some(token) = bearer {
        request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
        .body(Full::new(body).map_err(|never| match never {}))
        .map_err(|_| PostError::Permanent("the API URL is not valid".into()))?;
    let options = RequestOptions {
        connect_timeout: Some(REQUEST_TIMEOUT),
        first_byte_timeout: Some(REQUEST_TIMEOUT),
        between_bytes_timeout: Some(REQUEST_TIMEOUT),
    };
    let exchange = async {
        let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options))
            .await
            .map_err(|e| retry(format!("the API could not be reached: {e}")))?;
        tokio::spawn(io);
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
        let mut body = response.into_body();
        let mut answer = Vec::new();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Some(data) = frame.data_ref() {
                let room = MAX_ANSWER.saturating_sub(answer.len());
                answer.extend_from_slice(&data[..data.len().min(room)]);
                if room <= data.len() {
                    break;
                }
            }
        }
        Ok((status, retry_after, answer))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err(retry("the API did not answer in time".into())))
}
