//! Outbound HTTP through the host (`wasi:http/outgoing-handler`), blocking and small: build a
//! [`Request`], [`send`] it, read the [`Response`].
//!
//! The host lets a request out only to the plugin's `allowed_outbound_hosts` (scheme, host and
//! port; `https://*.example.com` for subdomains) and caps the requests per call, their time
//! and the response size; a refused request fails with [`HttpError::Denied`].
//!
//! ```no_run
//! use pyrus_plugin_sdk::http::{send, Request};
//!
//! # fn demo() -> Result<(), pyrus_plugin_sdk::http::HttpError> {
//! let reply = send(
//!     Request::post("https://messenger.example.com/api/send")
//!         .header("Authorization", "Bearer ...")
//!         .json(&serde_json::json!({"chat": "42", "text": "hi"})),
//! )?;
//! if reply.status == 200 {
//!     let body: serde_json::Value = reply.json()?;
//! #   let _ = body;
//! }
//! # Ok(()) }
//! ```
//!
//! These functions call the host and are not available in native unit tests.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// An HTTP request to send.
#[derive(Clone)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Header values can hold tokens: `Debug` shows only their names.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &crate::headers::names(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Request {
    /// A request with any method.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `GET url`.
    pub fn get(url: impl Into<String>) -> Request {
        Request::new("GET", url)
    }

    /// `POST url`.
    pub fn post(url: impl Into<String>) -> Request {
        Request::new("POST", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Authorization: Bearer TOKEN`.
    pub fn bearer(self, token: &str) -> Request {
        self.header("Authorization", format!("Bearer {token}"))
    }

    /// Sets the body to `value` as JSON, with its content type.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Request {
        self.body = serde_json::to_vec(value).unwrap_or_default();
        self.header("Content-Type", "application/json")
    }

    /// Sets the raw body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }
}

/// What the server answered.
#[derive(Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Header values can hold tokens (`Set-Cookie`...): `Debug` shows only their names.
impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &crate::headers::names(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Response {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::headers::find(&self.headers, name)
    }

    /// The body decoded as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| HttpError::Json(crate::model::de::json_error(&e)))
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host refused it: the destination is not in `allowed_outbound_hosts`, or the call
    /// used up its requests.
    Denied,
    /// The URL is not `http(s)://host[:port]/path`.
    InvalidUrl(String),
    /// The response was larger than the host allows.
    ResponseTooLarge,
    /// No answer in time.
    Timeout,
    /// The body was not the JSON expected.
    Json(String),
    /// Anything else the host reported (connection refused, DNS, TLS, ...).
    Failed(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Denied => write!(f, "the host denied the request (allowed_outbound_hosts)"),
            // Without its query or fragment: they may carry tokens.
            HttpError::InvalidUrl(url) => {
                let shown: String = url
                    .split(['?', '#'])
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(100)
                    .collect();
                write!(f, "invalid URL {shown:?}")
            }
            HttpError::ResponseTooLarge => write!(f, "the response is over the host's limit"),
            HttpError::Timeout => write!(f, "no response in time"),
            HttpError::Json(e) => write!(f, "the response is not the JSON expected: {e}"),
            HttpError::Failed(e) => write!(f, "the request failed: {e}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// An outbound request failure fails the call with 502 `upstream_error`.
impl From<HttpError> for crate::PluginError {
    fn from(e: HttpError) -> crate::PluginError {
        crate::PluginError::new("upstream_error", e.to_string()).with_status(502)
    }
}

/// `https://host:port/path?q` → (https, host:port, /path?q).
fn split_url(url: &str) -> Result<(bool, &str, &str), HttpError> {
    let invalid = || HttpError::InvalidUrl(url.to_string());
    let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return Err(invalid()),
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(invalid());
    }
    Ok((https, authority, path))
}

/// Sends `request` and waits for the whole response.
pub fn send(request: Request) -> Result<Response, HttpError> {
    imp::send(request)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{split_url, HttpError, Request, Response};
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{
        ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme,
    };
    use wasip2::io::streams::StreamError;

    fn failed(e: ErrorCode) -> HttpError {
        match e {
            ErrorCode::HttpRequestDenied => HttpError::Denied,
            ErrorCode::HttpResponseBodySize(_) => HttpError::ResponseTooLarge,
            ErrorCode::ConnectionTimeout
            | ErrorCode::ConnectionReadTimeout
            | ErrorCode::HttpResponseTimeout => HttpError::Timeout,
            other => HttpError::Failed(format!("{other:?}")),
        }
    }

    pub fn send(request: Request) -> Result<Response, HttpError> {
        let (https, authority, path) = split_url(&request.url)?;
        let headers = Fields::new();
        for (name, value) in &request.headers {
            headers
                .append(name, value.as_bytes())
                .map_err(|e| HttpError::Failed(format!("header {name}: {e:?}")))?;
        }
        let outgoing = OutgoingRequest::new(headers);
        let method = match request.method.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "HEAD" => Method::Head,
            other => Method::Other(other.to_string()),
        };
        let invalid = |_| HttpError::InvalidUrl(request.url.clone());
        outgoing.set_method(&method).map_err(invalid)?;
        outgoing
            .set_scheme(Some(if https { &Scheme::Https } else { &Scheme::Http }))
            .map_err(invalid)?;
        outgoing.set_authority(Some(authority)).map_err(invalid)?;
        outgoing.set_path_with_query(Some(path)).map_err(invalid)?;
        let body = outgoing
            .body()
            .map_err(|_| HttpError::Failed("no request body".into()))?;
        let pending = outgoing_handler::handle(outgoing, None).map_err(failed)?;
        {
            let stream = body
                .write()
                .map_err(|_| HttpError::Failed("no request body stream".into()))?;
            // The stream takes at most 4096 bytes per blocking write.
            for chunk in request.body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| HttpError::Failed(format!("writing the body: {e:?}")))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(failed)?;
        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(e))) => return Err(failed(e)),
            _ => return Err(HttpError::Failed("no response".into())),
        };
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let incoming = response
            .consume()
            .map_err(|_| HttpError::Failed("no response body".into()))?;
        let mut bytes = Vec::new();
        {
            let stream = incoming
                .stream()
                .map_err(|_| HttpError::Failed("no response body stream".into()))?;
            loop {
                match stream.blocking_read(64 * 1024) {
                    Ok(chunk) => bytes.extend_from_slice(&chunk),
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        // The host's text (first line: the rest may be a backtrace).
                        let text = e.to_debug_string();
                        let first = text.lines().next().unwrap_or_default().to_string();
                        return Err(if first.contains("body size exceeds limit") {
                            HttpError::ResponseTooLarge
                        } else {
                            HttpError::Failed(first)
                        });
                    }
                }
            }
        }
        let _ = IncomingBody::finish(incoming);
        Ok(Response {
            status,
            headers,
            body: bytes,
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{split_url, HttpError, Request, Response};

    /// Outside the host there is no outbound HTTP: tests exercise the logic around it.
    pub fn send(request: Request) -> Result<Response, HttpError> {
        split_url(&request.url)?;
        Err(HttpError::Failed(
            "outbound HTTP runs only inside pyrus-host".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{split_url, Request};

    #[test]
    fn urls_split_and_requests_hide_header_values() {
        assert_eq!(
            split_url("https://api.pyrus.com/v4/tasks/1?x=2").unwrap(),
            (true, "api.pyrus.com", "/v4/tasks/1?x=2")
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080").unwrap(),
            (false, "127.0.0.1:8080", "/")
        );
        assert!(split_url("ftp://x/").is_err());
        assert!(split_url("https:///x").is_err());
        let r = Request::get("https://a/").bearer("s3cret-token");
        assert!(!format!("{r:?}").contains("s3cret-token"));
    }
}
