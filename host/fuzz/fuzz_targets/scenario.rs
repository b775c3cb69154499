//! Fuzzes the scenario reader: `scenario::parse` on arbitrary text, checked
//! against the default bench (the repository's `bench.toml`).
//!
//! Must hold: no panic, no hang, bounded memory, whatever the text; an
//! error renders; an accepted scenario's timelines can be scheduled (the
//! runner trusts them).
//!
//! Run: `scripts/fuzz --smoke` (all targets), or
//! `cd host/fuzz && cargo +nightly fuzz run scenario`.

#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use benchctl::config::BenchConfig;
use libfuzzer_sys::fuzz_target;

static BENCH: LazyLock<BenchConfig> = LazyLock::new(|| {
    benchctl::config::parse(Path::new("bench.toml"), include_str!("../../../bench.toml"))
        .expect("the repository's bench.toml is valid")
});

/// Larger inputs are left out: validation is quadratic in the step count
/// (a known problem, tracked on its own), which would show up as hangs
/// that say nothing new.
const MAX_INPUT: usize = 64 << 10;

fuzz_target!(|input: &[u8]| {
    if input.len() > MAX_INPUT {
        return;
    }
    let text = String::from_utf8_lossy(input);
    match benchctl::scenario::parse(Path::new("s.toml"), &text, &BENCH) {
        Ok(scenario) => {
            let _ = scenario.nominal_duration();
            for timeline in &scenario.timelines {
                let _ = timeline.schedule();
            }
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
