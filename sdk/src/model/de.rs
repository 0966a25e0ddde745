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
