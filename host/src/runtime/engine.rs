//! The one [`Engine`] of the process and its epoch ticker.

use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::limits::MAX_MEMORY_MB;

/// How many instances may be alive at once, over all plugins: the default, and the most
/// `[runtime] max_instances` may ask for (the pool reserves address space for each).
pub const MAX_INSTANCES: u32 = 1000;

/// Unused memory slots kept for the plugin that used them last: the default, and the most
/// `[runtime] warm_slots` may ask for (every memory slot of the pool).
pub const WARM_SLOTS: u32 = 1000;
pub const MAX_WARM_SLOTS: u32 = MAX_INSTANCES * MEMORIES_PER_COMPONENT;

/// One epoch tick. A running plugin yields to the scheduler at every tick, so a plugin that
/// loops holds a core for at most this long at a time (outside a host function or a bulk
/// memory instruction, which no epoch interrupts). 1 ms slices keep a quick bot's wait
/// behind busy plugins short; a yield costs a few microseconds, well under 1% of a slice.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// A Rust wasip2 component holds a handful of core instances (the program, the WASI
/// adapter, shims) and up to two memories.
const CORE_INSTANCES_PER_COMPONENT: u32 = 20;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 4;

/// Set to `1` to write a perf map of the plugins' compiled code, for profiling with `perf`.
pub const PERFMAP_ENV: &str = "PYRUS_HOST_PERFMAP";

/// Engine-wide settings: wasmtime fixes these per engine, not per store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    /// The wasm call stack of every instance. Per engine in wasmtime, so not per plugin.
    pub max_wasm_stack: usize,
    /// Instances alive at once over all plugins: the pool's size, and the admission gate's.
    pub max_instances: u32,
    /// Unused memory slots kept warm for the plugin that used them last.
    pub warm_slots: u32,
    /// Count fuel in every store (needed as soon as one plugin has a fuel budget; it costs
    /// some speed, so it is off otherwise).
    pub fuel: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            max_wasm_stack: 512 << 10,
            max_instances: MAX_INSTANCES,
            warm_slots: WARM_SLOTS,
            fuel: false,
        }
    }
}

pub fn new_engine(settings: &EngineSettings) -> anyhow::Result<Engine> {
    let instances = settings.max_instances;
    let mut pool = PoolingAllocationConfig::default();
    // Every total is what `instances` components of the most a component may hold need, so
    // the admission gate (one permit per instance) is full before any of the pool's kinds.
    pool.total_component_instances(instances)
        .total_core_instances(instances * CORE_INSTANCES_PER_COMPONENT)
        .total_memories(instances * MEMORIES_PER_COMPONENT)
        .total_tables(instances * TABLES_PER_COMPONENT)
        .total_stacks(instances)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .max_memory_size((MAX_MEMORY_MB as usize) << 20)
        // Keeping the pages a call dirtied resident, and resetting them in place with a
        // pagemap scan, avoids the madvise calls whose faults and TLB shootdowns make two
        // threads slower than one (see the performance notes in the README). 8 MiB covers
        // what a Python or JS runtime dirties in a call: with 1 MiB a Python hello call
        // faulted ~110 pages back each time and served 351-372 req/s; with 8 MiB, 0.24
        // faults and 577 req/s (wrk -t2 -c4 on one host, same machine and hour).
        .linear_memory_keep_resident(8 << 20)
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(256 << 10)
        .pagemap_scan(wasmtime::Enabled::Auto);
    // An instance takes a slot its plugin used last (its memory image already mapped) if
    // one is free; otherwise a never-used slot, as long as fewer than this many slots sit
    // warm for other plugins; only then another plugin's slot, which must be mapped again.
    pool.max_unused_warm_slots(settings.warm_slots);

    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(settings.max_wasm_stack)
        .consume_fuel(settings.fuel)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    if std::env::var_os(PERFMAP_ENV).is_some_and(|v| v == "1") {
        // Names JIT code in /tmp/perf-PID.map so `perf report` shows plugin functions.
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    Ok(Engine::new(&config)?)
}

/// Increments the engine's epoch every [`EPOCH_TICK`] on a thread of its own, for as long as
/// the engine lives. One ticker per engine.
pub struct EpochTicker {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> EpochTicker {
        let weak = engine.weak();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    thread::sleep(EPOCH_TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .expect("spawn the epoch ticker thread");
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
