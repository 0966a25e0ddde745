//! `log`: plugin messages go to the host's structured log, inside the call's span (so they
//! carry the plugin name, task id and attempt), capped in number per call and in length,
//! control characters escaped (a plugin cannot write a line of its own). Always granted.

use wasmtime::component::{ComponentType, Lift, Linker};

use super::{Capability, Entry, GrantError, HasState, Section};

/// The longest message kept; longer ones are cut at a character boundary.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// The `log` interface of every released contract version; they are the same function.
const INTERFACES: [&str; 2] = ["pyrus:plugin/log@0.1.0", "pyrus:plugin/log@0.2.0"];

/// `max_log_messages`: messages one call may write; the rest are dropped and counted.
const DEFAULT_MAX_MESSAGES: u32 = 100;

pub struct Log;

/// How many messages one call may still log.
#[derive(Debug)]
pub struct LogBudget {
    max: u32,
    written: u32,
    dropped: u32,
}

/// The WIT `level` enum. Built only by lifting from the guest, hence `dead_code`.
#[allow(dead_code)]
#[derive(ComponentType, Lift, Clone, Copy, Debug)]
#[component(enum)]
#[repr(u8)]
enum Level {
    #[component(name = "trace")]
    Trace,
    #[component(name = "debug")]
    Debug,
    #[component(name = "info")]
    Info,
    #[component(name = "warn")]
    Warn,
    #[component(name = "error")]
    Error,
}

impl Capability for Log {
    const NAME: &'static str = "log";
    const KEYS: &'static [&'static str] = &["max_log_messages"];
    const DEFAULT_KEYS: &'static [&'static str] = &["max_log_messages"];
    type Settings = ();
    /// `max_log_messages`.
    type Grant = u32;
    type State = LogBudget;

    fn settings(_: Section) -> Result<(), GrantError> {
        Ok(())
    }

    fn grant(entry: &mut Entry<'_>) -> Result<u32, GrantError> {
        match entry.take::<u32>("max_log_messages")? {
            None => Ok(DEFAULT_MAX_MESSAGES),
            Some(n) if n <= 100_000 => Ok(n),
            Some(n) => Err(entry.error(
                "max_log_messages",
                format!("{n} is out of range 0..=100000"),
            )),
        }
    }

    async fn open(_: &(), _: &[&u32]) -> anyhow::Result<Log> {
        Ok(Log)
    }

    fn closed(_: &()) -> Log {
        Log
    }

    fn link<T: HasState<Self>>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        for name in INTERFACES {
            linker.instance(name)?.func_wrap(
                "log",
                |mut store: wasmtime::StoreContextMut<'_, T>, (level, message): (Level, String)| {
                    log(store.data_mut().view().state, level, &message);
                    Ok(())
                },
            )?;
        }
        Ok(())
    }

    fn state(&self, max: &u32) -> LogBudget {
        LogBudget {
            max: *max,
            written: 0,
            dropped: 0,
        }
    }

    fn finish(budget: &LogBudget) {
        if budget.dropped > 0 {
            tracing::warn!(
                dropped = budget.dropped,
                "plugin log messages over the per-call cap were dropped"
            );
        }
    }
}

fn log(budget: &mut LogBudget, level: Level, message: &str) {
    if budget.written >= budget.max {
        budget.dropped += 1;
        return;
    }
    budget.written += 1;
    let message = crate::text::sanitize(message, MAX_MESSAGE_BYTES);
    match level {
        Level::Trace => tracing::trace!(target: "plugin", "{message}"),
        Level::Debug => tracing::debug!(target: "plugin", "{message}"),
        Level::Info => tracing::info!(target: "plugin", "{message}"),
        Level::Warn => tracing::warn!(target: "plugin", "{message}"),
        Level::Error => tracing::error!(target: "plugin", "{message}"),
    }
}
