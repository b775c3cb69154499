//! Fuzzes the journal reader: `Events::parse` on arbitrary bytes, then what
//! the analysis asks of it (phase intervals per DUT, the phase at a time,
//! the faults).
//!
//! Must hold: no panic, no hang, bounded memory, whatever the bytes; an
//! error renders.
//!
//! Run: `scripts/fuzz --smoke` (all targets), or
//! `cd host/fuzz && cargo +nightly fuzz run events-jsonl`.

#![no_main]

use std::path::Path;

use benchctl_format::read::Events;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let events = match Events::parse(Path::new("events.jsonl"), input) {
        Ok(events) => events,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let run_end = events.last_t().unwrap_or(0.0);
    let duts: Vec<&str> = events.phase_duts().map(|(dut, _)| dut).collect();
    for dut in duts.iter().copied().chain(["phone-a"]) {
        for end in [run_end, f64::INFINITY, f64::NAN, -1.0] {
            for interval in events.phase_intervals(dut, end) {
                let _ = interval.contains(interval.start);
                let _ = events.phase_at(dut, interval.start);
            }
        }
        let _ = events.phase_at(dut, run_end);
        let _ = events.phase_at(dut, f64::NAN);
    }
    let _ = events.faults().count();
    let _ = (
        events.out_of_order(),
        events.truncated_line(),
        events.all().len(),
    );
});
