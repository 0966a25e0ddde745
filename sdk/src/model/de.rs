//! Deserialization helpers for Pyrus's loose JSON.

use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// Reads `null` as the type's default (Pyrus sometimes sends `null` for an empty list).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The raw JSON body, kept beside the typed fields. Its `Debug` shows only the length: the
/// body holds tokens and credentials that must not reach a log through `{:?}`.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Raw(pub(crate) String);

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes of JSON>", self.0.len())
    }
}

/// A part of the body kept as JSON text and parsed into `T` the first time it is read.
///
/// A bot pays only for what it reads: the top-level parse merely skips over a task's fields
/// and comments (most of a body), and a bot that reads neither never builds them. `null` or
/// absence reads as `T::default()`; so does text that does not fit `T`, with a warning in the
/// host log (the rest of the body stays usable, as Pyrus's loose JSON deserves).
pub(crate) struct Lazy<T> {
    raw: Option<Box<RawValue>>,
    parsed: OnceLock<T>,
}

impl<T: Default + DeserializeOwned> Lazy<T> {
    pub(crate) fn get(&self) -> &T {
        self.parsed.get_or_init(|| {
            let Some(raw) = &self.raw else {
                return T::default();
            };
            serde_json::from_str::<Option<T>>(raw.get())
                .map(Option::unwrap_or_default)
                .unwrap_or_else(|e| {
                    // Where and what kind of error, not serde's message: it quotes the
                    // body's text, which is the customer's data, into the log.
                    let what = std::any::type_name::<T>();
                    crate::log::warn(format!(
                        "ignoring a part of the task ({what}): {}",
                        json_error(&e)
                    ));
                    T::default()
                })
        })
    }
}

impl<T> Default for Lazy<T> {
    fn default() -> Self {
        Lazy {
            raw: None,
            parsed: OnceLock::new(),
        }
    }
}

impl<'de, T> Deserialize<'de> for Lazy<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Lazy {
            raw: Option::<Box<RawValue>>::deserialize(d)?,
            parsed: OnceLock::new(),
        })
    }
}

impl<T: Clone> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Lazy {
            raw: self.raw.clone(),
            parsed: self.parsed.clone(),
        }
    }
}

/// Compares what the parts read as, parsed or not yet.
impl<T: Default + DeserializeOwned + PartialEq> PartialEq for Lazy<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Default + DeserializeOwned + std::fmt::Debug> std::fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// What kind of JSON error, and where: never serde's message, which quotes the input (the
/// customer's data, a token) into an error that reaches the caller and the host log.
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}
