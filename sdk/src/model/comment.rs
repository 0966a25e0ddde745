//! Task comments, as Pyrus sends them (the read side).

use serde::Deserialize;
use serde_json::Value;

use super::de::null_default;
use super::field::{Attachment, Field};
use super::task::Approval;
use super::{Action, ApprovalChoice, ChannelType, Id, Person};

/// One comment of a task: text, and/or the changes it made (field updates, approvals,
/// reassignment...). Most comments Pyrus sends have **no text**: they record a change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Comment {
    pub id: Option<Id>,
    pub text: Option<String>,
    pub formatted_text: Option<String>,
    pub create_date: Option<String>,
    pub author: Option<Person>,
    pub reassigned_to: Option<Person>,
    #[serde(default, deserialize_with = "null_default")]
    pub field_updates: Vec<Field>,
    pub approval_choice: Option<ApprovalChoice>,
    pub approval_step: Option<i64>,
    pub reset_to_step: Option<i64>,
    pub changed_step: Option<i64>,
    pub action: Option<Action>,
    #[serde(default, deserialize_with = "null_default")]
    pub attachments: Vec<Attachment>,
    pub channel: Option<Channel>,
    #[serde(default, deserialize_with = "null_default")]
    pub approvals_added: Vec<Vec<Approval>>,
    #[serde(default, deserialize_with = "null_default")]
    pub approvals_removed: Vec<Vec<Approval>>,
    #[serde(default, deserialize_with = "null_default")]
    pub approvals_rerequested: Vec<Vec<Approval>>,
    #[serde(default, deserialize_with = "null_default")]
    pub subscribers_added: Vec<Person>,
    #[serde(default, deserialize_with = "null_default")]
    pub subscribers_removed: Vec<Person>,
    #[serde(default, deserialize_with = "null_default")]
    pub participants_added: Vec<Person>,
    #[serde(default, deserialize_with = "null_default")]
    pub participants_removed: Vec<Person>,
    #[serde(default, deserialize_with = "null_default")]
    pub added_list_ids: Vec<Id>,
    #[serde(default, deserialize_with = "null_default")]
    pub removed_list_ids: Vec<Id>,
    pub due_date: Option<String>,
    pub due: Option<String>,
    pub duration: Option<i64>,
    pub spent_minutes: Option<i64>,
    pub reply_note_id: Option<Id>,
}

impl Comment {
    /// The comment's text, if it has non-blank text.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref().filter(|t| !t.trim().is_empty())
    }
}

/// The external channel of a comment (a messenger chat, an email thread...).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Channel {
    #[serde(rename = "type")]
    pub kind: ChannelType,
    pub to: Option<Value>,
    pub from: Option<Value>,
}
