//! Deserialization helpers for Pyrus's loose JSON.

use serde::{Deserialize, Deserializer};

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
