//! What Pyrus sends to an extension's webhooks, and what the extension answers.
//!
//! Only `/pulse` and `/authorize` are fully documented; the other bodies are known from
//! third-party code. Parse tolerantly: every request keeps the raw JSON (`raw()`) for fields
//! this SDK does not model.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::de::{null_default, Raw};
use super::Id;

/// One credential the user entered when connecting the extension (`code` is declared in
/// the extension's settings in Pyrus, e.g. `login`, `password`, `token`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Credential {
    pub code: String,
    #[serde(default, deserialize_with = "null_default")]
    value: String,
}

impl Credential {
    /// The value. It is often a password or token: never log it.
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credential {{ code: {:?}, value: [REDACTED] }}",
            self.code
        )
    }
}

/// Looks up a credential by code.
fn credential<'a>(list: &'a [Credential], code: &str) -> Option<&'a str> {
    list.iter().find(|c| c.code == code).map(Credential::expose)
}

macro_rules! with_raw {
    ($ty:ident) => {
        impl $ty {
            /// Parses the JSON body Pyrus sent, keeping the raw text.
            pub fn parse(json: &str) -> Result<$ty, serde_json::Error> {
                let mut req: $ty = serde_json::from_str(json)?;
                req.raw = Raw(json.to_string());
                Ok(req)
            }

            /// The JSON text Pyrus sent.
            pub fn raw(&self) -> &str {
                &self.raw.0
            }
        }
    };
}

/// `POST /authorize`: a user connects the extension to a form, with credentials (access
/// keys) or an OAuth `authorization_code`.
///
/// ```
/// use pyrus_plugin_sdk::AuthorizeRequest;
/// let req = AuthorizeRequest::parse(r#"{"credentials":[{"code":"login","value":"me"},
///     {"code":"password","value":"pw"}]}"#).unwrap();
/// assert_eq!(req.credential("login"), Some("me"));
/// assert!(!format!("{req:?}").contains("pw"));
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct AuthorizeRequest {
    #[serde(default, deserialize_with = "null_default")]
    pub credentials: Vec<Credential>,
    /// The OAuth 2.0 code, in the OAuth variant.
    pub authorization_code: Option<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    #[serde(skip)]
    raw: Raw,
}
with_raw!(AuthorizeRequest);

impl AuthorizeRequest {
    /// The value of the credential with this code.
    pub fn credential(&self, code: &str) -> Option<&str> {
        credential(&self.credentials, code)
    }
}

/// The answer to `/authorize`: the account in the external system.
///
/// ```
/// # use pyrus_plugin_sdk::AuthorizeReply;
/// let r = AuthorizeReply::new("bot-42", "Support bot");
/// assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"account_id":"bot-42","account_name":"Support bot"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuthorizeReply {
    /// The account's unique id in the external system (a group id, a bot name...).
    pub account_id: String,
    /// The name shown in the extension's settings in Pyrus.
    pub account_name: String,
}

impl AuthorizeReply {
    pub fn new(account_id: impl Into<String>, account_name: impl Into<String>) -> Self {
        AuthorizeReply {
            account_id: account_id.into(),
            account_name: account_name.into(),
        }
    }
}

/// `POST /toggle`: the extension was enabled, disabled or deleted in a form.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct ToggleRequest {
    pub account_id: Option<String>,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub credentials: Vec<Credential>,
    #[serde(skip)]
    raw: Raw,
}
with_raw!(ToggleRequest);

/// `POST /sendmessage`: an operator replied in Pyrus; deliver the message to the external
/// channel.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct SendMessageRequest {
    pub account_id: Option<String>,
    /// The external chat or contact id.
    pub channel_id: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub message_text: String,
    /// Pyrus file ids, to download through the Extensions API.
    #[serde(default, deserialize_with = "null_default")]
    pub attachment_ids: Vec<Id>,
    #[serde(default, deserialize_with = "null_default")]
    pub credentials: Vec<Credential>,
    #[serde(skip)]
    raw: Raw,
}
with_raw!(SendMessageRequest);

impl SendMessageRequest {
    pub fn credential(&self, code: &str) -> Option<&str> {
        credential(&self.credentials, code)
    }

    /// The channel to deliver to, or a 400 `invalid_request` when Pyrus sent none.
    ///
    /// ```
    /// let req = pyrus_plugin_sdk::SendMessageRequest::parse(r#"{"channel_id":"c1"}"#).unwrap();
    /// assert_eq!(req.channel().unwrap(), "c1");
    /// let none = pyrus_plugin_sdk::SendMessageRequest::parse("{}").unwrap();
    /// assert_eq!(none.channel().unwrap_err().code, "invalid_request");
    /// ```
    pub fn channel(&self) -> Result<&str, crate::PluginError> {
        self.channel_id
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| crate::PluginError::bad_request("channel_id is missing"))
    }
}

/// The answer to `/sendmessage`: the external system's id of the delivered message, when it
/// has one (this host's convention; Pyrus needs only a 2xx).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SendMessageReply {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

impl SendMessageReply {
    pub fn delivered(message_id: impl Into<String>) -> Self {
        SendMessageReply {
            message_id: Some(message_id.into()),
        }
    }
}

/// A body whose shape is not documented (`/event`, `/createdialog`, `/getavailablenumbers`):
/// the fields seen in the wild, and the raw JSON for the rest.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct ExtensionRequest {
    pub account_id: Option<String>,
    pub channel_id: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub credentials: Vec<Credential>,
    #[serde(skip)]
    raw: Raw,
}
with_raw!(ExtensionRequest);

impl ExtensionRequest {
    pub fn credential(&self, code: &str) -> Option<&str> {
        credential(&self.credentials, code)
    }

    /// The body as JSON, to read what this SDK does not model.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.raw.0).unwrap_or_default()
    }
}
