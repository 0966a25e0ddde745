//! `pyrus-host call`: one call of a configured plugin, in-process, through the same router
//! that serves HTTP (so the checks, limits and status codes are the ones Pyrus would get).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use axum::body::Body;
use axum::http::{Method as HttpMethod, Request};
use pyrus_host::config::{Config, Secrets};
use pyrus_host::host::Host;
use pyrus_host::names::Kind;
use pyrus_host::runtime::Method;
use pyrus_host::server::{self, AppState};
use pyrus_host::signature;
use tower::ServiceExt;

#[derive(clap::Args)]
pub struct CallArgs {
    /// The TOML config file.
    #[arg(long, short)]
    config: PathBuf,
    /// The configured bot or extension to call.
    name: String,
    /// For an extension: the webhook to call (pulse, authorize, toggle, event, sendmessage,
    /// createdialog, getavailablenumbers).
    #[arg(long, short)]
    method: Option<String>,
    /// The file holding the JSON body, as Pyrus would send it ('-' reads stdin).
    #[arg(long, short)]
    body: Option<PathBuf>,
    /// Pretend this is Pyrus' retry number N (sets X-Pyrus-Retry: N/3).
    #[arg(long, default_value_t = 1)]
    attempt: u32,
    /// Print the X-Pyrus-Sig header value for the body (needs the plugin's secret) instead of
    /// calling the plugin.
    #[arg(long)]
    sign: bool,
}

pub fn call(args: CallArgs) -> anyhow::Result<ExitCode> {
    let body = match &args.body {
        Some(path) => read_body(path)?,
        None => Vec::new(),
    };
    if args.sign {
        let secret = pyrus_host::config::load_secret(&args.config, &args.name)?;
        println!("{}", signature::sign(&secret, &body));
        return Ok(ExitCode::SUCCESS);
    }

    let mut config = Config::load_with(&args.config, Secrets::Defer)?;
    let is_bot = config.bots.contains_key(args.name.as_str())
        && !(args.method.is_some() && config.extensions.contains_key(args.name.as_str()));
    // Load only the plugin being called.
    config
        .bots
        .retain(|name, _| is_bot && name.as_str() == args.name);
    config
        .extensions
        .retain(|name, _| !is_bot && name.as_str() == args.name);
    if config.bots.is_empty() && config.extensions.is_empty() {
        bail!(
            "{}: no bot or extension named {:?}",
            args.config.display(),
            args.name
        );
    }
    let (http_method, uri) = if is_bot {
        if args.method.is_some() {
            bail!("--method is for extensions; {} is a bot", args.name);
        }
        (HttpMethod::POST, format!("/bots/{}", args.name))
    } else {
        let Some(method) = args.method.as_deref() else {
            bail!(
                "{} is an extension: say which webhook with --method ({})",
                args.name,
                method_list()
            );
        };
        let method = Method::from_path(&method.to_ascii_lowercase())
            .with_context(|| format!("unknown method {method:?}: one of {}", method_list()))?;
        let http = if method == Method::Pulse {
            HttpMethod::GET
        } else {
            HttpMethod::POST
        };
        (http, format!("/extensions/{}/{}", args.name, method.path()))
    };
    if http_method == HttpMethod::POST && args.body.is_none() {
        bail!("--body FILE is needed: the JSON Pyrus would POST");
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let host = Host::load_all(&config, &rt, false)?;
    let load_ms = host.load_time.as_secs_f64() * 1e3;
    // Sign with whatever secret the plugin was loaded with (a placeholder when the real one
    // is not available here): the call then passes the same check as a real signed call.
    let kind = if is_bot { Kind::Bot } else { Kind::Extension };
    let secret = host
        .registry
        .get(kind, &args.name)
        .expect("the plugin loaded")
        .secret
        .clone();
    let sig = signature::sign(&secret, &body);
    let state = Arc::new(AppState::new(
        host.runtime,
        host.registry,
        config.server.max_body_bytes,
    ));
    let request = Request::builder()
        .method(http_method)
        .uri(uri)
        .header(signature::HEADER, sig)
        .header("user-agent", "pyrus-host call")
        .header("x-pyrus-retry", format!("{}/3", args.attempt))
        .header("content-type", "application/json")
        .body(Body::from(body))?;

    let (status, reply, call_ms) = rt.block_on(async {
        let started = Instant::now();
        let response = server::router(state).oneshot(request).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        let call_ms = started.elapsed().as_secs_f64() * 1e3;
        anyhow::Ok((status, bytes, call_ms))
    })?;

    print_reply(&reply);
    eprintln!("{status} in {call_ms:.2} ms (plugin loaded in {load_ms:.0} ms)");
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints the reply, pretty when it is JSON.
fn print_reply(reply: &[u8]) {
    if reply.is_empty() {
        return;
    }
    match serde_json::from_slice::<serde_json::Value>(reply) {
        Ok(json) => println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        ),
        Err(_) => println!("{}", String::from_utf8_lossy(reply)),
    }
}

fn method_list() -> String {
    Method::ALL.map(Method::path).join(", ")
}

fn read_body(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes)?;
        return Ok(bytes);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// `pyrus-host sign`, kept for scripts written before `call --sign`.
pub fn sign(config: &Path, name: &str, body: &Path) -> anyhow::Result<ExitCode> {
    let secret = pyrus_host::config::load_secret(config, name)?;
    let bytes = read_body(body)?;
    println!("{}", signature::sign(&secret, &bytes));
    Ok(ExitCode::SUCCESS)
}
