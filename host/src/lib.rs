//! pyrus-host: serves Pyrus bot and extension webhooks by running sandboxed WebAssembly
//! components, one fresh instance per call.
//!
//! The path of one call: [`server`] (axum route, body limit) → [`signature`] (HMAC-SHA1 of the
//! raw bytes) → [`registry`] (name → loaded plugin, swapped atomically) → [`runtime`] (fresh
//! store and instance with the plugin's limits) → reply.

pub mod cache;
pub mod capabilities;
pub mod compiler;
pub mod config;
pub mod delivery;
pub mod host;
pub mod log_format;
pub mod log_writer;
pub mod names;
pub mod registry;
pub mod reload;
pub mod retry;
pub mod runtime;
pub mod secret;
pub mod server;
pub mod signature;
pub mod text;
