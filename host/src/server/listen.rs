//! Accepting connections, bounded: at most `max_connections` open at once (the rest are
//! closed at once, and counted), a request head must arrive within `header_timeout_ms`
//! (which also ends idle keep-alive connections and slowloris ones), and a graceful
//! shutdown that lets calls in flight finish within the grace period.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::serve::Listener;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;

pub use crate::config::ConnectionLimits;

/// How a serve ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Every call in flight finished.
    Drained,
    /// The grace period ran out with calls still in flight.
    CutOff,
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and waits
/// up to `grace` for the connections in flight.
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()>,
    grace: Duration,
) -> Stopped
where
    L: Listener,
{
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let refused = RateLimitedWarning::default();
    let service = TowerToHyperService::new(router);
    tokio::pin!(shutdown);
    loop {
        let (io, _addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            // Closing at once costs the peer nothing it did not already have, and keeps the
            // process's file descriptors for the connections it serves.
            drop(io);
            crate::server::metrics::record_connection_closed("limit");
            refused.warn(
                "connections refused: the host has max_connections open",
                limits.max_connections,
            );
            continue;
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(io), service.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                let reason = if e.is_timeout() {
                    "header_timeout"
                } else {
                    "error"
                };
                crate::server::metrics::record_connection_closed(reason);
                tracing::debug!(reason, "connection closed: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => Stopped::Drained,
        () = tokio::time::sleep(grace) => Stopped::CutOff,
    }
}

/// A warning about refused connections at most once a second, with how many there were:
/// a flood must not flood the log too.
#[derive(Default)]
pub(crate) struct RateLimitedWarning {
    since_last: AtomicU64,
    last: std::sync::Mutex<Option<Instant>>,
}

impl RateLimitedWarning {
    pub(crate) fn warn(&self, message: &'static str, max: usize) {
        let count = self.since_last.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last.lock().unwrap();
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return;
        }
        *last = Some(Instant::now());
        self.since_last.store(0, Ordering::Relaxed);
        tracing::warn!(refused = count, max_connections = max, "{message}");
    }
}
