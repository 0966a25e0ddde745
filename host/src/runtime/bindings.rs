//! Host-side bindings generated from the WIT package in `wit/`.

/// The `bot-plugin` world.
pub mod bot {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "bot-plugin",
        exports: { default: async },
    });
}

pub use bot::pyrus::plugin::{log, types};
