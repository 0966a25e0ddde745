//! Calling Pyrus back, on top of [outbound HTTP](crate::http): the Pyrus API (v4) for bots and
//! the Extensions API (v1) for extensions. The host must allow the API's host in the
//! plugin's `allowed_outbound_hosts` (`https://api.pyrus.com`, `https://extensions.pyrus.com`,
//! and `https://accounts.pyrus.com` for [`PyrusApi::authenticate`]).
//!
//! A bot that answers at once and comments later, with the token of the webhook:
//!
//! ```no_run
//! use pyrus_plugin_sdk::pyrus::PyrusApi;
//! use pyrus_plugin_sdk::{BotReply, BotRequest};
//!
//! # fn demo(req: &BotRequest) -> Result<(), pyrus_plugin_sdk::pyrus::ApiError> {
//! let api = PyrusApi::for_bot(req)?;
//! let task_id = req.task_id().map(|id| id.0).unwrap_or_default();
//! api.comment_task(task_id, &BotReply::new().text("Done, see the attached report."))?;
//! # Ok(()) }
//! ```
//!
//! Rate limits (5000 requests per 10 minutes) surface as [`ApiError::RateLimited`] with the
//! `X-RateLimit-*` values. Tokens never show in `Debug` output or errors.

use std::fmt;

use serde::Serialize;
use serde_json::{json, Value};

use crate::http::{self, HttpError, Request, Response};
use crate::{BotReply, BotRequest, PluginError};

/// Pyrus' public API, when a webhook does not say otherwise.
pub const DEFAULT_API_URL: &str = "https://api.pyrus.com/v4/";
/// Where bots authenticate with their login and security key.
pub const ACCOUNTS_URL: &str = "https://accounts.pyrus.com/api/v4/";
/// The Extensions API.
pub const EXTENSIONS_API_URL: &str = "https://extensions.pyrus.com/v1/";

/// A bearer token; `Debug` never shows it.
#[derive(Clone)]
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token([REDACTED])")
    }
}

/// Why a Pyrus API call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// `429`: over the rate limit. Wait `reset_seconds` (from `X-RateLimit-Reset`) if given.
    RateLimited {
        limit: Option<u64>,
        remaining: Option<u64>,
        reset_seconds: Option<u64>,
    },
    /// Pyrus answered an error: its status, `error_code` and `error`.
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// The request got no answer (denied by the host, timeout, connection...).
    Http(HttpError),
    /// The webhook carried no `access_token`.
    NoToken,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::RateLimited { reset_seconds, .. } => match reset_seconds {
                Some(s) => write!(f, "Pyrus rate limit reached, resets in {s} s"),
                None => write!(f, "Pyrus rate limit reached"),
            },
            ApiError::Api {
                status,
                code,
                message,
            } => write!(f, "Pyrus answered {status} {code}: {message}"),
            ApiError::Http(e) => write!(f, "{e}"),
            ApiError::NoToken => write!(f, "the webhook carried no access_token"),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<HttpError> for ApiError {
    fn from(e: HttpError) -> ApiError {
        ApiError::Http(e)
    }
}

/// An API failure fails the call with a 5xx, so that Pyrus retries it later: 503
/// `rate_limited` for the rate limit, else 502 `pyrus_api_error`.
impl From<ApiError> for PluginError {
    fn from(e: ApiError) -> PluginError {
        match e {
            ApiError::RateLimited { .. } => {
                PluginError::new("rate_limited", e.to_string()).with_status(503)
            }
            other => PluginError::new("pyrus_api_error", other.to_string()).with_status(502),
        }
    }
}

fn base(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

/// Sends `request` and checks the answer: 2xx gives its JSON (null when empty), 429 and
/// errors become [`ApiError`]s.
fn call(request: Request) -> Result<Value, ApiError> {
    check(http::send(request)?)
}

fn check(response: Response) -> Result<Value, ApiError> {
    let number = |name: &str| response.header(name).and_then(|v| v.trim().parse().ok());
    if response.status == 429 {
        return Err(ApiError::RateLimited {
            limit: number("X-RateLimit-Limit"),
            remaining: number("X-RateLimit-Remaining"),
            reset_seconds: number("X-RateLimit-Reset"),
        });
    }
    let json: Value = if response.body.is_empty() {
        Value::Null
    } else {
        response.json().unwrap_or(Value::Null)
    };
    if (200..300).contains(&response.status) {
        return Ok(json);
    }
    Err(ApiError::Api {
        status: response.status,
        code: json["error_code"].as_str().unwrap_or("unknown").to_string(),
        message: json["error"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| response.text().chars().take(200).collect()),
    })
}

/// The Pyrus API (v4) as a bot.
#[derive(Debug, Clone)]
pub struct PyrusApi {
    api_url: String,
    token: Token,
}

impl PyrusApi {
    /// A client for `api_url` (e.g. [`DEFAULT_API_URL`]) with `token`.
    pub fn new(api_url: &str, token: &str) -> PyrusApi {
        PyrusApi {
            api_url: base(api_url),
            token: Token(token.to_string()),
        }
    }

    /// A client with the webhook's `access_token` (valid 15 minutes) and `api_url`.
    pub fn for_bot(request: &BotRequest) -> Result<PyrusApi, ApiError> {
        let token = request.access_token.as_ref().ok_or(ApiError::NoToken)?;
        let api_url = request.api_url.as_deref().unwrap_or(DEFAULT_API_URL);
        Ok(PyrusApi::new(api_url, token.expose()))
    }

    /// Authenticates with the bot's login and security key (`POST {accounts_url}/auth`), for
    /// work that outlives the webhook's token. Uses the `api_url` Pyrus returns.
    ///
    /// ```no_run
    /// use pyrus_plugin_sdk::{pyrus::{PyrusApi, ACCOUNTS_URL}, variables};
    /// # fn demo() -> Result<(), pyrus_plugin_sdk::PluginError> {
    /// let api = PyrusApi::authenticate(
    ///     ACCOUNTS_URL,
    ///     &variables::require("login")?,
    ///     &variables::require("security_key")?,
    /// )?;
    /// # let _ = api; Ok(()) }
    /// ```
    pub fn authenticate(
        accounts_url: &str,
        login: &str,
        security_key: &str,
    ) -> Result<PyrusApi, ApiError> {
        let reply = call(
            Request::post(format!("{}auth", base(accounts_url)))
                .json(&json!({"login": login, "security_key": security_key})),
        )?;
        let token = reply["access_token"].as_str().ok_or(ApiError::NoToken)?;
        let api_url = reply["api_url"].as_str().unwrap_or(DEFAULT_API_URL);
        Ok(PyrusApi::new(api_url, token))
    }

    /// The API base URL in use.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// `GET {api_url}{path}` with the token.
    pub fn get(&self, path: &str) -> Result<Value, ApiError> {
        call(Request::get(format!("{}{path}", self.api_url)).bearer(&self.token.0))
    }

    /// `POST {api_url}{path}` with the token and a JSON body.
    pub fn post<T: Serialize + ?Sized>(&self, path: &str, body: &T) -> Result<Value, ApiError> {
        call(
            Request::post(format!("{}{path}", self.api_url))
                .bearer(&self.token.0)
                .json(body),
        )
    }

    /// Adds a comment to a task (`POST /tasks/{id}/comments`); the comment has the schema of
    /// a bot's reply, so a [`BotReply`] is one. Returns the task as Pyrus answers it.
    pub fn comment_task(&self, task_id: i64, comment: &BotReply) -> Result<Value, ApiError> {
        self.post(&format!("tasks/{task_id}/comments"), comment)
    }

    /// The task with its comments (`GET /tasks/{id}`).
    pub fn get_task(&self, task_id: i64) -> Result<Value, ApiError> {
        self.get(&format!("tasks/{task_id}"))
    }
}

/// The Pyrus Extensions API (v1), as an extension.
#[derive(Debug, Clone)]
pub struct ExtensionsApi {
    base: String,
    token: Token,
}

/// An external message for `POST /getmessage`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IncomingMessage {
    pub account_id: String,
    pub channel_id: String,
    pub message_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
}

impl ExtensionsApi {
    /// A client for `base` (e.g. [`EXTENSIONS_API_URL`]) with a token you already have.
    pub fn new(base_url: &str, token: &str) -> ExtensionsApi {
        ExtensionsApi {
            base: base(base_url),
            token: Token(token.to_string()),
        }
    }

    /// Gets a token (`POST {base}/token` with the extension's `client_id` and `secret`).
    ///
    /// ```no_run
    /// use pyrus_plugin_sdk::{pyrus::{ExtensionsApi, EXTENSIONS_API_URL}, variables};
    /// # fn demo() -> Result<(), pyrus_plugin_sdk::PluginError> {
    /// let api = ExtensionsApi::authenticate(
    ///     EXTENSIONS_API_URL,
    ///     &variables::require("client_id")?,
    ///     &variables::require("client_secret")?,
    /// )?;
    /// # let _ = api; Ok(()) }
    /// ```
    pub fn authenticate(
        base_url: &str,
        client_id: &str,
        secret: &str,
    ) -> Result<ExtensionsApi, ApiError> {
        let reply = call(
            Request::post(format!("{}token", base(base_url)))
                .json(&json!({"client_id": client_id, "secret": secret})),
        )?;
        let token = reply["access_token"].as_str().ok_or(ApiError::NoToken)?;
        Ok(ExtensionsApi::new(base_url, token))
    }

    fn post<T: Serialize + ?Sized>(&self, path: &str, body: &T) -> Result<Value, ApiError> {
        call(
            Request::post(format!("{}{path}", self.base))
                .bearer(&self.token.0)
                .json(body),
        )
    }

    /// Delivers a message from the external system into Pyrus (`POST /getmessage`).
    pub fn get_message(&self, message: &IncomingMessage) -> Result<Value, ApiError> {
        self.post("getmessage", message)
    }

    /// Creates a task in the extension's form (`POST /task`).
    pub fn create_task(&self, task: &Value) -> Result<Value, ApiError> {
        self.post("task", task)
    }
}

#[cfg(test)]
mod tests {
    use super::{check, ApiError, PyrusApi};
    use crate::http::Response;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn answers_become_results_and_typed_errors() {
        assert_eq!(check(response(200, &[], r#"{"a":1}"#)).unwrap()["a"], 1);
        assert!(check(response(200, &[], "")).unwrap().is_null());
        assert_eq!(
            check(response(
                429,
                &[
                    ("x-ratelimit-limit", "5000"),
                    ("X-RateLimit-Remaining", "0"),
                    ("X-RateLimit-Reset", "42")
                ],
                "{}"
            )),
            Err(ApiError::RateLimited {
                limit: Some(5000),
                remaining: Some(0),
                reset_seconds: Some(42)
            })
        );
        assert_eq!(
            check(response(
                401,
                &[],
                r#"{"error":"token expired","error_code":"invalid_token"}"#
            )),
            Err(ApiError::Api {
                status: 401,
                code: "invalid_token".into(),
                message: "token expired".into()
            })
        );
        let api = PyrusApi::new("https://api.pyrus.com/v4", "secret-token");
        assert_eq!(api.api_url(), "https://api.pyrus.com/v4/");
        assert!(!format!("{api:?}").contains("secret-token"));
    }
}
