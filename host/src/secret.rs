//! Secrets (bot keys, extension secrets): where they come from, and a type that never prints
//! them.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretBox};
use serde::Deserialize;

/// Where the config says a secret is: `{ env = "VAR" }` or `{ file = "path" }`.
///
/// Inline secrets are deliberately not supported: a config file is often committed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, untagged)]
pub enum SecretSource {
    Env { env: String },
    File { file: PathBuf },
}

/// Why a secret could not be read. Names the source, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    #[error("environment variable {0} is empty")]
    EnvEmpty(String),
    #[error("cannot read secret file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("secret file {0} is empty")]
    FileEmpty(PathBuf),
}

impl SecretSource {
    /// Reads the secret. A relative file path is taken from `base` (the config's folder).
    /// Surrounding whitespace (a file's trailing newline) is not part of the secret.
    pub fn resolve(&self, base: &Path) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Env { env } => {
                let value = std::env::var(env).map_err(|_| SecretError::EnvMissing(env.clone()))?;
                let value = value.trim();
                if value.is_empty() {
                    return Err(SecretError::EnvEmpty(env.clone()));
                }
                Ok(Secret::new(value.as_bytes()))
            }
            SecretSource::File { file } => {
                let path = base.join(file);
                let value = std::fs::read_to_string(&path).map_err(|source| SecretError::File {
                    path: path.clone(),
                    source,
                })?;
                let value = value.trim();
                if value.is_empty() {
                    return Err(SecretError::FileEmpty(path));
                }
                Ok(Secret::new(value.as_bytes()))
            }
        }
    }
}

/// Whether every secret must be readable when the config loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Serving: a missing secret is an error.
    Require,
    /// Tools that never verify a call (`check`, `call`): a missing secret is recorded and
    /// loading goes on with a placeholder.
    Defer,
}

/// A secret key. `Debug` prints `Secret([REDACTED])`, and there is no `Display`;
/// the bytes are zeroed on drop.
pub struct Secret(SecretBox<[u8]>);

impl Secret {
    pub fn new(bytes: &[u8]) -> Self {
        Secret(SecretBox::new(bytes.to_vec().into_boxed_slice()))
    }

    /// The raw key bytes, for computing a MAC. Keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new(b"hunter2");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
    }

    #[test]
    fn file_secret_is_trimmed_and_relative_to_base() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key"), "abc\n").unwrap();
        let src = SecretSource::File { file: "key".into() };
        assert_eq!(src.resolve(dir.path()).unwrap().expose(), b"abc");
    }

    #[test]
    fn missing_sources_are_errors_that_name_them() {
        let err = SecretSource::Env {
            env: "PYRUS_TEST_SURELY_UNSET_VAR".into(),
        }
        .resolve(Path::new("."))
        .unwrap_err();
        assert!(err.to_string().contains("PYRUS_TEST_SURELY_UNSET_VAR"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        let err = SecretSource::File {
            file: "empty".into(),
        }
        .resolve(dir.path())
        .unwrap_err();
        assert!(matches!(err, SecretError::FileEmpty(_)));
    }
}
