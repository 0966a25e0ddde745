//! The body Pyrus POSTs to a bot.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::de::Raw;
use super::{Event, Id, Person, Task};

/// A bot webhook call: the event, the task, and a short-lived token to call the Pyrus API.
///
/// Parse tolerantly: unknown fields are ignored, ids may be strings, `task` may be absent.
///
/// ```
/// use pyrus_plugin_sdk::BotRequest;
/// let req = BotRequest::parse(r#"{"event":"comment","task_id":"42","access_token":"t",
///     "task":{"id":42,"author":{"id":1,"email":"bob@example.com"}}}"#).unwrap();
/// assert_eq!(req.task_id().unwrap().0, 42);
/// assert_eq!(req.author().and_then(|a| a.email()), Some("bob@example.com"));
/// assert_eq!(format!("{:?}", req.access_token), "Some(AccessToken([REDACTED]))");
/// assert!(!format!("{req:?}").contains("\"t\""));
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct BotRequest {
    #[serde(default)]
    pub event: Event,
    /// Bearer token for the Pyrus API as this bot; valid for about 15 minutes.
    pub access_token: Option<AccessToken>,
    pub task_id: Option<Id>,
    /// The bot's own person id.
    pub user_id: Option<Id>,
    /// The "Settings" text of the bot's profile in Pyrus, verbatim. Absent, empty and text are
    /// three different things.
    pub bot_settings: Option<String>,
    pub task: Option<Task>,
    /// Where to call the Pyrus API (differs for on-premise installs), e.g.
    /// `https://api.pyrus.com/v4/`.
    pub api_url: Option<String>,
    /// Where to download files from, e.g. `https://files.pyrus.com/`.
    pub files_url: Option<String>,
    #[serde(skip)]
    raw: Raw,
}

impl BotRequest {
    /// Parses the JSON body Pyrus sent, keeping the raw text for [`BotRequest::raw`].
    pub fn parse(json: &str) -> Result<BotRequest, serde_json::Error> {
        Self::parse_owned(json.to_string())
    }

    /// Like [`BotRequest::parse`], taking ownership of the text to avoid a copy.
    pub fn parse_owned(json: String) -> Result<BotRequest, serde_json::Error> {
        let mut req: BotRequest = serde_json::from_str(&json)?;
        req.raw = Raw(json);
        Ok(req)
    }

    /// The JSON text Pyrus sent, for fields this SDK does not model.
    pub fn raw(&self) -> &str {
        &self.raw.0
    }

    /// The task's id: `task_id` (authoritative), else `task.id`.
    pub fn task_id(&self) -> Option<Id> {
        self.task_id.or(self.task.as_ref().and_then(|t| t.id))
    }

    /// The task's author.
    pub fn author(&self) -> Option<&Person> {
        self.task.as_ref()?.author.as_ref()
    }

    /// `bot_settings` parsed as JSON into `T`; `Ok(None)` when absent or blank.
    ///
    /// ```
    /// # use pyrus_plugin_sdk::BotRequest;
    /// #[derive(serde::Deserialize)]
    /// struct Settings { #[serde(rename = "SourceFieldCode")] source: String }
    /// let req = BotRequest::parse(r#"{"bot_settings": "{\"SourceFieldCode\": \"u_Src\"}"}"#).unwrap();
    /// assert_eq!(req.bot_settings_json::<Settings>().unwrap().unwrap().source, "u_Src");
    /// ```
    pub fn bot_settings_json<T: DeserializeOwned>(&self) -> Result<Option<T>, serde_json::Error> {
        match self.bot_settings.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => serde_json::from_str(text).map(Some),
        }
    }
}

/// The webhook's Pyrus API token. Its `Debug` never shows it: tokens must not reach logs.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct AccessToken(String);

impl AccessToken {
    /// The token, for an `Authorization: Bearer` header. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}
