//! `pyrus-host check`: load a config and every plugin it names, report every problem.

use std::path::Path;
use std::process::ExitCode;

use pyrus_host::cache::CompileCache;
use pyrus_host::capabilities::keyvalue::Store;
use pyrus_host::capabilities::Grants;
use pyrus_host::config::{Config, Secrets};
use pyrus_host::registry::{Loaded, Registry};
use pyrus_host::runtime::limits::Limits;
use pyrus_host::runtime::Runtime;

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
    let mut runtime = Runtime::new(config.engine_settings())?;
    let mut store_problem = None;
    if config.needs_store() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        match rt.block_on(Store::open(&config.store)) {
            Ok(store) => {
                println!("ok: store: {} backend open", store.backend.name());
                runtime = runtime.with_store(store);
            }
            Err(e) => store_problem = Some(format!("{}: store: {e}", path.display())),
        }
    }
    let cache = CompileCache::new(runtime.engine(), config.server.cache_dir.clone());
    let (registry, report) = Registry::build(&runtime, &cache, &config, None);

    for bot in registry.bots() {
        print_ok(
            "bots",
            bot,
            "bot-plugin",
            &bot.plugin.sandbox.limits,
            &bot.plugin.sandbox.grants,
        );
    }
    for ext in registry.extensions() {
        print_ok(
            "extensions",
            ext,
            "extension-plugin",
            &ext.plugin.sandbox.limits,
            &ext.plugin.sandbox.grants,
        );
    }
    let problems: Vec<String> = config
        .unavailable_secrets
        .iter()
        .map(ToString::to_string)
        .chain(report.errors.iter().map(ToString::to_string))
        .chain(store_problem)
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

fn print_ok<P>(section: &str, loaded: &Loaded<P>, world: &str, limits: &Limits, grants: &Grants) {
    let fuel = limits
        .fuel
        .map(|f| format!(", fuel {f}"))
        .unwrap_or_default();
    println!(
        "ok: {section}.{}: {} (sha1 {}, world {world}); timeout {} ms, memory {} MiB, \
         {} calls at once, reply {} KiB{fuel}",
        loaded.name,
        loaded.path.display(),
        &loaded.hash[..12],
        limits.timeout.as_millis(),
        limits.memory_bytes >> 20,
        limits.max_concurrency,
        limits.max_reply_bytes >> 10,
    );
    let mut granted = Vec::new();
    if !grants.key_value_stores.is_empty() {
        granted.push(format!("stores {}", grants.key_value_stores.join(", ")));
    }
    if !grants.variables.is_empty() {
        let names: Vec<&str> = grants.variables.keys().map(String::as_str).collect();
        granted.push(format!("variables {}", names.join(", ")));
    }
    if !grants.allowed_outbound_hosts.is_empty() {
        granted.push(format!(
            "outbound to {} hosts",
            grants.allowed_outbound_hosts.len()
        ));
    }
    if grants.inbound {
        granted.push("inbound calls".into());
    }
    if !granted.is_empty() {
        println!("    grants: {}", granted.join("; "));
    }
}
