//! What the host reads of a bot call's body, in one pass over it: that it is a JSON object
//! in the current protocol, its `task_id` for the log, the ids that identify its delivery
//! (retry de-duplication) and, for async bots, the `api_url` to post the reply to. The
//! plugin parses the body again for itself; the host reads it once, whatever it needs.

use axum::http::StatusCode;
use serde::de::IgnoredAny;

use super::error::ApiError;
use super::webhook::{self, Failure};
use crate::delivery::key::{BotCallIds, TaskIds};

/// Longest `task_id` kept for the log (Pyrus's ids are numbers of a few digits).
const MAX_TASK_ID_IN_LOG: usize = 32;

/// What the host reads of a bot call's body.
#[derive(Debug)]
pub struct BotBody {
    /// `task_id` (number or string of at most 32 characters), for the log.
    pub task_id: Option<String>,
    /// What identifies the delivery, for its key.
    pub ids: BotCallIds,
    /// `api_url`, when present: a string, or another JSON value (which async mode refuses).
    pub api_url: Option<serde_json::Value>,
}

/// Reads `text`: 400 `invalid_json` when it is not a JSON object, 400
/// `unsupported_protocol` for the legacy PascalCase protocol. Unknown fields are skipped
/// without allocating, and a `task` of an unexpected shape has no ids rather than failing.
pub fn read(text: &str) -> Result<BotBody, Failure> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        task_id: Option<serde_json::Value>,
        #[serde(rename = "TaskId")]
        legacy_task_id: Option<IgnoredAny>,
        task: Option<TaskIds>,
        api_url: Option<serde_json::Value>,
    }
    let envelope: Envelope = webhook::parse_json_object(text)?;
    if envelope.legacy_task_id.is_some() && envelope.task_id.is_none() {
        return Err(Failure::bad_request(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_protocol",
            "this is the legacy PascalCase bot protocol (TaskId); only the current protocol (task_id) is served",
        )));
    }
    let task_id = envelope.task_id.as_ref().and_then(|id| match id {
        serde_json::Value::Number(n) => Some(n.to_string()),
        // Escaped: the text log writes span fields as they are.
        serde_json::Value::String(s) if s.len() <= MAX_TASK_ID_IN_LOG => {
            Some(crate::text::sanitize(s, MAX_TASK_ID_IN_LOG * 4).into_owned())
        }
        _ => None,
    });
    Ok(BotBody {
        task_id,
        ids: BotCallIds::new(envelope.task_id, envelope.task),
        api_url: envelope.api_url,
    })
}

#[cfg(test)]
mod tests {
    use super::read;
    use crate::delivery::DeliveryKey;
    use crate::names::PluginName;

    fn code(text: &str) -> String {
        read(text).err().unwrap().error.code.to_string()
    }

    fn task_id(text: &str) -> Option<String> {
        read(text).ok().unwrap().task_id
    }

    #[test]
    fn task_id_for_the_log() {
        assert_eq!(task_id(r#"{"task_id": 5, "task": {}}"#), Some("5".into()));
        assert_eq!(task_id(r#"{"task_id": "7"}"#), Some("7".into()));
        assert_eq!(
            task_id(r#"{"task_id": "7\nINFO forged"}"#),
            Some("7\\nINFO forged".into())
        );
        assert_eq!(task_id(r#"{"event": "test"}"#), None);
        assert_eq!(
            task_id(&format!(r#"{{"task_id": "{}"}}"#, "9".repeat(33))),
            None
        );
        assert_eq!(code("not json{{{"), "invalid_json");
        assert_eq!(code("[1]"), "invalid_json");
        assert_eq!(
            code(r#"{"TaskId": 1, "Text": "x"}"#),
            "unsupported_protocol"
        );
    }

    #[test]
    fn one_read_gives_the_same_delivery_key_as_reading_the_body_for_it() {
        let bot = PluginName::new("b").unwrap();
        for body in [
            r#"{"task_id":5,"task":{"id":5,"comments":[{"id":1},{"id":"9"}]}}"#,
            r#"{"task":{"id":5,"comments":[{"text":"x","id":3}]},"access_token":"t"}"#,
            r#"{"task_id":5,"task":{"id":5,"comments":[]}}"#,
            r#"{"event":"x","access_token":"one"}"#,
        ] {
            let once = read(body).ok().unwrap();
            assert_eq!(
                DeliveryKey::of_ids(&bot, &once.ids, body),
                DeliveryKey::of_bot_call(&bot, body),
                "{body}"
            );
        }
        // The keys themselves, as the previous host wrote them (stored records and queued
        // jobs keep matching their retries across an upgrade).
        let key = |body: &str| DeliveryKey::of_ids(&bot, &read(body).ok().unwrap().ids, body);
        assert_eq!(
            key(r#"{"task_id":5,"task":{"id":5,"comments":[{"id":1},{"id":"9"}]}}"#).as_str(),
            "b:t5:c9"
        );
        assert_eq!(
            key(r#"{"task":{"id":"12","comments":[{"text":"x","id":3}]},"access_token":"t"}"#)
                .as_str(),
            "b:t12:c3"
        );
        assert_eq!(
            key(r#"{"event":"x","access_token":"one"}"#).as_str(),
            // SHA-1 of `{"event":"x"}`: the body without its token.
            "b:head86f81abbfe2389501c651a6e7a082b215f96a"
        );
    }

    #[test]
    fn a_task_of_another_shape_is_read_not_refused() {
        let bot = PluginName::new("b").unwrap();
        for body in [
            r#"{"task_id":5,"task":"five"}"#,
            r#"{"task_id":5,"task":[1,{"id":2}]}"#,
            r#"{"task_id":5,"task":{"id":5,"comments":"none"}}"#,
            r#"{"task_id":5,"task":{"id":5,"comments":{"id":7}}}"#,
            r#"{"task_id":5,"task":{"id":5,"comments":[7,null,[1],"x",{"id":true}]}}"#,
            r#"{"task_id":5,"task":null,"api_url":7}"#,
        ] {
            let once = read(body).unwrap_or_else(|e| panic!("{body}: {:?}", e.error.code));
            assert_eq!(once.task_id.as_deref(), Some("5"));
            let key = DeliveryKey::of_ids(&bot, &once.ids, body);
            assert!(key.as_str().starts_with("b:h"), "{body}: {key}");
        }
        // The last comment's id counts even when earlier ones are odd.
        let body = r#"{"task_id":5,"task":{"comments":[7,{"id":8}]}}"#;
        let once = read(body).ok().unwrap();
        assert_eq!(
            DeliveryKey::of_ids(&bot, &once.ids, body).as_str(),
            "b:t5:c8"
        );
    }
}
