//! Compiling plugins in the background: a bounded pool of threads takes compile jobs in
//! order, a job some call is waiting for goes first, and a file served under several names is
//! compiled once. The host listens before any compile finishes; the registry serves each
//! plugin as soon as its job is done (see `registry`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::Instant;

use wasmtime::component::Component;
use wasmtime::Engine;

use crate::cache::CompileCache;

/// One component to compile, shared by every plugin (and every waiting call) that needs it.
pub struct Job {
    pub hash: String,
    bytes: Mutex<Option<Vec<u8>>>,
    urgent: AtomicBool,
    result: OnceLock<Result<Component, String>>,
    done: tokio::sync::watch::Sender<bool>,
    queued_at: Instant,
}

impl Job {
    /// Puts this job before every job no call waits for.
    pub fn prioritize(&self) {
        self.urgent.store(true, Ordering::Relaxed);
    }

    /// Resolves when the job is done (at once if it is).
    pub async fn done(&self) {
        let mut rx = self.done.subscribe();
        let _ = rx.wait_for(|done| *done).await;
    }

    /// The compiled component, or why it could not be compiled; None while not done.
    pub fn result(&self) -> Option<&Result<Component, String>> {
        self.result.get()
    }
}

/// The compile pool. Cloning shares it.
#[derive(Clone)]
pub struct Compiler {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    cache: CompileCache,
    queue: Mutex<Queue>,
    work: Condvar,
    /// Jobs queued or running now.
    pending: AtomicUsize,
    /// Asks the trim thread to give freed memory back (see [`release_compiler_memory`]).
    trim: std::sync::mpsc::SyncSender<()>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Arc<Job>>,
    /// Jobs not yet dropped by everyone, by hash: a second request for the same bytes joins
    /// the first.
    by_hash: HashMap<String, Weak<Job>>,
}

impl Compiler {
    /// Starts `threads` compile threads (at least one); they live as long as the process.
    pub fn start(engine: Engine, cache: CompileCache, threads: usize) -> Compiler {
        // The trim runs at the caller's priority, not the compile threads' lower one: it
        // holds the allocator's arena locks, which calls' threads may wait for.
        let (trim, requests) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("compile-trim".into())
            .spawn(move || {
                for () in requests {
                    release_compiler_memory();
                }
            })
            .expect("start the compile trim thread");
        let inner = Arc::new(Inner {
            engine,
            cache,
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            pending: AtomicUsize::new(0),
            trim,
        });
        for i in 0..threads.max(1) {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name(format!("compile-{i}"))
                .spawn(move || worker(inner))
                .expect("start a compile thread");
        }
        Compiler { inner }
    }

    /// The job that compiles `bytes` (whose content hash is `hash`): a new one at the end of
    /// the queue, or the one already queued, running or done for the same bytes.
    pub fn submit(&self, hash: &str, bytes: Vec<u8>) -> Arc<Job> {
        let mut queue = self.inner.queue.lock().unwrap();
        if let Some(job) = queue.by_hash.get(hash).and_then(Weak::upgrade) {
            return job;
        }
        queue.by_hash.retain(|_, job| job.strong_count() > 0);
        let job = Arc::new(Job {
            hash: hash.to_string(),
            bytes: Mutex::new(Some(bytes)),
            urgent: AtomicBool::new(false),
            result: OnceLock::new(),
            done: tokio::sync::watch::Sender::new(false),
            queued_at: Instant::now(),
        });
        queue.by_hash.insert(hash.to_string(), Arc::downgrade(&job));
        queue.waiting.push_back(job.clone());
        self.inner.pending.fetch_add(1, Ordering::Relaxed);
        self.inner.work.notify_one();
        job
    }

    /// Jobs queued or running now.
    pub fn pending(&self) -> usize {
        self.inner.pending.load(Ordering::Relaxed)
    }
}

fn worker(inner: Arc<Inner>) {
    // Compiles yield the cores to calls: a cold start of many plugins serves the ones already
    // loaded at full speed. (On Linux the nice value is per thread.)
    // SAFETY: setpriority on the calling thread only changes its scheduling priority.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
    loop {
        let job = {
            let mut queue = inner.queue.lock().unwrap();
            loop {
                // The first urgent job, else the oldest.
                let at = queue
                    .waiting
                    .iter()
                    .position(|j| j.urgent.load(Ordering::Relaxed))
                    .unwrap_or(0);
                if let Some(job) = queue.waiting.remove(at) {
                    break job;
                }
                queue = inner.work.wait(queue).unwrap();
            }
        };
        let bytes = job.bytes.lock().unwrap().take().unwrap_or_default();
        let started = Instant::now();
        let result = inner
            .cache
            .compile(&inner.engine, &bytes, &job.hash)
            .map_err(|e| format!("{e:#}"));
        tracing::debug!(
            hash = %job.hash,
            queued_ms = started.duration_since(job.queued_at).as_millis() as u64,
            compile_ms = started.elapsed().as_millis() as u64,
            ok = result.is_ok(),
            "compiled"
        );
        let _ = job.result.set(result);
        let left = inner.pending.fetch_sub(1, Ordering::Relaxed) - 1;
        job.done.send_replace(true);
        if left == 0 {
            let _ = inner.trim.try_send(());
        }
    }
}

/// Gives the memory the compiler freed back to the system once the queue is empty: glibc
/// keeps freed heap in its arenas, and 1,000 compiles left ~360 MiB resident that no
/// plugin used (the compiled code itself is mapped from the cache files).
fn release_compiler_memory() {
    // SAFETY: malloc_trim only returns free memory of the allocator to the system.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}
