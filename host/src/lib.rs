//! benchctl: drive a hardware-in-the-loop phone test bench.
//!
//! Data flows one way: `config` (bench.toml) -> `bench` (hardware behind the
//! traits in `hw`) -> commands in `cli`.

pub mod config;
pub mod hw;
pub mod sim;
pub mod bench;
pub mod shutdown;
pub mod state;
pub mod cli;
