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
        benchctl_format::input::MAX_SCENARIO_BYTES,
        "scenarios shipped with benchctl are in scenarios/, e.g. scenarios/backdoor-hunt.toml",
    )?;
    parse(path, &source, bench)
}

/// Check scenario text; `path` is used in messages.
pub fn parse(path: &Path, source: &str, bench: &BenchConfig) -> Result<Scenario, ConfigErrors> {
    validate::parse(path, source, bench)
}

/// What the scenario's phases expect that this bench cannot measure, in
/// words: an RF-silent phase for a DUT with no shield channel in its
/// enclosure, a power-off phase with no current sensor on its supply, a
/// network expectation for a DUT without a link. Such a run records, and
/// its analysis is then incomplete for that phase; `run --dry-run` says so
/// beforehand.
pub fn unmeasured(scenario: &Scenario, bench: &BenchConfig) -> Vec<String> {
    use crate::config::ShieldQuantity;
    let channel = |dut: &str, quantity: ShieldQuantity| {
        bench.shield.as_ref().is_some_and(|s| {
            s.channels
                .iter()
                .any(|c| c.quantity == quantity && c.dut.as_deref() == Some(dut))
        })
    };
    let mut out = Vec::new();
    for tl in &scenario.timelines {
        let linked = bench.dut(&tl.dut).is_some_and(|d| d.link.is_some());
        for step in &tl.steps {
            let StepKind::Phase { name, expect } = &step.kind else {
                continue;
            };
            let mut missing = Vec::new();
            if expect.rf == RfExpect::Silent && !channel(&tl.dut, ShieldQuantity::Rf) {
                missing.push("RF silence, but no shield channel is in its enclosure");
            }
            if expect.power == PowerExpect::Off && !channel(&tl.dut, ShieldQuantity::Current) {
                missing.push("power off, but no shield channel measures its current");
            }
            if expect.net != NetExpect::Any && !linked {
                missing.push("a network expectation, but it has no link to capture");
            }
            for m in missing {
                out.push(format!(
                    "{} phase \"{name}\" (line {}) expects {m}: the run will be incomplete there",
                    tl.dut, step.line
                ));
            }
        }
    }
    out
}
