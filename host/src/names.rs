//! Names of configured plugins, as they appear in URLs and logs.

use std::fmt;

use serde::Deserialize;

/// The configured name of a bot or extension (`[bots.NAME]`), which is also its URL segment.
///
/// Restricted to ASCII letters, digits, `-` and `_` (1 to 64 characters) so that it is safe in
/// a URL path, a log line and a file name without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct PluginName(String);

/// Why a string is not a valid [`PluginName`].
#[derive(Debug, thiserror::Error)]
#[error("invalid name {0:?}: use 1 to 64 ASCII letters, digits, '-' or '_'")]
pub struct InvalidName(pub String);

impl PluginName {
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidName> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(name))
        } else {
            Err(InvalidName(name))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PluginName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PluginName::new(s).map_err(serde::de::Error::custom)
    }
}

impl std::borrow::Borrow<str> for PluginName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// What a plugin is to Pyrus: a bot or an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Bot,
    Extension,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Bot, Kind::Extension];

    /// `bot` or `extension`, for logs, metrics and pages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bot => "bot",
            Kind::Extension => "extension",
        }
    }

    /// The config section its entries are in: `bots` or `extensions`.
    pub fn section(self) -> &'static str {
        match self {
            Kind::Bot => "bots",
            Kind::Extension => "extensions",
        }
    }

    /// The kind whose section is `section` (`bots`), if any.
    pub fn from_section(section: &str) -> Option<Kind> {
        [Kind::Bot, Kind::Extension]
            .into_iter()
            .find(|k| k.section() == section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_url_safe_names_only() {
        assert!(PluginName::new("hello-bot_2").is_ok());
        for bad in ["", "a/b", "a b", "ü", "..", &"x".repeat(65)] {
            assert!(PluginName::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
