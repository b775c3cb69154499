//! Report rendering time and memory on a long recording: the simulated lab
//! records BENCH_HOURS (default 1) hours of the default bench (9 RF
//! channels and 2 current sensors at 1 kS/s, both phones' packets) in
//! virtual time, analysis writes findings.json, then the report is rendered
//! from the run directory. Prints the render time, the projected time for a
//! 24-hour recording, the report's size and the peak resident memory during
//! rendering alone (VmHWM, reset before it starts).
//!
//!     cargo bench -p benchctl --bench report

use std::time::Instant;

mod common;

fn main() {
    let long = common::record_long_run("report");
    let run = &long.run;
    let recorded = &long.recorded;
    let record_s = long.record_s;
    let findings = benchctl_detect::analyze::analyze(run).expect("analyze");
    benchctl_detect::analyze::write(run, &findings).expect("findings.json");
    let bytes = long.sample_bytes();
    println!(
        "recording: {:.1} h virtual, {} frames, {:.0} MB of samples, {} packets, recorded in {:.1} s; verdict {:?}",
        recorded.duration_s / 3600.0,
        recorded.frames,
        bytes as f64 / 1e6,
        recorded.packets,
        record_s,
        findings.verdict
    );

    // Rendering alone: reset the high-water mark first.
    common::reset_vm_hwm();
    let before = common::vm_hwm_kb();
    let out = run.join(benchctl::report::FILE_NAME);
    let t = Instant::now();
    benchctl::report::write(run, None, &out).expect("report");
    let render_s = t.elapsed().as_secs_f64();
    let peak = common::vm_hwm_kb();
    let size = std::fs::metadata(&out).map_or(0, |m| m.len());
    println!(
        "report: {:.2} s, {:.0} MB/s of sample data, {:.0} kB of HTML; a 24-hour recording would take about {:.0} s",
        render_s,
        bytes as f64 / 1e6 / render_s,
        size as f64 / 1e3,
        render_s * 24.0 / (recorded.duration_s / 3600.0)
    );
    common::print_peak_memory("rendering", before, peak);
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("kept: {}", out.display());
    } else {
        let _ = std::fs::remove_dir_all(&long.dir);
    }
}
