//! The `pyrus-host` command line.

mod commands;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    version,
    about = "Hosts Pyrus bots and extensions as sandboxed WebAssembly components",
    long_about = "Hosts Pyrus bots and extensions as sandboxed WebAssembly components.\n\n\
        A plugin author's loop: `pyrus-host new bot NAME`, build it, try it with \
        `pyrus-host call`, then `pyrus-host serve`."
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
    /// Load the config and its plugins, then serve Pyrus webhooks over HTTP (or HTTPS).
    ///
    /// Bots are served at POST /bots/NAME, extensions at GET /extensions/NAME/pulse and
    /// POST /extensions/NAME/METHOD; GET /healthz lists what is loaded, GET /metrics gives
    /// Prometheus metrics, and /admin (when `[admin] token` is set) a status page. Changes to
    /// the config file or a plugin file are loaded without a restart (unless
    /// `[server] watch = false`). SIGTERM or Ctrl-C stops accepting calls, lets the calls in
    /// flight finish (up to `[server] shutdown_grace_ms`) and exits 0. Log verbosity follows
    /// RUST_LOG (default: info).
    Serve {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check a config and every plugin it names, without serving: the config's keys and
    /// limits, each plugin file (a component of the right world, exporting what the world
    /// needs and importing nothing the host does not provide), and each secret.
    ///
    /// Prints every problem with its file and key; exits 1 if there is any, else 0. Meant for
    /// the CI of a repository of bots.
    Check {
        /// The TOML config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run one call of a configured bot or extension in-process, as a signed webhook would
    /// (no HTTP, no secret needed), and print the reply and the time it took.
    ///
    /// The reply goes to stdout, the status and timing to stderr; the exit code is 0 when the
    /// call answered 2xx. With --sign, print the X-Pyrus-Sig header value for the body instead
    /// (that needs the plugin's secret), to send the same call with curl:
    ///
    ///   curl -H "X-Pyrus-Sig: $(pyrus-host call -c host.toml hello --body task.json --sign)" \
    ///        --data-binary @task.json http://127.0.0.1:8080/bots/hello
    #[command(verbatim_doc_comment)]
    Call(commands::call::CallArgs),
    /// Print the X-Pyrus-Sig a body needs (same as `call --sign`).
    #[command(hide = true)]
    Sign {
        #[arg(long, short)]
        config: PathBuf,
        bot: String,
        body: PathBuf,
    },
    /// Create a new plugin crate (a bot or an extension) that depends on the SDK, builds
    /// with one command, has a native unit test, a sample body and a config to run it with.
    New(commands::new::NewArgs),
    /// Print the running host's plugins as the admin page shows them: calls, errors and p99
    /// of the last 15 minutes, CPU share, peak memory and a sparkline of the last half hour
    /// (read from GET /admin/api/plugins with the config's `[admin] token`).
    Status(commands::status::StatusArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _flush_log = init_logging(cli.log_format);
    let result = match cli.command {
        Command::Serve { config } => commands::serve::serve(config),
        Command::Check { config } => commands::check::check(&config),
        Command::Call(args) => commands::call::call(args),
        Command::Sign { config, bot, body } => commands::call::sign(&config, &bot, &body),
        Command::New(args) => commands::new::new(args),
        Command::Status(args) => commands::status::status(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::debug!("{e:#}");
            // The log's lines first, then the error that ends the process.
            _flush_log.flush();
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) -> pyrus_host::log_writer::FlushGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = pyrus_host::log_writer::BackgroundStderr::start();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // Colour codes only for a person at a terminal, not in journald, files or pipes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        // One line per event, the call's span once as `span` (`log_format`).
        LogFormat::Json => builder
            .fmt_fields(pyrus_host::log_format::SpanFields)
            .event_format(pyrus_host::log_format::JsonLine)
            .init(),
    }
    guard
}
