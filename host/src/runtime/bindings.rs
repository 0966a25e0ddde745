//! Host-side bindings generated from the WIT package in `wit/`, one module per world. The
//! interfaces both worlds import (`types`, `log`) are generated once, in `bot`, and shared.

/// The `bot-plugin` world.
pub mod bot {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "bot-plugin",
        exports: { default: async },
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
        },
    });
}

pub use bot::pyrus::plugin::{log, types};
