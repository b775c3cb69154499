//! Report rendering time and memory on a long recording: the simulated lab
//! records BENCH_HOURS (default 1) hours of the default bench (9 RF
//! channels and 2 current sensors at 1 kS/s, both phones' packets) in
//! virtual time, analysis writes findings.json, then the report is rendered
//! from the run directory. Prints the render time, the projected time for a
//! 24-hour recording, the report's size and the peak resident memory during
//! rendering alone (VmHWM, reset before it starts).
//!
//!     cargo bench -p benchctl --bench report

use std::path::Path;
use std::time::Instant;

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let hours: f64 = std::env::var("BENCH_HOURS")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(1.0);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bench_path = root.join("bench.toml");
    let bench = benchctl::config::parse(
        &bench_path,
        &std::fs::read_to_string(&bench_path).expect("bench.toml"),
    )
    .expect("default bench");
    // The demo's phases stretched to `hours`, as in benches/analyze.rs.
    let seconds = |share: f64| format!("{}s", (hours * 3600.0 * share).round() as u64);
    let allow = r#"["gstatic.com", "google.com", "googleapis.com", "android.com", "youtube.com", "10.77.0.0/16"]"#;
    let scenario_text = format!(
        r#"[scenario]
name = "long"
duts = ["phone-a", "phone-b"]
steps = [
  {{ phase = "boot" }}, {{ do = "net.isolate" }}, {{ do = "power.on" }}, {{ wait = "10s" }},
  {{ phase = "online", net = "allowlist", allow = {allow} }}, {{ do = "net.allowlist", allow = {allow} }},
  {{ wait = "{}" }},
  {{ phase = "airplane", rf = "silent", net = "none" }}, {{ do = "device.airplane", state = "on" }}, {{ wait = "{}" }},
  {{ do = "device.airplane", state = "off" }},
  {{ phase = "isolated", net = "none" }}, {{ do = "net.isolate" }}, {{ wait = "{}" }},
  {{ phase = "soft-off", rf = "silent", net = "none", power = "off" }}, {{ do = "device.power-off" }}, {{ wait = "{}" }},
]
"#,
        seconds(0.55),
        seconds(0.15),
        seconds(0.15),
        seconds(0.15)
    );
    let scenario = benchctl::scenario::parse(Path::new("long.toml"), &scenario_text, &bench)
        .expect("scenario");
    let dir = std::env::temp_dir().join(format!("benchctl-bench-report-{}", std::process::id()));
    let run = dir.join("run");
    let t = Instant::now();
    let recorded = benchctl::sim::offline::record(
        &bench,
        &scenario,
        &run,
        &benchctl::sim::offline::OfflineOptions::new(1),
    )
    .expect("record");
    let record_s = t.elapsed().as_secs_f64();
    let findings = benchctl::analyze::analyze(&run).expect("analyze");
    benchctl::analyze::write(&run, &findings).expect("findings.json");
    let bytes: u64 = ["rf.sigmf-data", "power.sigmf-data"]
        .iter()
        .map(|f| std::fs::metadata(run.join(f)).map_or(0, |m| m.len()))
        .sum();
    println!(
        "recording: {:.1} h virtual, {} frames, {:.0} MB of samples, {} packets, recorded in {:.1} s; verdict {:?}",
        recorded.seconds / 3600.0,
        recorded.frames,
        bytes as f64 / 1e6,
        recorded.packets,
        record_s,
        findings.verdict
    );

    // Rendering alone: reset the high-water mark first.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = vm_hwm_kb();
    let out = run.join(benchctl::report::FILE_NAME);
    let t = Instant::now();
    benchctl::report::write(&run, None, &out).expect("report");
    let render_s = t.elapsed().as_secs_f64();
    let peak = vm_hwm_kb();
    let size = std::fs::metadata(&out).map_or(0, |m| m.len());
    println!(
        "report: {:.2} s, {:.0} MB/s of sample data, {:.0} kB of HTML; a 24-hour recording would take about {:.0} s",
        render_s,
        bytes as f64 / 1e6 / render_s,
        size as f64 / 1e3,
        render_s * 24.0 / (recorded.seconds / 3600.0)
    );
    match (before, peak) {
        (Some(b), Some(p)) => println!(
            "peak resident memory during rendering: {:.1} MB (process before: {:.1} MB)",
            p as f64 / 1024.0,
            b as f64 / 1024.0
        ),
        _ => println!("peak memory: /proc/self/status not readable here"),
    }
    if std::env::var_os("BENCH_KEEP").is_some() {
        println!("kept: {}", out.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
