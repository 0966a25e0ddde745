//! `pyrus-host check`: load a config and every plugin it names, report every problem.

use std::path::Path;
use std::process::ExitCode;

use pyrus_host::config::{Config, Secrets};
use pyrus_host::host::Host;
use pyrus_host::names::Kind;
use pyrus_host::registry::Loaded;

pub fn check(path: &Path) -> anyhow::Result<ExitCode> {
    // A config error stops here: without a valid config there are no plugins to check.
    let config = match Config::load_with(path, Secrets::Defer) {
        Ok(config) => config,
        Err(e) => {
            println!("problem: {e}");
            println!("1 problem");
            return Ok(ExitCode::FAILURE);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let host = Host::load(&config, &rt)?;
    for line in host.runtime.capabilities().status() {
        println!("ok: {line}");
    }
    for kind in Kind::ALL {
        for plugin in host.registry.plugins(kind) {
            print_ok(plugin);
        }
    }
    let report = &host.report;
    let capability_problems = host
        .capability_errors
        .iter()
        .map(|e| format!("{}: {e:#}", path.display()));
    let problems: Vec<String> = config
        .unavailable_secrets
        .iter()
        .map(ToString::to_string)
        .chain(report.errors.iter().map(ToString::to_string))
        .chain(capability_problems)
        .collect();
    for problem in &problems {
        println!("problem: {problem}");
    }
    let plugins = config.bots.len() + config.extensions.len();
    match problems.len() {
        0 => {
            println!("{plugins} plugins checked, no problems");
            Ok(ExitCode::SUCCESS)
        }
        n => {
            println!(
                "{plugins} plugins checked, {n} problem{}",
                if n == 1 { "" } else { "s" }
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_ok(loaded: &Loaded) {
    let limits = &loaded.plugin.sandbox.limits;
    let fuel = limits
        .fuel
        .map(|f| format!(", fuel {f}"))
        .unwrap_or_default();
    println!(
        "ok: {}: {} (sha1 {}, world {}); timeout {} ms, memory {} MiB, \
         {} calls at once, reply {} KiB{fuel}",
        loaded.key(),
        loaded.path.display(),
        &loaded.hash[..12],
        loaded.plugin.contract(),
        limits.timeout.as_millis(),
        limits.memory_bytes >> 20,
        limits.max_concurrency,
        limits.max_reply_bytes >> 10,
    );
    let mut granted = loaded.plugin.sandbox.grants.describe();
    if loaded.plugin.takes_inbound() {
        granted.push("inbound calls".into());
    }
    if !granted.is_empty() {
        println!("    grants: {}", granted.join("; "));
    }
}
