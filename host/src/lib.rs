//! benchctl: drive a hardware-in-the-loop phone test bench.
//!
//! Data flows one way: `config` (bench.toml) -> `bench` (hardware behind the
//! traits in `hw`; the simulated lab in `sim`) -> `runner` (a `scenario` on
//! the run clock) -> `record` (the run directory) -> commands in `cli`.

pub mod bench;
pub mod cli;
pub mod config;
pub mod history;
pub mod hw;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod shutdown;
pub mod suite;
