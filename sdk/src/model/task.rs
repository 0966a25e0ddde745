//! The task a bot is called about, with its fields, workflow and comments.

use serde::Deserialize;

use super::de::{null_default, Lazy};
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
    #[serde(default)]
    participants: Lazy<Vec<Person>>,
    #[serde(default)]
    subscribers: Lazy<Vec<Subscriber>>,
    pub due_date: Option<String>,
    pub due: Option<String>,
    pub duration: Option<i64>,
    pub scheduled_date: Option<String>,
    pub scheduled_datetime_utc: Option<String>,
    pub form_id: Option<Id>,
    #[serde(default)]
    fields: Lazy<Vec<Field>>,
    #[serde(default)]
    attachments: Lazy<Vec<Attachment>>,
    #[serde(default)]
    approvals: Lazy<Vec<Vec<Approval>>>,
    pub current_step: Option<i64>,
    #[serde(default)]
    steps: Lazy<Vec<Step>>,
    #[serde(default, deserialize_with = "null_default")]
    pub list_ids: Vec<Id>,
    #[serde(default, deserialize_with = "null_default")]
    pub linked_task_ids: Vec<Id>,
    pub parent_task_id: Option<Id>,
    pub last_note_id: Option<Id>,
    #[serde(default)]
    comments: Lazy<Vec<Comment>>,
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

/// The lists of a task (fields, comments, approvals...) are parsed the first time they are
/// read, so a bot that only reads, say, the author does not pay for a long comment history.
impl Task {
    /// The task's form fields, top level (see [`Task::all_fields`] for nested ones).
    pub fn fields(&self) -> &[Field] {
        self.fields.get()
    }

    /// Every comment, oldest first.
    ///
    /// ```
    /// # use pyrus_plugin_sdk::Task;
    /// let task: Task = serde_json::from_str(r#"{"comments": [{"id": 1, "text": "hi"}, {"id": 2}]}"#).unwrap();
    /// assert_eq!(task.comments().len(), 2);
    /// assert_eq!(task.last_text_comment().unwrap().text(), Some("hi"));
    /// ```
    pub fn comments(&self) -> &[Comment] {
        self.comments.get()
    }

    /// Approvers by workflow step: the outer list is the steps, in order.
    pub fn approvals(&self) -> &[Vec<Approval>] {
        self.approvals.get()
    }

    /// The workflow's steps, with their names.
    pub fn steps(&self) -> &[Step] {
        self.steps.get()
    }

    /// The people taking part in the task.
    pub fn participants(&self) -> &[Person] {
        self.participants.get()
    }

    /// The task's subscribers (watchers), with their decisions.
    pub fn subscribers(&self) -> &[Subscriber] {
        self.subscribers.get()
    }

    /// Files attached to the task itself (comments carry their own).
    pub fn attachments(&self) -> &[Attachment] {
        self.attachments.get()
    }

    /// Every field, depth first, including those nested in titles, tables and choices.
    pub fn all_fields(&self) -> impl Iterator<Item = &Field> + '_ {
        let mut stack: Vec<&Field> = self.fields().iter().rev().collect();
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
        self.comments().last()
    }

    /// The newest comment that has text.
    pub fn last_text_comment(&self) -> Option<&Comment> {
        self.comments().iter().rev().find(|c| c.text().is_some())
    }

    /// The step the task is on, with its name, when the task has a workflow.
    pub fn current_step(&self) -> Option<&Step> {
        let current = self.current_step?;
        self.steps().iter().find(|s| s.step == Some(current))
    }

    /// The approvers of the current step.
    pub fn current_approvals(&self) -> &[Approval] {
        self.current_step
            .and_then(|s| usize::try_from(s).ok()?.checked_sub(1))
            .and_then(|i| self.approvals().get(i))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::Task;

    #[test]
    fn lists_are_parsed_when_read_and_tolerate_garbage() {
        let task: Task = serde_json::from_str(
            r#"{"id": 1, "author": {"id": 2, "email": "a@b.c"},
                "fields": "not a list", "comments": null,
                "steps": [{"step": 1, "name": "Start"}]}"#,
        )
        .unwrap();
        // The broken part reads as empty; the rest of the task stays usable.
        assert!(task.fields().is_empty());
        assert!(task.comments().is_empty());
        assert_eq!(task.steps()[0].name.as_deref(), Some("Start"));
        assert_eq!(task.author.as_ref().and_then(|a| a.email()), Some("a@b.c"));
    }

    #[test]
    fn equal_and_cloned_whether_read_or_not() {
        let text = r#"{"fields": [{"id": 1, "type": "text", "value": "x"}]}"#;
        let a: Task = serde_json::from_str(text).unwrap();
        let b: Task = serde_json::from_str(text).unwrap();
        let _ = a.fields(); // a parsed, b not yet
        assert_eq!(a, b);
        assert_eq!(b.clone().fields()[0].text(), Some("x"));
        assert!(format!("{b:?}").contains("Text"));
        assert_ne!(a, Task::default());
    }
}
