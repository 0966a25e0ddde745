//! Calls from the external system an extension bridges (a messenger's webhook, a telephony
//! event), which the host forwards from `/extensions/NAME/inbound/...` to
//! [`Extension::inbound`](crate::Extension::inbound) when the extension is exported with
//! `export_extension!(MyExtension, inbound)` and its config sets `inbound = true`. Pyrus does
//! not sign them: verify the caller yourself (a shared secret in a header, the system's own
//! signature).

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The external system's request.
#[derive(Clone, Default)]
pub struct InboundRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path after `/inbound`, starting with `/`.
    pub path: String,
    /// The query string without `?`.
    pub query: Option<String>,
    /// Every header; names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Header values often carry secrets: `Debug` shows only the names.
impl fmt::Debug for InboundRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &crate::headers::names(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl InboundRequest {
    /// The first header named `name` (any case).
    ///
    /// ```
    /// let req = pyrus_plugin_sdk::InboundRequest {
    ///     headers: vec![("x-relay-secret".into(), "abc".into())],
    ///     ..Default::default()
    /// };
    /// assert_eq!(req.header("X-Relay-Secret"), Some("abc"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::headers::find(&self.headers, name)
    }

    /// The body decoded as JSON; a 400 `invalid_request` error otherwise.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, crate::PluginError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            crate::PluginError::bad_request(format!(
                "the body is not understood: {}",
                crate::model::de::json_error(&e)
            ))
        })
    }
}

/// The answer to the external system.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Like the request's: header names only.
impl fmt::Debug for InboundResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundResponse")
            .field("status", &self.status)
            .field("headers", &crate::headers::names(&self.headers))
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl InboundResponse {
    /// An empty answer with `status`.
    pub fn status(status: u16) -> InboundResponse {
        InboundResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `status` with `value` as a JSON body.
    ///
    /// ```
    /// let r = pyrus_plugin_sdk::InboundResponse::json(200, &serde_json::json!({"ok": true}));
    /// assert_eq!(r.body, br#"{"ok":true}"#);
    /// ```
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> InboundResponse {
        InboundResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}
