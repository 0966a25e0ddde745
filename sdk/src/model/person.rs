//! People: users, bots and roles.

use serde::{Deserialize, Serialize};

use super::de::null_default;
use super::{Id, PersonType};

/// A Pyrus user, bot or role as it appears in a task (author, responsible, approver...).
///
/// Pyrus sends empty strings for missing names and emails; [`Person::email`] treats an empty
/// email as none.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Person {
    pub id: Option<Id>,
    #[serde(default, deserialize_with = "null_default")]
    pub first_name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub last_name: String,
    #[serde(default, rename = "email", deserialize_with = "null_default")]
    pub email_raw: String,
    #[serde(rename = "type")]
    pub kind: Option<PersonType>,
    pub department_id: Option<Id>,
    pub department_name: Option<String>,
    pub position: Option<String>,
    pub phone: Option<String>,
    pub status: Option<String>,
    pub external_id: Option<String>,
    pub banned: Option<bool>,
    pub fired: Option<bool>,
}

impl Person {
    /// The email, if Pyrus sent a non-empty one.
    ///
    /// ```
    /// # use pyrus_plugin_sdk::Person;
    /// let p: Person = serde_json::from_str(r#"{"id": 1, "email": ""}"#).unwrap();
    /// assert_eq!(p.email(), None);
    /// ```
    pub fn email(&self) -> Option<&str> {
        Some(self.email_raw.trim()).filter(|e| !e.is_empty())
    }

    /// "First Last", trimmed; empty when Pyrus sent no names.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name.trim(), self.last_name.trim())
            .trim()
            .to_string()
    }

    /// A reference to this person for a reply (`{"id": ..}`, else `{"email": ..}`).
    pub fn to_ref(&self) -> Option<PersonRef> {
        self.id
            .map(PersonRef::Id)
            .or_else(|| self.email().map(|e| PersonRef::Email(e.to_string())))
    }
}

/// How a reply names a person: by id or by email.
///
/// ```
/// # use pyrus_plugin_sdk::{PersonRef, Id};
/// assert_eq!(serde_json::to_string(&PersonRef::Id(Id(5))).unwrap(), r#"{"id":5}"#);
/// assert_eq!(serde_json::to_string(&PersonRef::email("a@b.c")).unwrap(), r#"{"email":"a@b.c"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PersonRef {
    #[serde(rename = "id")]
    Id(Id),
    #[serde(rename = "email")]
    Email(String),
}

impl PersonRef {
    pub fn id(id: impl Into<Id>) -> Self {
        PersonRef::Id(id.into())
    }
    pub fn email(email: impl Into<String>) -> Self {
        PersonRef::Email(email.into())
    }
}

impl From<Id> for PersonRef {
    fn from(id: Id) -> Self {
        PersonRef::Id(id)
    }
}
