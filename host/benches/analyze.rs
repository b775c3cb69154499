//! Analysis speed and memory on a long recording: the simulated lab records
//! BENCH_HOURS (default 1) hours of the default bench (9 RF channels and 2
//! current sensors at 1 kS/s, and both phones' packets) in virtual time,
//! then `analyze` reads it back. Prints throughput in MB/s of sample data,
//! the projected time for a 24-hour recording, and the peak resident memory
//! during the analysis alone (VmHWM, reset before it starts).
//!
//!     cargo bench -p benchctl --bench analyze

use std::time::Instant;

mod common;

fn main() {
    let long = common::record_long_run("analyze");
    let run = &long.run;
    let report = &long.recorded;
    let record_s = long.record_s;
    let bytes = long.sample_bytes();
    let pcap = std::fs::metadata(run.join("net.pcapng")).map_or(0, |m| m.len());

    // Peak memory of the analysis alone: reset the high-water mark first.
    common::reset_vm_hwm();
    let before = common::vm_hwm_kb();
    // BENCH_REPEAT=N analyzes N times and reports the fastest (and the
    // median): single runs vary by tens of percent on a shared machine.
    let repeat = std::env::var("BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let mut times = Vec::with_capacity(repeat);
    let mut findings = None;
    for _ in 0..repeat {
        let t = Instant::now();
        findings = Some(benchctl_detect::analyze::analyze(run).expect("analyze"));
        times.push(t.elapsed().as_secs_f64());
    }
    let findings = findings.expect("analyzed at least once");
    times.sort_by(f64::total_cmp);
    let analyze_s = times[0];
    let peak = common::vm_hwm_kb();
    let mb = bytes as f64 / 1e6;
    println!(
        "recording: {:.1} h virtual, {} frames, {:.0} MB of samples, {:.1} MB of packets ({} packets), recorded in {:.1} s",
        report.duration_s / 3600.0,
        report.frames,
        mb,
        pcap as f64 / 1e6,
        report.packets,
        record_s
    );
    println!(
        "analysis: {:.2} s, {:.0} MB/s of sample data, verdict {:?}; a 24-hour recording would take about {:.0} s",
        analyze_s,
        mb / analyze_s,
        findings.verdict,
        analyze_s * 24.0 / (report.duration_s / 3600.0)
    );
    if repeat > 1 {
        println!(
            "fastest of {repeat} analyses; median {:.2} s",
            times[repeat / 2]
        );
    }
    common::print_peak_memory("analysis", before, peak);
    let _ = std::fs::remove_dir_all(&long.dir);
}
