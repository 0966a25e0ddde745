//! `pyrus-host serve`: load everything, then serve webhooks until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pyrus_host::capabilities::keyvalue::StoreBackend;
use pyrus_host::config::Config;
use pyrus_host::delivery::{Deliveries, Mode};
use pyrus_host::host::Host;
use pyrus_host::reload::Reloader;
use pyrus_host::server::{self, AppState};

pub fn serve(config_path: PathBuf) -> anyhow::Result<ExitCode> {
    let config = Config::load(&config_path)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // The workers only read requests and write answers (plugin calls run on the
        // scheduler's own threads): one per core.
        .worker_threads(pyrus_host::runtime::plugin_threads())
        .on_thread_park(pyrus_host::runtime::os_sched::worker_parks)
        .build()
        .context("cannot start the async runtime")?;
    // At startup every plugin must load: there is no previous version to fall back on.
    // What the compile cache lacks compiles in the background: the host listens at once.
    let host = Host::load_all(&config, &rt, true)?;
    tracing::info!(
        bots = config.bots.len(),
        extensions = config.extensions.len(),
        cached = host.report.cached,
        compiling = host.report.compiling,
        load_ms = host.load_time.as_millis() as u64,
        "plugins loaded"
    );
    let cached = host.report.cached;
    let compiler = host
        .compiler
        .clone()
        .expect("serve compiles in the background");
    let tls = match &config.server.tls {
        Some(tls) => Some(server::tls::server_config(tls)?),
        None => None,
    };
    // The delivery records live in the `[store]` backend when the host has one: Redis
    // whenever it is configured (several hosts), the redb file when some plugin opened it.
    let store_open = host.runtime.capabilities().keyvalue.store().is_some()
        || matches!(
            config.capabilities.keyvalue.backend,
            StoreBackend::Redis { .. }
        );
    let any_async = config
        .bots
        .values()
        .any(|b| matches!(b.mode, Mode::Async(_)));
    let deliveries = rt
        .block_on(async {
            match any_async {
                true => Deliveries::open_with_queue(&config.capabilities.keyvalue).await,
                false => Deliveries::open(&config.capabilities.keyvalue, store_open).await,
            }
        })
        .context("cannot open the delivery records and queue")?;
    tracing::info!(
        backend = deliveries.backend(),
        "retry de-duplication records"
    );
    let metrics = server::metrics::install().context("cannot install the metrics recorder")?;
    let state = Arc::new(
        AppState::new(host.runtime, host.registry, config.server.max_body_bytes)
            .with_metrics(metrics)
            .with_body_timeout(config.server.body_timeout)
            .with_admin_token(config.admin_token.clone())
            .with_tls(tls.is_some())
            .with_deliveries(deliveries),
    );
    let reloader = Reloader::new(&config, state.clone(), host.cache, compiler);
    let grace = config.server.shutdown_grace;
    let limits = config.server.connections;
    raise_open_files_limit();
    ignore_file_size_signal();
    rt.block_on(async move {
        server::compiling::finish_in_background(&state, &state.registry.load(), cached);
        if let Some(queue) = state.deliveries.queue.clone() {
            tokio::spawn(pyrus_host::delivery::worker::run(
                state.clone(),
                queue.clone(),
            ));
            tokio::spawn(pyrus_host::delivery::sampler::run(state.clone(), queue));
        }
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        if config.server.watch {
            reloader
                .watch()
                .context("cannot watch the config and plugin files")?;
        }
        let addr = listener.local_addr()?;
        let router = server::router(state);
        match tls {
            Some(tls) => {
                tracing::info!(%addr, tls = true, "listening");
                let listener = server::tls::TlsListener::new(listener, tls, limits)?;
                run(listener, router, limits, grace).await
            }
            None => {
                tracing::info!(%addr, tls = false, "listening");
                run(listener, router, limits, grace).await
            }
        }
    })
}

/// Serves until SIGTERM or Ctrl-C, then stops accepting and lets calls in flight finish,
/// for at most `grace`.
async fn run<L>(
    listener: L,
    router: axum::Router,
    limits: server::listen::ConnectionLimits,
    grace: Duration,
) -> anyhow::Result<ExitCode>
where
    L: axum::serve::Listener,
{
    match server::listen::serve(listener, router, limits, shutdown_signal(), grace).await {
        server::listen::Stopped::Drained => {
            tracing::info!("stopped: every call in flight finished");
        }
        server::listen::Stopped::CutOff => tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            "stopped: calls still in flight after the shutdown grace period were cut off"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Raises the soft limit on open files to the hard one: every connection is a file, and
/// the soft limit a service starts with (often 1024) is far below what a host should take.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        let soft = limit.rlim_cur;
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                limit.rlim_cur = soft;
            }
        }
        tracing::info!(
            was = soft,
            now = limit.rlim_cur,
            hard = limit.rlim_max,
            "open files limit"
        );
    }
}

/// A write past a file-size limit (`ulimit -f`, some quota setups) sends SIGXFSZ, which
/// kills the process by default. Ignored, the write fails with EFBIG instead: the store
/// answers "store unavailable" for that call and the host stays up.
fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: no new connections; finishing calls in flight");
}
