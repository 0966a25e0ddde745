//! The `pyrus-host` command line.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use pyrus_host::cache::CompileCache;
use pyrus_host::config::Config;
use pyrus_host::registry::Registry;
use pyrus_host::reload::Reloader;
use pyrus_host::runtime::Runtime;
use pyrus_host::server::{self, AppState};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    version,
    about = "Hosts Pyrus bots and extensions as sandboxed WebAssembly components"
)]
struct Cli {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Load the config and its plugins, then serve Pyrus webhooks over HTTP.
    ///
    /// Bots are served at POST /bots/NAME, extensions at GET /extensions/NAME/pulse and
    /// POST /extensions/NAME/METHOD; GET /healthz lists what is loaded. Changes to the config
    /// file or a plugin file are loaded without a restart (unless `[server] watch = false`).
    /// Log verbosity follows RUST_LOG (default: info).
    Serve {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print the X-Pyrus-Sig a body needs for a configured bot or extension (only its secret
    /// must be available), to send a test call with curl:
    ///
    ///   curl -H "X-Pyrus-Sig: $(pyrus-host sign -c host.toml hello body.json)" \
    ///        --data-binary @body.json http://127.0.0.1:8080/bots/hello
    #[command(verbatim_doc_comment)]
    Sign {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
        /// The bot (or extension) whose secret signs the body.
        bot: String,
        /// The file holding the exact body bytes to send.
        body: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Serve { config } => serve(config),
        Command::Sign { config, bot, body } => sign(config, bot, body),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn sign(config_path: PathBuf, bot: String, body: PathBuf) -> anyhow::Result<()> {
    let secret = pyrus_host::config::load_secret(&config_path, &bot)?;
    let bytes = std::fs::read(&body).with_context(|| format!("cannot read {}", body.display()))?;
    println!("{}", pyrus_host::signature::sign(&secret, &bytes));
    Ok(())
}

fn serve(config_path: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(&config_path)?;
    let runtime = Arc::new(
        Runtime::new(config.engine_settings()).context("cannot create the WebAssembly engine")?,
    );
    let cache = CompileCache::new(runtime.engine(), config.server.cache_dir.clone());
    let started = std::time::Instant::now();
    let (registry, report) = Registry::build(&runtime, &cache, &config, None);
    // At startup every plugin must load: there is no previous version to fall back on.
    if let Some(first) = report.errors.into_iter().next() {
        return Err(first.into());
    }
    tracing::info!(
        bots = config.bots.len(),
        extensions = config.extensions.len(),
        compiled = report.compiled,
        cached = report.cached,
        load_ms = started.elapsed().as_millis() as u64,
        "plugins loaded"
    );
    let state = Arc::new(AppState::new(
        runtime,
        registry,
        config.server.max_body_bytes,
    ));
    let reloader = Reloader::new(&config, state.clone(), cache);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // A looping plugin yields at every 10 ms epoch tick, so one task poll can last that
        // long. Tokio checks for I/O only every `event_interval` polls (61 by default): with
        // every worker busy with such plugins, new requests would wait ~600 ms. Checking
        // every 2 polls bounds that wait to about 20 ms.
        .event_interval(2)
        .build()
        .context("cannot start the async runtime")?;
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
        tracing::info!(%addr, "listening");
        axum::serve(listener, server::router(state))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("server failed")
    })
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
    tracing::info!("shutting down: finishing calls in flight");
}
