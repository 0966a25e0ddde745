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
        match ids(body) {
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

/// `task_id` and the last comment's id, both as digits, when the body has them.
fn ids(body: &str) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        task_id: Option<serde_json::Value>,
        task: Option<Task>,
    }
    #[derive(serde::Deserialize)]
    struct Task {
        id: Option<serde_json::Value>,
        #[serde(default)]
        comments: Vec<Comment>,
    }
    #[derive(serde::Deserialize)]
    struct Comment {
        id: Option<serde_json::Value>,
    }
    let envelope: Envelope = serde_json::from_str(body).ok()?;
    let task = envelope.task?;
    // `task_id` is authoritative; `task.id` is the same in real traffic.
    let task_id = envelope.task_id.or(task.id).as_ref().and_then(digits)?;
    let comment = task.comments.last()?.id.as_ref().and_then(digits)?;
    Some((task_id, comment))
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
