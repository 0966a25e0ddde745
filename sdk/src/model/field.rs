//! Form fields and their typed values.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::de::null_default;
use super::{FieldType, Id, Person};

/// A form field of a task, with its value typed by the field's [`FieldType`].
///
/// A value whose shape does not match its type (or a type this SDK does not know) is kept as
/// [`FieldValue::Unknown`] with the raw JSON, instead of failing the whole request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Field {
    pub id: Option<Id>,
    pub name: Option<String>,
    pub code: Option<String>,
    pub kind: FieldType,
    pub value: FieldValue,
    /// Minutes, beside a `due_date` / `due_date_time` value.
    pub duration: Option<i64>,
    pub parent_id: Option<Id>,
    pub row_id: Option<i64>,
}

/// A field's value, by field type (see the Pyrus field formats).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FieldValue {
    /// No value: the field is empty.
    Empty,
    /// `text`, `email`, `phone`, `note`, `status`.
    Text(String),
    /// `money`, `number`.
    Number(f64),
    /// `date`, `due_date`, `creation_date`: `YYYY-MM-DD` (creation_date may carry a time).
    Date(String),
    /// `due_date_time`: `YYYY-MM-DDThh:mm:ssZ`.
    DateTime(String),
    /// `time`: `HH:mm`.
    Time(String),
    /// `checkmark`: checked or not.
    Checkmark(bool),
    /// `flag`: `none`, `checked` or `unchecked`.
    Flag(String),
    Catalog(CatalogValue),
    /// `file`: the attached files.
    Files(Vec<Attachment>),
    /// `person`, `author`.
    Person(Box<Person>),
    Table(Vec<TableRow>),
    MultipleChoice(MultipleChoice),
    /// `title`: a section header with nested fields.
    Title(Title),
    FormLink(FormLink),
    /// `step`: the task's current step number.
    Step(i64),
    Project(Project),
    /// A type this SDK does not know, or a value of an unexpected shape, kept verbatim.
    Unknown(Value),
}

/// A catalog field's selected item(s).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct CatalogValue {
    pub item_id: Option<Id>,
    #[serde(default, deserialize_with = "null_default")]
    pub item_ids: Vec<Id>,
    #[serde(default, deserialize_with = "null_default")]
    pub headers: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub values: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub rows: Vec<Vec<String>>,
}

impl CatalogValue {
    /// The value under a catalog column header, for the (first) selected item.
    pub fn value_of(&self, header: &str) -> Option<&str> {
        let i = self.headers.iter().position(|h| h == header)?;
        self.values.get(i).map(String::as_str)
    }
}

/// A file attached to a task, a comment or a file field.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Attachment {
    pub id: Option<Id>,
    pub name: Option<String>,
    pub size: Option<i64>,
    pub md5: Option<String>,
    pub url: Option<String>,
    pub version: Option<i64>,
    pub root_id: Option<Id>,
}

/// One row of a table field.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct TableRow {
    pub row_id: Option<i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub cells: Vec<Field>,
    pub position: Option<i64>,
    #[serde(default)]
    pub delete: bool,
}

/// A multiple-choice field's selection; a choice may reveal nested fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct MultipleChoice {
    pub choice_id: Option<i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub choice_ids: Vec<i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub choice_names: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub fields: Vec<Field>,
}

/// A title (section) field: an optional checkmark and the fields it holds.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Title {
    #[serde(default, deserialize_with = "checkmark_opt")]
    pub checkmark: Option<bool>,
    #[serde(default, deserialize_with = "null_default")]
    pub fields: Vec<Field>,
}

/// A link to other tasks.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct FormLink {
    pub task_id: Option<Id>,
    #[serde(default, deserialize_with = "null_default")]
    pub task_ids: Vec<Id>,
    pub subject: Option<String>,
}

/// A project field's projects.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Project {
    #[serde(default, deserialize_with = "null_default")]
    pub projects: Vec<ProjectItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ProjectItem {
    pub id: Option<Id>,
    pub name: Option<String>,
    pub parent: Option<Id>,
}

/// Types whose value is an object or an array (or an unknown type, kept verbatim).
fn is_composite(kind: &FieldType) -> bool {
    matches!(
        kind,
        FieldType::Catalog
            | FieldType::File
            | FieldType::Person
            | FieldType::Author
            | FieldType::Table
            | FieldType::MultipleChoice
            | FieldType::Title
            | FieldType::FormLink
            | FieldType::Project
            | FieldType::Other(_)
    )
}

fn checkmark_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => parse_checkmark(&s),
        Some(Value::Bool(b)) => Some(b),
        _ => None,
    })
}

fn parse_checkmark(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "checked" | "true" => Some(true),
        "unchecked" | "false" => Some(false),
        _ => None,
    }
}

impl FieldValue {
    /// Types `raw` by the field's type. Never fails: see [`FieldValue::Unknown`].
    pub fn from_json(kind: &FieldType, raw: Option<Value>) -> FieldValue {
        let raw = match raw {
            None | Some(Value::Null) => return FieldValue::Empty,
            Some(v) => v,
        };
        if is_composite(kind) {
            return match serde_json::value::to_raw_value(&raw) {
                Ok(text) => Self::from_raw(kind, Some(&text)),
                Err(_) => FieldValue::Unknown(raw),
            };
        }
        let text = |raw: &Value| raw.as_str().map(str::to_owned);
        let typed_value = match kind {
            FieldType::Text
            | FieldType::Email
            | FieldType::Phone
            | FieldType::Note
            | FieldType::Status => text(&raw).map(FieldValue::Text),
            FieldType::Money | FieldType::Number => match &raw {
                Value::Number(n) => n.as_f64(),
                // Some forms send numbers as text with a decimal comma.
                Value::String(s) => s.trim().replace(',', ".").parse().ok(),
                _ => None,
            }
            .map(FieldValue::Number),
            FieldType::Date | FieldType::DueDate | FieldType::CreationDate => {
                text(&raw).map(FieldValue::Date)
            }
            FieldType::DueDateTime => text(&raw).map(FieldValue::DateTime),
            FieldType::Time => text(&raw).map(FieldValue::Time),
            FieldType::Checkmark => match &raw {
                Value::String(s) => parse_checkmark(s),
                Value::Bool(b) => Some(*b),
                _ => None,
            }
            .map(FieldValue::Checkmark),
            FieldType::Flag => text(&raw).map(FieldValue::Flag),
            FieldType::Step => raw.as_i64().map(FieldValue::Step),
            _ => None,
        };
        typed_value.unwrap_or(FieldValue::Unknown(raw))
    }

    /// Types a value still in JSON text. Composite values (catalog, table, title...) are
    /// parsed straight into their types, without building a `serde_json::Value` tree first:
    /// that tree was the largest cost of parsing a task.
    pub(crate) fn from_raw(kind: &FieldType, raw: Option<&RawValue>) -> FieldValue {
        let Some(raw) = raw else {
            return FieldValue::Empty;
        };
        let text = raw.get();
        if !is_composite(kind) {
            return Self::from_json(kind, serde_json::from_str(text).ok());
        }
        if text == "null" {
            return FieldValue::Empty;
        }
        fn typed<T: DeserializeOwned>(text: &str) -> Option<T> {
            serde_json::from_str(text).ok()
        }
        let typed_value = match kind {
            FieldType::Catalog => typed(text).map(FieldValue::Catalog),
            FieldType::File => typed(text).map(FieldValue::Files),
            FieldType::Person | FieldType::Author => {
                typed(text).map(|p| FieldValue::Person(Box::new(p)))
            }
            FieldType::Table => typed(text).map(FieldValue::Table),
            FieldType::MultipleChoice => typed(text).map(FieldValue::MultipleChoice),
            FieldType::Title => typed(text).map(FieldValue::Title),
            FieldType::FormLink => typed(text).map(FieldValue::FormLink),
            FieldType::Project => typed(text).map(FieldValue::Project),
            _ => None,
        };
        typed_value.unwrap_or_else(|| {
            FieldValue::Unknown(serde_json::from_str(text).unwrap_or(Value::Null))
        })
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, FieldValue::Empty)
    }

    /// The value as text, for the types whose value is a string (text, dates, times, flag).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(s)
            | FieldValue::Date(s)
            | FieldValue::DateTime(s)
            | FieldValue::Time(s)
            | FieldValue::Flag(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a number (`money`, `number`, `step`).
    pub fn as_number(&self) -> Option<f64> {
        match self {
            FieldValue::Number(n) => Some(*n),
            FieldValue::Step(n) => Some(*n as f64),
            _ => None,
        }
    }

    /// The value in the form `field_updates` takes to write it into another field of a
    /// compatible type. `None` for read-only and composite values (step, title, table).
    ///
    /// ```
    /// # use pyrus_plugin_sdk::{FieldValue, FieldType};
    /// let v = FieldValue::from_json(&FieldType::Money, Some(serde_json::json!(1365)));
    /// assert_eq!(v.to_update_value(), Some(serde_json::json!(1365)));
    /// ```
    pub fn to_update_value(&self) -> Option<Value> {
        Some(match self {
            FieldValue::Empty => Value::Null,
            FieldValue::Text(s)
            | FieldValue::Date(s)
            | FieldValue::DateTime(s)
            | FieldValue::Time(s)
            | FieldValue::Flag(s) => Value::String(s.clone()),
            FieldValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => json!(*n as i64),
            FieldValue::Number(n) => json!(n),
            FieldValue::Checkmark(b) => json!(if *b { "checked" } else { "unchecked" }),
            FieldValue::Catalog(c) if c.item_ids.len() > 1 => json!({ "item_ids": c.item_ids }),
            FieldValue::Catalog(c) => {
                json!({ "item_id": c.item_id.or(c.item_ids.first().copied())? })
            }
            FieldValue::Files(files) => Value::Array(
                files
                    .iter()
                    .filter_map(|f| f.id)
                    .map(|id| json!({ "attachment_id": id }))
                    .collect(),
            ),
            FieldValue::Person(p) => serde_json::to_value(p.to_ref()?).ok()?,
            FieldValue::MultipleChoice(m) => json!({ "choice_ids": m.choice_ids }),
            FieldValue::FormLink(l) if !l.task_ids.is_empty() => json!({ "task_ids": l.task_ids }),
            FieldValue::FormLink(l) => json!({ "task_id": l.task_id? }),
            FieldValue::Unknown(v) => v.clone(),
            FieldValue::Title(_)
            | FieldValue::Table(_)
            | FieldValue::Step(_)
            | FieldValue::Project(_) => return None,
        })
    }
}

impl Field {
    /// The fields nested in this one: a title's fields, a table's cells, a choice's fields.
    pub fn children(&self) -> Box<dyn Iterator<Item = &Field> + '_> {
        match &self.value {
            FieldValue::Title(t) => Box::new(t.fields.iter()),
            FieldValue::MultipleChoice(m) => Box::new(m.fields.iter()),
            FieldValue::Table(rows) => Box::new(rows.iter().flat_map(|r| r.cells.iter())),
            _ => Box::new(std::iter::empty()),
        }
    }

    /// The value as text, for text-like fields (see [`FieldValue::as_text`]).
    pub fn text(&self) -> Option<&str> {
        self.value.as_text()
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            id: Option<Id>,
            name: Option<String>,
            code: Option<String>,
            #[serde(rename = "type", default)]
            kind: FieldType,
            value: Option<Box<RawValue>>,
            duration: Option<i64>,
            parent_id: Option<Id>,
            row_id: Option<i64>,
        }
        let raw = Raw::deserialize(d)?;
        Ok(Field {
            value: FieldValue::from_raw(&raw.kind, raw.value.as_deref()),
            id: raw.id,
            name: raw.name,
            code: raw.code,
            kind: raw.kind,
            duration: raw.duration,
            parent_id: raw.parent_id,
            row_id: raw.row_id,
        })
    }
}

/// Which field to find or update: by id, by code, or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKey {
    Id(Id),
    Code(String),
    Name(String),
}

impl FieldKey {
    pub fn matches(&self, field: &Field) -> bool {
        match self {
            FieldKey::Id(id) => field.id == Some(*id),
            FieldKey::Code(code) => field.code.as_deref() == Some(code),
            FieldKey::Name(name) => field.name.as_deref() == Some(name),
        }
    }
}

/// One entry of a reply's `field_updates`: which field, and its new value.
///
/// ```
/// # use pyrus_plugin_sdk::FieldUpdate;
/// let u = FieldUpdate::by_code("u_Amount", 1365.27);
/// assert_eq!(serde_json::to_string(&u).unwrap(), r#"{"code":"u_Amount","value":1365.27}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub value: Value,
}

impl FieldUpdate {
    pub fn new(key: FieldKey, value: impl Into<Value>) -> Self {
        let mut u = FieldUpdate {
            id: None,
            code: None,
            name: None,
            value: value.into(),
        };
        match key {
            FieldKey::Id(id) => u.id = Some(id),
            FieldKey::Code(c) => u.code = Some(c),
            FieldKey::Name(n) => u.name = Some(n),
        }
        u
    }
    pub fn by_id(id: impl Into<Id>, value: impl Into<Value>) -> Self {
        Self::new(FieldKey::Id(id.into()), value)
    }
    pub fn by_code(code: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldKey::Code(code.into()), value)
    }
    pub fn by_name(name: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(FieldKey::Name(name.into()), value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(json: Value) -> Field {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn every_documented_type_is_typed() {
        let cases = [
            (
                json!({"type":"text","value":"a"}),
                FieldValue::Text("a".into()),
            ),
            (
                json!({"type":"money","value":1365.27}),
                FieldValue::Number(1365.27),
            ),
            (
                json!({"type":"money","value":1365}),
                FieldValue::Number(1365.0),
            ),
            (
                json!({"type":"number","value":"0,5"}),
                FieldValue::Number(0.5),
            ),
            (
                json!({"type":"date","value":"2026-01-19"}),
                FieldValue::Date("2026-01-19".into()),
            ),
            (
                json!({"type":"time","value":"10:30"}),
                FieldValue::Time("10:30".into()),
            ),
            (
                json!({"type":"checkmark","value":"checked"}),
                FieldValue::Checkmark(true),
            ),
            (
                json!({"type":"flag","value":"none"}),
                FieldValue::Flag("none".into()),
            ),
            (
                json!({"type":"due_date","value":"2026-01-19","duration":30}),
                FieldValue::Date("2026-01-19".into()),
            ),
            (
                json!({"type":"due_date_time","value":"2026-01-19T10:00:00Z"}),
                FieldValue::DateTime("2026-01-19T10:00:00Z".into()),
            ),
            (json!({"type":"step","value":2}), FieldValue::Step(2)),
            (
                json!({"type":"note","value":"n"}),
                FieldValue::Text("n".into()),
            ),
            (
                json!({"type":"status","value":"open"}),
                FieldValue::Text("open".into()),
            ),
            (
                json!({"type":"creation_date","value":"2026-01-19"}),
                FieldValue::Date("2026-01-19".into()),
            ),
            (json!({"type":"text"}), FieldValue::Empty),
            (json!({"type":"text","value":null}), FieldValue::Empty),
        ];
        for (json, want) in cases {
            assert_eq!(field(json.clone()).value, want, "{json}");
        }
        let composite = [
            json!({"type":"catalog","value":{"item_id":1,"item_ids":[1],"headers":["H"],"values":["v"],"rows":[["v"]]}}),
            json!({"type":"file","value":[{"id":1,"name":"a.pdf","size":3,"md5":"x","url":"u","version":0}]}),
            json!({"type":"person","value":{"id":1,"first_name":"A","email":"a@b.c","type":"user"}}),
            json!({"type":"author","value":{"id":1}}),
            json!({"type":"table","value":[{"row_id":0,"cells":[{"id":2,"type":"text","value":"c"}]},{"row_id":1}]}),
            json!({"type":"multiple_choice","value":{"choice_id":2,"choice_ids":[2],"choice_names":["X"]}}),
            json!({"type":"title","value":{"checkmark":"unchecked","fields":[{"id":3,"type":"text","value":"t"}]}}),
            json!({"type":"form_link","value":{"task_id":5,"task_ids":[5],"subject":"s"}}),
            json!({"type":"project","value":{"projects":[{"id":1,"name":"P"}]}}),
        ];
        for json in composite {
            let f = field(json.clone());
            assert!(
                !matches!(f.value, FieldValue::Unknown(_) | FieldValue::Empty),
                "{json}: {:?}",
                f.value
            );
        }
    }

    #[test]
    fn odd_shapes_and_unknown_types_are_kept_not_fatal() {
        let f = field(json!({"type":"catalog","value":"weird"}));
        assert_eq!(f.value, FieldValue::Unknown(json!("weird")));
        let f = field(json!({"type":"hologram","value":{"x":1}}));
        assert_eq!(f.kind, FieldType::Other("hologram".into()));
        assert_eq!(f.value, FieldValue::Unknown(json!({"x":1})));
    }

    #[test]
    fn update_values_for_copying() {
        let cat = field(json!({"type":"catalog","value":{"item_id":7,"item_ids":[7]}}));
        assert_eq!(cat.value.to_update_value(), Some(json!({"item_id": 7})));
        let p = field(json!({"type":"person","value":{"id":9}}));
        assert_eq!(p.value.to_update_value(), Some(json!({"id": 9})));
        let c = field(json!({"type":"checkmark","value":"checked"}));
        assert_eq!(c.value.to_update_value(), Some(json!("checked")));
        let t = field(json!({"type":"table","value":[]}));
        assert_eq!(t.value.to_update_value(), None);
    }
}
