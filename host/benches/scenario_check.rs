//! Checking a scenario as large as benchctl reads (`MAX_SCENARIO_BYTES`,
//! 4 MiB: about 178 000 one-line steps) against the default bench: the
//! time and the peak resident memory of `scenario::parse` alone. Every
//! step is placed (line and column) for the plan and its messages; before
//! the line index, each place was found by scanning from the start of the
//! file, which made 200 000 steps take minutes.
//!
//!     cargo bench -p benchctl --bench scenario_check

use std::path::Path;
use std::time::Instant;

#[allow(dead_code)]
mod common;

fn main() {
    let bench_text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../bench.toml"))
        .expect("bench.toml");
    let bench = benchctl::config::parse(Path::new("bench.toml"), &bench_text).expect("bench");
    let cap = benchctl_format::input::MAX_SCENARIO_BYTES as usize;
    let mut text = String::from("[scenario]\nname = \"big\"\nduts = [\"phone-a\"]\nsteps = [\n");
    let mut steps = 0u64;
    loop {
        let step = format!("  {{ mark = \"m{steps}\" }},\n");
        if text.len() + step.len() + 2 > cap {
            break;
        }
        text.push_str(&step);
        steps += 1;
    }
    text.push_str("]\n");
    common::reset_vm_hwm();
    let before = common::vm_hwm_kb();
    let started = Instant::now();
    let scenario =
        benchctl::scenario::parse(Path::new("big.toml"), &text, &bench).expect("scenario checks");
    let took = started.elapsed();
    let peak = common::vm_hwm_kb();
    println!(
        "{steps} steps ({:.1} MiB): checked in {:.2} s",
        text.len() as f64 / f64::from(1 << 20),
        took.as_secs_f64()
    );
    common::print_peak_memory("checking", before, peak);
    std::hint::black_box(scenario);
}
