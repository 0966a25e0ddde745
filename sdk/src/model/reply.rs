//! The bot's answer: a comment Pyrus posts on the task.

use serde::Serialize;
use serde_json::Value;

use super::field::FieldUpdate;
use super::{Action, ApprovalChoice, ChannelType, Id, PersonRef};

/// A comment the bot posts in reply (the schema of `POST /tasks/{id}/comments`), built with
/// chained calls. Unset parts are left out of the JSON.
///
/// ```
/// use pyrus_plugin_sdk::{BotReply, FieldUpdate};
/// let reply = BotReply::new()
///     .text("Checked by bot")
///     .approve()
///     .field_update(FieldUpdate::by_id(7, "OK"))
///     .field_update(FieldUpdate::by_code("u_Amount", 1365.27));
/// assert_eq!(
///     reply.to_json(),
///     r#"{"text":"Checked by bot","approval_choice":"approved","field_updates":[{"id":7,"value":"OK"},{"code":"u_Amount","value":1365.27}]}"#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BotReply {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_choice: Option<ApprovalChoice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approval_steps: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reassign_to: Option<PersonRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub field_updates: Vec<FieldUpdate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// File GUIDs from `POST /files/upload`, or the other attachment forms as JSON.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals_added: Vec<Vec<PersonRef>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals_removed: Vec<Vec<PersonRef>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals_rerequested: Vec<Vec<PersonRef>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscribers_added: Vec<PersonRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscribers_removed: Vec<PersonRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub participants_added: Vec<PersonRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub participants_removed: Vec<PersonRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cancel_due: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_datetime_utc: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cancel_schedule: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added_list_ids: Vec<Id>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_list_ids: Vec<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spent_minutes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<ReplyChannel>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skip_satisfaction: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skip_notification: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skip_auto_reopen: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_comment_id: Option<Id>,
}

/// Sends the comment to an external channel, e.g. continues a Telegram chat.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReplyChannel {
    #[serde(rename = "type")]
    pub kind: ChannelType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
}

impl BotReply {
    pub fn new() -> Self {
        Self::default()
    }

    /// The comment's plain text.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// The comment's rich text (Pyrus's HTML subset).
    pub fn formatted_text(mut self, html: impl Into<String>) -> Self {
        self.formatted_text = Some(html.into());
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Approves the bot's step: the task moves on.
    pub fn approve(self) -> Self {
        self.approval_choice(ApprovalChoice::Approved)
    }

    /// Rejects the bot's step: the task goes back.
    pub fn reject(self) -> Self {
        self.approval_choice(ApprovalChoice::Rejected)
    }

    pub fn acknowledge(self) -> Self {
        self.approval_choice(ApprovalChoice::Acknowledged)
    }

    pub fn approval_choice(mut self, choice: ApprovalChoice) -> Self {
        self.approval_choice = Some(choice);
        self
    }

    /// The steps `approval_choice` applies to (default: the current step).
    pub fn approval_steps(mut self, steps: impl IntoIterator<Item = i64>) -> Self {
        self.approval_steps = steps.into_iter().collect();
        self
    }

    pub fn reassign_to(mut self, person: impl Into<PersonRef>) -> Self {
        self.reassign_to = Some(person.into());
        self
    }

    /// Adds one entry to `field_updates`.
    pub fn field_update(mut self, update: FieldUpdate) -> Self {
        self.field_updates.push(update);
        self
    }

    /// Closes the task.
    pub fn finish(mut self) -> Self {
        self.action = Some(Action::Finished);
        self
    }

    /// Reopens the task.
    pub fn reopen(mut self) -> Self {
        self.action = Some(Action::Reopened);
        self
    }

    /// Attaches an uploaded file by its GUID.
    pub fn attach(mut self, guid: impl Into<String>) -> Self {
        self.attachments.push(Value::String(guid.into()));
        self
    }

    /// Adds an approver to workflow step `step` (1-based).
    pub fn add_approver(mut self, step: usize, person: impl Into<PersonRef>) -> Self {
        let index = step.max(1) - 1;
        if self.approvals_added.len() <= index {
            self.approvals_added.resize(index + 1, Vec::new());
        }
        self.approvals_added[index].push(person.into());
        self
    }

    pub fn add_subscriber(mut self, person: impl Into<PersonRef>) -> Self {
        self.subscribers_added.push(person.into());
        self
    }

    /// A due date, `YYYY-MM-DD`.
    pub fn due_date(mut self, date: impl Into<String>) -> Self {
        self.due_date = Some(date.into());
        self
    }

    /// A due time, `YYYY-MM-DDThh:mm:ssZ`, and optionally a duration in minutes.
    pub fn due(mut self, datetime: impl Into<String>, duration_minutes: Option<i64>) -> Self {
        self.due = Some(datetime.into());
        self.duration = duration_minutes;
        self
    }

    pub fn spent_minutes(mut self, minutes: i64) -> Self {
        self.spent_minutes = Some(minutes);
        self
    }

    /// Sends the comment to an external channel (`telegram`, `email`, `max_messenger`...).
    pub fn channel(mut self, kind: ChannelType) -> Self {
        self.channel = Some(ReplyChannel {
            kind,
            to: None,
            from: None,
        });
        self
    }

    /// The reply as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a BotReply always serializes")
    }
}
