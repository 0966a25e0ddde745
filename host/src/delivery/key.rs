//! Which deliveries are "the same call": what a retry of a bot call keeps.
//!
//! Pyrus re-sends the same task on a retry; what changes between attempts is the
//! `X-Pyrus-Retry` header and possibly the `access_token` (a fresh token per delivery). A
//! new comment on the task is a new call, with a new last comment id. So a delivery is
//! identified by bot + `task_id` + the id of the task's last comment, which is what
//! idempotent bot handlers key on (protocol notes §1.4, §5.14). A body without them (a test
//! call, an unknown event) falls back to a hash of the body with `access_token` removed.

use sha1::{Digest, Sha1};

use crate::names::PluginName;

/// Ids longer than this are not ids: such a body is keyed by its hash.
const MAX_ID_LEN: usize = 20;

/// The identity of one delivered call, the same for each of its retries. Its text is made
/// of the bot's name and digits or hex only, so it is safe in a Redis key and in a log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryKey(String);

impl DeliveryKey {
    /// The key of a bot call with `body` (already known to be a JSON object).
    pub fn of_bot_call(bot: &PluginName, body: &str) -> DeliveryKey {
        let ids: BotCallIds = serde_json::from_str(body).unwrap_or_default();
        DeliveryKey::of_ids(bot, &ids, body)
    }

    /// The key of a bot call whose ids were read from `body` with the rest of what the
    /// host reads of it (one parse of the body, not one per reader).
    pub fn of_ids(bot: &PluginName, ids: &BotCallIds, body: &str) -> DeliveryKey {
        match ids.pair() {
            Some((task, comment)) => DeliveryKey(format!("{bot}:t{task}:c{comment}")),
            None => DeliveryKey(format!("{bot}:h{}", body_hash(body))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key read back from a store, as written by [`DeliveryKey::as_str`].
    pub fn from_stored(text: String) -> DeliveryKey {
        DeliveryKey(text)
    }
}

impl std::fmt::Display for DeliveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What identifies a bot call's delivery: `task_id`, `task.id` and the task's comment ids.
/// Deserialize it from the body, or make it a field `task` of a larger envelope of the body
/// (with `task_id` beside it) and build it with [`BotCallIds::new`].
#[derive(Debug, Default, serde::Deserialize)]
pub struct BotCallIds {
    task_id: Option<serde_json::Value>,
    task: Option<TaskIds>,
}

/// The `task` object of a bot call, as far as its delivery's identity goes. Read leniently:
/// a `task` or a comment of another shape has no ids (the body is then keyed by its hash),
/// it never makes the body unreadable.
#[derive(Debug, Default)]
pub struct TaskIds {
    id: Option<serde_json::Value>,
    /// The last comment's id: `None` without comments, `Some(None)` when the last comment
    /// has no id (only the last one identifies the delivery: nothing else is kept).
    last_comment: Option<Option<serde_json::Value>>,
}

impl<'de> serde::Deserialize<'de> for TaskIds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(lenient::Task)
    }
}

impl BotCallIds {
    pub fn new(task_id: Option<serde_json::Value>, task: Option<TaskIds>) -> BotCallIds {
        BotCallIds { task_id, task }
    }

    /// The task the call is about, as a number: `task_id`, else `task.id` (a number, or a
    /// string of digits), as the comment of an async bot's reply is posted to it.
    pub fn task_number(&self) -> Option<u64> {
        let task_id = self.task_id.as_ref();
        let id = task_id.or(self.task.as_ref().and_then(|t| t.id.as_ref()))?;
        match id {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) if s.len() <= MAX_ID_LEN => s.parse().ok(),
            _ => None,
        }
    }

    /// `task_id` and the last comment's id, both as digits, when the body has them.
    fn pair(&self) -> Option<(String, String)> {
        let task = self.task.as_ref()?;
        // `task_id` is authoritative; `task.id` is the same in real traffic.
        let task_id = self
            .task_id
            .as_ref()
            .or(task.id.as_ref())
            .and_then(digits)?;
        let comment = task.last_comment.as_ref()?.as_ref().and_then(digits)?;
        Some((task_id, comment))
    }
}

/// Visitors that take any JSON value: what is not of the expected shape is skipped.
mod lenient {
    use std::fmt;

    use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

    /// Rejects nothing: every visit of a value of another shape gives `T::default()`.
    macro_rules! anything_else {
        ($t:ty) => {
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<$t, E> {
                Ok(Default::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<$t, E> {
                Ok(Default::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<$t, E> {
                Ok(Default::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<$t, E> {
                Ok(Default::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<$t, E> {
                Ok(Default::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<$t, E> {
                Ok(Default::default())
            }
        };
    }

    /// A map key: `id`, `comments`, or another.
    enum Key {
        Id,
        Comments,
        Other,
    }

    impl<'de> de::Deserialize<'de> for Key {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
            struct KeyVisitor;
            impl Visitor<'_> for KeyVisitor {
                type Value = Key;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a key")
                }
                fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                    Ok(match key {
                        "id" => Key::Id,
                        "comments" => Key::Comments,
                        _ => Key::Other,
                    })
                }
            }
            d.deserialize_identifier(KeyVisitor)
        }
    }

    fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    /// `task`: its `id` and its comments' ids.
    pub struct Task;

    impl<'de> Visitor<'de> for Task {
        type Value = super::TaskIds;
        anything_else!(super::TaskIds);

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<super::TaskIds, A::Error> {
            skip_seq(seq).map(|()| Default::default())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<super::TaskIds, A::Error> {
            let mut task = super::TaskIds::default();
            while let Some(key) = map.next_key::<Key>()? {
                match key {
                    Key::Id => task.id = map.next_value()?,
                    Key::Comments => task.last_comment = map.next_value::<Comments>()?.0,
                    Key::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(task)
        }
    }

    /// `comments`: the last one's `id` (`None` for a comment that is not an object or has
    /// none), however many there are.
    #[derive(Default)]
    struct Comments(Option<Option<serde_json::Value>>);

    impl<'de> de::Deserialize<'de> for Comments {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Comments, D::Error> {
            d.deserialize_any(CommentsVisitor)
        }
    }

    struct CommentsVisitor;

    impl<'de> Visitor<'de> for CommentsVisitor {
        type Value = Comments;
        anything_else!(Comments);

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Comments, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Comments::default())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Comments, A::Error> {
            let mut last = None;
            // A comment is read as a task is (its `id`; anything else skipped).
            while let Some(comment) = seq.next_element::<super::TaskIds>()? {
                last = Some(comment.id);
            }
            Ok(Comments(last))
        }
    }
}

/// A number or a numeric string, as plain digits.
fn digits(value: &serde_json::Value) -> Option<String> {
    let text = match value {
        serde_json::Value::Number(n) => n.as_u64()?.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => return None,
    };
    (!text.is_empty() && text.len() <= MAX_ID_LEN && text.bytes().all(|b| b.is_ascii_digit()))
        .then_some(text)
}

/// SHA-1 of the body without its top-level `access_token`, which may differ between two
/// deliveries of one call (re-serialized with sorted keys, so deterministic).
fn body_hash(body: &str) -> String {
    let mut hasher = Sha1::new();
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(body) {
        Ok(mut object) => {
            object.remove("access_token");
            hasher.update(serde_json::to_vec(&object).unwrap_or_default());
        }
        Err(_) => hasher.update(body.as_bytes()),
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(body: &str) -> String {
        DeliveryKey::of_bot_call(&PluginName::new("b").unwrap(), body).0
    }

    #[test]
    fn the_task_number_comes_from_task_id_else_task_id() {
        let number = |body: &str| {
            serde_json::from_str::<BotCallIds>(body)
                .unwrap()
                .task_number()
        };
        assert_eq!(number(r#"{"task_id":5,"task":{"id":6}}"#), Some(5));
        assert_eq!(number(r#"{"task_id":"7"}"#), Some(7));
        assert_eq!(number(r#"{"task":{"id":8,"comments":"odd"}}"#), Some(8));
        assert_eq!(number(r#"{"task_id":"abc","task":{"id":9}}"#), None);
        assert_eq!(number(r#"{"task_id":-1}"#), None);
        assert_eq!(number(r#"{"task":"odd"}"#), None);
        assert_eq!(number(r#"{}"#), None);
    }

    #[test]
    fn task_and_last_comment_identify_a_call() {
        let first = r#"{"access_token":"one","task_id":5,"task":{"id":5,"comments":[{"id":1},{"id":"9"}]}}"#;
        let retry = r#"{"access_token":"two","task_id":"5","task":{"id":5,"comments":[{"id":1},{"id":9}]}}"#;
        let next = r#"{"access_token":"two","task_id":5,"task":{"id":5,"comments":[{"id":1},{"id":9},{"id":10}]}}"#;
        assert_eq!(key(first), "b:t5:c9");
        assert_eq!(key(first), key(retry));
        assert_ne!(key(first), key(next));
    }

    #[test]
    fn without_ids_the_body_hash_ignores_the_token() {
        let a = r#"{"event":"x","access_token":"one","n":1}"#;
        let b = r#"{"event":"x","access_token":"two","n":1}"#;
        let c = r#"{"event":"x","access_token":"two","n":2}"#;
        assert!(key(a).starts_with("b:h"));
        assert_eq!(key(a), key(b));
        assert_ne!(key(a), key(c));
        // A hostile id is not copied into the key.
        let weird = r#"{"task_id":"1:2\n","task":{"comments":[{"id":1}]}}"#;
        assert!(key(weird).starts_with("b:h"), "{}", key(weird));
    }
}
