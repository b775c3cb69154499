//! Scenarios: what the bench does to each DUT and when, and what each phase
//! allows. A scenario file is TOML (`scenarios/*.toml`); it is checked
//! against the bench it will run on before anything is switched.
//!
//! ```toml
//! [scenario]
//! name = "airplane-check"
//! duts = ["phone-a"]
//! on_fault = "abort"            # or "continue"
//! steps = [
//!   { phase = "boot" },
//!   { do = "power.on" },
//!   { wait = "20s" },
//!   { phase = "airplane", rf = "silent", net = "none" },
//!   { do = "device.airplane", state = "on" },
//!   { wait = "60s" },
//! ]
//!
//! [timelines.phone-b]           # a DUT with a timeline of its own
//! steps = [ ... ]
//! ```

mod model;
mod raw;
mod validate;

use std::path::Path;

pub use model::*;

use crate::config::{BenchConfig, ConfigErrors};

/// Read and check a scenario for `bench`.
pub fn load(path: &Path, bench: &BenchConfig) -> Result<Scenario, ConfigErrors> {
    let source = crate::config::read_source(
        path,
        "scenario",
        "scenarios shipped with benchctl are in scenarios/, e.g. scenarios/backdoor-hunt.toml",
    )?;
    parse(path, &source, bench)
}

/// Check scenario text; `path` is used in messages.
pub fn parse(path: &Path, source: &str, bench: &BenchConfig) -> Result<Scenario, ConfigErrors> {
    validate::parse(path, source, bench)
}
