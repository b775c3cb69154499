//! What the long-recording benches share: the demo scenario stretched to
//! BENCH_HOURS, recorded offline on the default bench, and the peak
//! resident memory they measure. One copy, so `analyze` and `report` time
//! the same recording.

use std::path::{Path, PathBuf};
use std::time::Instant;

use benchctl::bench::VirtualOptions;
use benchctl::runner::{RunOutcome, record_in_virtual_time};

/// Peak resident memory of this process so far (VmHWM), kB.
pub fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reset the high-water mark, so the next `vm_hwm_kb` measures only what
/// runs after this (and the recording before it does not count).
pub fn reset_vm_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Print the peak resident memory `during` the measured step.
pub fn print_peak_memory(during: &str, before: Option<u64>, peak: Option<u64>) {
    match (before, peak) {
        (Some(b), Some(p)) => println!(
            "peak resident memory during {during}: {:.1} MB (process before: {:.1} MB)",
            p as f64 / 1024.0,
            b as f64 / 1024.0
        ),
        _ => println!("peak memory: /proc/self/status not readable here"),
    }
}

/// A long run recorded in a temporary directory.
pub struct LongRun {
    /// The temporary directory; remove it when done.
    pub dir: PathBuf,
    /// The run directory inside it.
    pub run: PathBuf,
    pub recorded: RunOutcome,
    /// Wall-clock seconds the offline recording took.
    pub record_s: f64,
}

impl LongRun {
    /// Bytes of sample data: both SigMF data files.
    pub fn sample_bytes(&self) -> u64 {
        ["rf.sigmf-data", "power.sigmf-data"]
            .iter()
            .map(|f| std::fs::metadata(self.run.join(f)).map_or(0, |m| m.len()))
            .sum()
    }
}

/// Record BENCH_HOURS (default 1) hours of the demo's phases on the default
/// bench (`bench.toml`) in virtual time, into a temporary directory named
/// after the `bench` measuring it.
pub fn record_long_run(bench_name: &str) -> LongRun {
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
    // The demo's phases, stretched to `hours`.
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
    let dir = std::env::temp_dir().join(format!(
        "benchctl-bench-{bench_name}-{}",
        std::process::id()
    ));
    let run = dir.join("run");
    let t = Instant::now();
    let recorded =
        record_in_virtual_time(&bench, &scenario, &run, &VirtualOptions::new(1)).expect("record");
    LongRun {
        dir,
        run,
        recorded,
        record_s: t.elapsed().as_secs_f64(),
    }
}
