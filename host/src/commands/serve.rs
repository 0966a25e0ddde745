//! `pyrus-host serve`: load everything, then serve webhooks until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pyrus_host::config::Config;
use pyrus_host::host::Host;
use pyrus_host::reload::Reloader;
use pyrus_host::server::{self, AppState};

pub fn serve(config_path: PathBuf) -> anyhow::Result<ExitCode> {
    let config = Config::load(&config_path)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // A looping plugin yields at every 10 ms epoch tick, so one task poll can last that
        // long. Tokio checks for I/O only every `event_interval` polls (61 by default): with
        // every worker busy with such plugins, new requests would wait ~600 ms. Checking
        // every 2 polls bounds that wait to about 20 ms.
        .event_interval(2)
        .build()
        .context("cannot start the async runtime")?;
    // At startup every plugin must load: there is no previous version to fall back on.
    let host = Host::load_all(&config, &rt)?;
    tracing::info!(
        bots = config.bots.len(),
        extensions = config.extensions.len(),
        compiled = host.report.compiled,
        cached = host.report.cached,
        load_ms = host.load_time.as_millis() as u64,
        "plugins loaded"
    );
    let tls = match &config.server.tls {
        Some(tls) => Some(server::tls::server_config(tls)?),
        None => None,
    };
    let metrics = server::metrics::install().context("cannot install the metrics recorder")?;
    let state = Arc::new(
        AppState::new(host.runtime, host.registry, config.server.max_body_bytes)
            .with_metrics(metrics)
            .with_admin_token(config.admin_token.clone()),
    );
    let reloader = Reloader::new(&config, state.clone(), host.cache);
    let grace = config.server.shutdown_grace;
    rt.block_on(async move {
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
                let listener = server::tls::TlsListener::new(listener, tls)?;
                run(listener, router, grace).await
            }
            None => {
                tracing::info!(%addr, tls = false, "listening");
                run(listener, router, grace).await
            }
        }
    })
}

/// Serves until SIGTERM or Ctrl-C, then stops accepting and lets calls in flight finish,
/// for at most `grace`.
async fn run<L>(listener: L, router: axum::Router, grace: Duration) -> anyhow::Result<ExitCode>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = stopping_tx.send(true);
    });
    let deadline = async move {
        let _ = stopping.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = server => {
            served.context("server failed")?;
            tracing::info!("stopped: every call in flight finished");
            Ok(ExitCode::SUCCESS)
        }
        () = deadline => {
            tracing::warn!(
                grace_ms = grace.as_millis() as u64,
                "stopped: calls still in flight after the shutdown grace period were cut off"
            );
            Ok(ExitCode::SUCCESS)
        }
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
