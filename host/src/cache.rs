//! The compiled-code cache: components compiled once are kept on disk, keyed by the hash of
//! the wasm bytes and of the engine's configuration, so a restart or a reload of unchanged
//! bytes loads native code instead of compiling (milliseconds instead of tens or hundreds).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};
use wasmtime::component::Component;
use wasmtime::Engine;

/// A wasm file's content hash (SHA-1, hex): identifies a plugin version.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

/// Where compiled components are kept. `None` caches nothing.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

/// How a component was obtained, for the log and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Compiled,
    Cached,
}

impl CompileCache {
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> CompileCache {
        // Compiled code is only valid for an engine with the same settings and version.
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        CompileCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    /// The component for `bytes`: from the cache when present, else compiled (and stored).
    /// A cache that cannot be read or written is skipped, never fatal.
    pub fn component(
        &self,
        engine: &Engine,
        bytes: &[u8],
        hash: &str,
    ) -> wasmtime::Result<(Component, Source)> {
        match self.cached(engine, hash) {
            Some(component) => Ok((component, Source::Cached)),
            None => Ok((self.compile(engine, bytes, hash)?, Source::Compiled)),
        }
    }

    /// The component compiled earlier from the bytes whose hash is `hash`, if the cache has
    /// it: milliseconds, where a compile takes tens or hundreds.
    pub fn cached(&self, engine: &Engine, hash: &str) -> Option<Component> {
        let path = self.path(hash)?;
        if !path.exists() {
            return None;
        }
        // SAFETY: the cache folder is written only by this host, with what
        // `Component::serialize` produced for an engine with the same compatibility hash
        // (part of the file name); wasmtime checks the header again on load.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring an unusable cache entry: {e}");
                None
            }
        }
    }

    /// Compiles `bytes` and stores the result in the cache (if any).
    pub fn compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        hash: &str,
    ) -> wasmtime::Result<Component> {
        let component = Component::from_binary(engine, bytes)?;
        if let Some(path) = self.path(hash) {
            if let Err(e) = store(&path, &component) {
                tracing::warn!(path = %path.display(), "cannot write the compile cache: {e:#}");
            }
        }
        Ok(component)
    }

    fn path(&self, hash: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(format!("{hash}-{}.cwasm", self.engine_key)))
    }
}

/// Writes atomically (temp file, then rename) so a reader never sees half a file.
fn store(path: &Path, component: &Component) -> anyhow::Result<()> {
    let dir = path.parent().expect("cache paths have a folder");
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The default cache folder: `$XDG_CACHE_HOME/pyrus-host`, else `~/.cache/pyrus-host`.
pub fn default_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("pyrus-host"))
}
