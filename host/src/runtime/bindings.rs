//! Host-side bindings generated from the WIT package in `wit/`, one module per world. The
//! interfaces both worlds import (`types`, `log`, `wasi:keyvalue`, `wasi:config`) are
//! generated once, in `bot`, and shared.

/// The `bot-plugin` world.
pub mod bot {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "bot-plugin",
        imports: {
            // Store backends do I/O (a disk commit, a Redis round trip).
            "wasi:keyvalue": async | trappable,
            "wasi:config": trappable,
        },
        exports: { default: async },
        with: {
            "wasi:keyvalue/store.bucket": crate::capabilities::keyvalue::Bucket,
        },
    });
}

/// The `extension-plugin` world.
pub mod extension {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "extension-plugin",
        exports: { default: async },
        with: {
            "pyrus:plugin/types": super::bot::pyrus::plugin::types,
            "pyrus:plugin/log": super::bot::pyrus::plugin::log,
            "wasi:keyvalue": super::bot::wasi::keyvalue,
            "wasi:config": super::bot::wasi::config,
        },
    });
}

pub use bot::pyrus::plugin::{log, types};
pub use bot::wasi::config::store as config_store;
pub use bot::wasi::keyvalue::{atomics, batch, store as kv_store};
