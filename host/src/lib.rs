//! benchctl: drive a hardware-in-the-loop phone test bench.
//!
//! Data flows one way: `config` (bench.toml) -> `bench` (hardware behind the
//! traits in `hw`, built in `bench::open`; the simulated lab in `bench::sim`)
//! -> `runner` (a `scenario` on the wall or the virtual clock) -> the run
//! directory (`benchctl-format`) -> analysis (`benchctl-detect`) -> `suite`,
//! `report`, `history` -> commands in `cli`. Each module uses only those
//! before it in that list (docs/architecture.md; `tests/layers.rs` checks).

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
