//! The task a bot is called about, with its fields, workflow and comments.

use serde::Deserialize;

use super::de::null_default;
use super::field::{Attachment, Field, FieldKey};
use super::{ApprovalChoice, Comment, Id, Person};

/// A Pyrus task (the `task` object of `GET /tasks/{id}`, with comments).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Task {
    pub id: Option<Id>,
    pub text: Option<String>,
    pub formatted_text: Option<String>,
    pub subject: Option<String>,
    pub create_date: Option<String>,
    pub last_modified_date: Option<String>,
    pub close_date: Option<String>,
    pub is_closed: Option<bool>,
    pub author: Option<Person>,
    pub responsible: Option<Person>,
    #[serde(default, deserialize_with = "null_default")]
    pub participants: Vec<Person>,
    #[serde(default, deserialize_with = "null_default")]
    pub subscribers: Vec<Subscriber>,
    pub due_date: Option<String>,
    pub due: Option<String>,
    pub duration: Option<i64>,
    pub scheduled_date: Option<String>,
    pub scheduled_datetime_utc: Option<String>,
    pub form_id: Option<Id>,
    #[serde(default, deserialize_with = "null_default")]
    pub fields: Vec<Field>,
    #[serde(default, deserialize_with = "null_default")]
    pub attachments: Vec<Attachment>,
    /// Approvers by workflow step: the outer list is the steps, in order.
    #[serde(default, deserialize_with = "null_default")]
    pub approvals: Vec<Vec<Approval>>,
    pub current_step: Option<i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub steps: Vec<Step>,
    #[serde(default, deserialize_with = "null_default")]
    pub list_ids: Vec<Id>,
    #[serde(default, deserialize_with = "null_default")]
    pub linked_task_ids: Vec<Id>,
    pub parent_task_id: Option<Id>,
    pub last_note_id: Option<Id>,
    #[serde(default, deserialize_with = "null_default")]
    pub comments: Vec<Comment>,
}

/// A subscriber (watcher) of a task and their decision.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Subscriber {
    pub person: Option<Person>,
    pub approval_choice: Option<ApprovalChoice>,
}

/// An approver on a workflow step and their decision.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Approval {
    pub person: Option<Person>,
    pub approval_choice: Option<ApprovalChoice>,
    pub step: Option<i64>,
}

/// A workflow step of the task's form.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Step {
    pub step: Option<i64>,
    pub name: Option<String>,
    /// Milliseconds the task has spent on this step.
    pub elapsed_time: Option<i64>,
}

impl Task {
    /// Every field, depth first, including those nested in titles, tables and choices.
    pub fn all_fields(&self) -> impl Iterator<Item = &Field> + '_ {
        let mut stack: Vec<&Field> = self.fields.iter().rev().collect();
        std::iter::from_fn(move || {
            let field = stack.pop()?;
            let children: Vec<&Field> = field.children().collect();
            stack.extend(children.into_iter().rev());
            Some(field)
        })
    }

    /// The first field matching `key`, searching nested fields too.
    pub fn field(&self, key: &FieldKey) -> Option<&Field> {
        self.all_fields().find(|f| key.matches(f))
    }

    /// The first field with this code (`u_Amount`), searching nested fields too.
    ///
    /// ```
    /// # use pyrus_plugin_sdk::Task;
    /// let task: Task = serde_json::from_str(r#"{"fields": [
    ///     {"id": 1, "type": "title", "value": {"fields": [
    ///         {"id": 2, "type": "text", "code": "u_Inner", "value": "found"}]}}]}"#).unwrap();
    /// assert_eq!(task.field_by_code("u_Inner").unwrap().text(), Some("found"));
    /// ```
    pub fn field_by_code(&self, code: &str) -> Option<&Field> {
        self.all_fields().find(|f| f.code.as_deref() == Some(code))
    }

    /// The first field with this name, searching nested fields too.
    pub fn field_by_name(&self, name: &str) -> Option<&Field> {
        self.all_fields().find(|f| f.name.as_deref() == Some(name))
    }

    /// The field with this id, searching nested fields too.
    pub fn field_by_id(&self, id: impl Into<Id>) -> Option<&Field> {
        let id = id.into();
        self.all_fields().find(|f| f.id == Some(id))
    }

    /// The newest comment (the one that triggered the call, in practice).
    pub fn last_comment(&self) -> Option<&Comment> {
        self.comments.last()
    }

    /// The newest comment that has text.
    pub fn last_text_comment(&self) -> Option<&Comment> {
        self.comments.iter().rev().find(|c| c.text().is_some())
    }

    /// The step the task is on, with its name, when the task has a workflow.
    pub fn current_step(&self) -> Option<&Step> {
        let current = self.current_step?;
        self.steps.iter().find(|s| s.step == Some(current))
    }

    /// The approvers of the current step.
    pub fn current_approvals(&self) -> &[Approval] {
        self.current_step
            .and_then(|s| usize::try_from(s).ok()?.checked_sub(1))
            .and_then(|i| self.approvals.get(i))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}
