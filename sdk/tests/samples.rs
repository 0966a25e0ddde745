//! Every recorded Pyrus body in ../shared/samples parses, and nothing a bot reads is lost:
//! each typed value is compared with the raw JSON.
//!
//! The samples are public data kept outside this repository; where the folder is absent
//! (a user's fresh clone) the test says so and passes without checking. Point
//! `PYRUS_SAMPLES_DIR` at a copy to run it anywhere.

use std::path::PathBuf;

use pyrus_plugin_sdk::{BotRequest, Comment, Field, FieldType, FieldValue, Person, Task};
use serde_json::Value;

fn samples_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("PYRUS_SAMPLES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples"));
    dir.is_dir().then_some(dir)
}

fn bodies() -> Option<Vec<(String, String)>> {
    let dir = samples_dir()?;
    let mut out = Vec::new();
    for sub in [dir.clone(), dir.join("real")] {
        for entry in std::fs::read_dir(&sub).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                out.push((
                    path.display().to_string(),
                    std::fs::read_to_string(&path).unwrap(),
                ));
            }
        }
    }
    out.sort();
    Some(out)
}

#[test]
fn every_sample_parses_without_loss() {
    let Some(bodies) = bodies() else {
        eprintln!("SKIPPED: ../shared/samples not found (set PYRUS_SAMPLES_DIR to run this test)");
        return;
    };
    assert!(
        bodies.len() >= 15,
        "expected the shared sample set, found {}",
        bodies.len()
    );
    for (name, text) in &bodies {
        let raw: Value = serde_json::from_str(text).unwrap();
        let req = BotRequest::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_request(name, &req, &raw);
    }
}

fn id_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn check_request(name: &str, req: &BotRequest, raw: &Value) {
    assert_eq!(
        req.task_id.map(|i| i.0),
        raw.get("task_id").and_then(id_of),
        "{name}: task_id"
    );
    assert_eq!(
        req.user_id.map(|i| i.0),
        raw.get("user_id").and_then(id_of),
        "{name}: user_id"
    );
    assert_eq!(
        req.event.as_str(),
        raw["event"].as_str().unwrap_or(""),
        "{name}: event"
    );
    assert_eq!(
        req.bot_settings.as_deref(),
        raw["bot_settings"].as_str(),
        "{name}: bot_settings"
    );
    assert_eq!(
        req.api_url.as_deref(),
        raw["api_url"].as_str(),
        "{name}: api_url"
    );
    assert_eq!(
        req.files_url.as_deref(),
        raw["files_url"].as_str(),
        "{name}: files_url"
    );
    assert_eq!(
        req.access_token.as_ref().map(|t| t.expose()),
        raw["access_token"].as_str(),
        "{name}: access_token"
    );
    match (&req.task, raw.get("task")) {
        (Some(task), Some(raw_task)) => check_task(name, task, raw_task),
        (None, None) => {}
        (t, r) => panic!(
            "{name}: task presence differs: {} vs {}",
            t.is_some(),
            r.is_some()
        ),
    }
}

fn check_task(name: &str, task: &Task, raw: &Value) {
    assert_eq!(
        task.id.map(|i| i.0),
        raw.get("id").and_then(id_of),
        "{name}: task.id"
    );
    assert_eq!(
        task.text.as_deref(),
        raw["text"].as_str(),
        "{name}: task.text"
    );
    check_person(name, task.author.as_ref(), &raw["author"]);
    check_person(name, task.responsible.as_ref(), &raw["responsible"]);
    assert_eq!(
        task.current_step,
        raw["current_step"].as_i64(),
        "{name}: current_step"
    );
    assert_eq!(
        task.form_id.map(|i| i.0),
        raw["form_id"].as_i64(),
        "{name}: form_id"
    );
    check_fields(name, task.fields(), &raw["fields"]);
    let raw_approvals = raw["approvals"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(task.approvals().len(), raw_approvals, "{name}: approvals");
    for (step, raw_step) in task
        .approvals()
        .iter()
        .zip(raw["approvals"].as_array().into_iter().flatten())
    {
        for (a, ra) in step.iter().zip(raw_step.as_array().unwrap()) {
            assert_eq!(
                a.approval_choice.as_ref().map(|c| c.as_str()),
                ra["approval_choice"].as_str(),
                "{name}"
            );
            check_person(name, a.person.as_ref(), &ra["person"]);
        }
    }
    assert_eq!(
        task.steps().len(),
        raw["steps"].as_array().map(Vec::len).unwrap_or(0),
        "{name}: steps"
    );
    if task.current_step.is_some() && !task.steps().is_empty() {
        assert!(
            task.current_step().is_some(),
            "{name}: current step not among steps"
        );
    }
    let raw_comments = raw["comments"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        task.comments().len(),
        raw_comments.len(),
        "{name}: comments"
    );
    for (c, rc) in task.comments().iter().zip(&raw_comments) {
        check_comment(name, c, rc);
    }
    assert_eq!(
        task.last_comment().and_then(|c| c.id).map(|i| i.0),
        raw_comments.last().and_then(|c| c["id"].as_i64()),
        "{name}: last comment"
    );
}

fn check_comment(name: &str, c: &Comment, raw: &Value) {
    assert_eq!(c.id.map(|i| i.0), raw["id"].as_i64(), "{name}: comment id");
    assert_eq!(
        c.text.as_deref(),
        raw["text"].as_str(),
        "{name}: comment text"
    );
    assert_eq!(
        c.formatted_text.as_deref(),
        raw["formatted_text"].as_str(),
        "{name}"
    );
    assert_eq!(
        c.approval_choice.as_ref().map(|a| a.as_str()),
        raw["approval_choice"].as_str(),
        "{name}"
    );
    assert_eq!(
        c.action.as_ref().map(|a| a.as_str()),
        raw["action"].as_str(),
        "{name}"
    );
    assert_eq!(c.changed_step, raw["changed_step"].as_i64(), "{name}");
    assert_eq!(
        c.channel.as_ref().map(|ch| ch.kind.as_str()),
        raw["channel"]["type"].as_str(),
        "{name}"
    );
    assert_eq!(
        c.attachments.len(),
        raw["attachments"].as_array().map(Vec::len).unwrap_or(0),
        "{name}"
    );
    check_person(name, c.author.as_ref(), &raw["author"]);
    check_person(name, c.reassigned_to.as_ref(), &raw["reassigned_to"]);
    check_fields(name, &c.field_updates, &raw["field_updates"]);
}

fn check_person(name: &str, p: Option<&Person>, raw: &Value) {
    match p {
        None => assert!(raw.is_null(), "{name}: person lost: {raw}"),
        Some(p) => {
            assert_eq!(p.id.map(|i| i.0), raw["id"].as_i64(), "{name}: person id");
            assert_eq!(
                p.email_raw,
                raw["email"].as_str().unwrap_or(""),
                "{name}: email"
            );
            assert_eq!(
                p.first_name,
                raw["first_name"].as_str().unwrap_or(""),
                "{name}"
            );
            assert_eq!(
                p.last_name,
                raw["last_name"].as_str().unwrap_or(""),
                "{name}"
            );
            assert_eq!(
                p.kind.as_ref().map(|k| k.as_str()),
                raw["type"].as_str(),
                "{name}"
            );
        }
    }
}

fn check_fields(name: &str, fields: &[Field], raw: &Value) {
    let raw_fields = raw.as_array().cloned().unwrap_or_default();
    assert_eq!(fields.len(), raw_fields.len(), "{name}: field count");
    for (f, rf) in fields.iter().zip(&raw_fields) {
        let what = format!("{name}: field {rf}");
        assert_eq!(f.id.map(|i| i.0), rf["id"].as_i64(), "{what}");
        assert_eq!(f.code.as_deref(), rf["code"].as_str(), "{what}");
        assert_eq!(f.name.as_deref(), rf["name"].as_str(), "{what}");
        assert_eq!(f.kind.as_str(), rf["type"].as_str().unwrap_or(""), "{what}");
        let raw_value = &rf["value"];
        if raw_value.is_null() {
            assert_eq!(f.value, FieldValue::Empty, "{what}");
            continue;
        }
        assert!(
            !matches!(f.kind, FieldType::Other(_)) || rf["type"].is_null(),
            "{what}: unknown field type"
        );
        match &f.value {
            FieldValue::Unknown(_) => panic!("{what}: value not typed"),
            FieldValue::Text(s)
            | FieldValue::Date(s)
            | FieldValue::DateTime(s)
            | FieldValue::Time(s) => {
                assert_eq!(Some(s.as_str()), raw_value.as_str(), "{what}")
            }
            FieldValue::Number(n) => assert_eq!(Some(*n), raw_value.as_f64(), "{what}"),
            FieldValue::Step(n) => assert_eq!(Some(*n), raw_value.as_i64(), "{what}"),
            FieldValue::Checkmark(b) => {
                assert_eq!(
                    raw_value.as_str(),
                    Some(if *b { "checked" } else { "unchecked" }),
                    "{what}"
                )
            }
            FieldValue::Catalog(c) => {
                assert_eq!(
                    c.item_id.map(|i| i.0),
                    raw_value["item_id"].as_i64(),
                    "{what}"
                );
                assert_eq!(
                    c.values.len(),
                    raw_value["values"].as_array().map(Vec::len).unwrap_or(0),
                    "{what}"
                );
            }
            FieldValue::Files(files) => {
                assert_eq!(files.len(), raw_value.as_array().unwrap().len(), "{what}")
            }
            FieldValue::Person(p) => check_person(name, Some(p), raw_value),
            FieldValue::Table(rows) => {
                let raw_rows = raw_value.as_array().unwrap();
                assert_eq!(rows.len(), raw_rows.len(), "{what}");
                for (row, raw_row) in rows.iter().zip(raw_rows) {
                    assert_eq!(row.row_id, raw_row["row_id"].as_i64(), "{what}");
                    check_fields(name, &row.cells, &raw_row["cells"]);
                }
            }
            FieldValue::Title(t) => check_fields(name, &t.fields, &raw_value["fields"]),
            FieldValue::MultipleChoice(m) => {
                assert_eq!(
                    m.choice_names.len(),
                    raw_value["choice_names"]
                        .as_array()
                        .map(Vec::len)
                        .unwrap_or(0),
                    "{what}"
                );
                check_fields(name, &m.fields, &raw_value["fields"]);
            }
            FieldValue::FormLink(l) => assert_eq!(
                l.task_id.map(|i| i.0),
                raw_value["task_id"].as_i64(),
                "{what}"
            ),
            other => assert!(!other.is_empty(), "{what}"),
        }
    }
}

#[test]
fn helpers_find_nested_fields_in_real_traffic() {
    let Some(bodies) = bodies() else {
        eprintln!("SKIPPED: ../shared/samples not found (set PYRUS_SAMPLES_DIR to run this test)");
        return;
    };
    // Every field with a code must be findable by it, however deeply nested.
    let mut nested_found = 0;
    for (name, text) in &bodies {
        let req = BotRequest::parse(text).unwrap();
        let Some(task) = &req.task else { continue };
        for f in task.all_fields() {
            if let Some(code) = &f.code {
                assert!(task.field_by_code(code).is_some(), "{name}: {code}");
            }
            if let Some(id) = f.id {
                assert_eq!(task.field_by_id(id).and_then(|x| x.id), Some(id), "{name}");
            }
            if f.parent_id.is_some() {
                nested_found += 1;
            }
        }
    }
    assert!(nested_found > 0, "no nested field was visited");
}
