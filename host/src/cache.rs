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
            } else if let Some(mapped) = self.cached(engine, hash) {
                // The same code mapped from the file it was just written to: its pages can
                // then be given back while the plugin is idle (see release_resident_code),
                // where the compiled copy's would stay resident.
                return Ok(mapped);
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

/// Gives back the resident pages of a component's compiled code loaded from the cache, so
/// that an idle plugin costs the process no memory for its code: the pages stay in the
/// kernel's page cache (reclaimable) and are mapped again, by minor faults, on the plugin's
/// first call. Loading touches the whole image (about 0.6 MiB for hello-bot), so without this
/// 1,000 idle plugins kept ~600 MiB resident.
///
/// Only for an image that is still exactly the file's contents: wasmtime maps a cache file
/// privately and, with no relocations in its code, never writes to it; a page it had
/// written would be anonymous, and dropping it would lose the write. So every resident
/// page is checked in `/proc/self/pagemap` to be a file page first, else nothing is done.
pub fn release_resident_code(component: &Component) {
    let range = component.image_range();
    // SAFETY: sysconf has no preconditions.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        size if size > 0 => size as usize,
        _ => return,
    };
    let start = (range.start as usize).div_ceil(page) * page;
    let end = (range.end as usize) / page * page;
    if end <= start || !all_file_pages(start, end, page) {
        return;
    }
    // SAFETY: the range is within the component's image, a private file mapping whose
    // resident pages are all unmodified file pages (checked above): after MADV_DONTNEED the
    // next access reads the same bytes back from the file. The component stays alive.
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
    }
}

/// Whether every page in `start..end` is either a resident file page (pagemap bit 61) or
/// not touched at all, never an anonymous copy. False when pagemap cannot be read.
fn all_file_pages(start: usize, end: usize, page: usize) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut pagemap) = std::fs::File::open("/proc/self/pagemap") else {
        tracing::debug!("cannot read /proc/self/pagemap: compiled code stays resident");
        return false;
    };
    let pages = (end - start) / page;
    let mut entries = vec![0u8; pages * 8];
    if pagemap
        .seek(SeekFrom::Start((start / page * 8) as u64))
        .and_then(|_| pagemap.read_exact(&mut entries))
        .is_err()
    {
        return false;
    }
    entries.chunks_exact(8).all(|e| {
        let entry = u64::from_le_bytes(e.try_into().unwrap());
        let present = entry & (1 << 63) != 0;
        let swapped = entry & (1 << 62) != 0;
        let file_or_shared = entry & (1 << 61) != 0;
        // Resident from the file, or never touched; a swapped-out page of a private file
        // mapping is a modified copy, so it fails the check.
        (present && file_or_shared) || (!present && !swapped)
    })
}
