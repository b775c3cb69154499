//! Recorded run directories committed under `fixtures/runs/`: `benchctl
//! analyze` must keep judging them as their implants say, whatever changes
//! in the recorder or the analyzer. What each should give is in
//! `fixtures/runs/expected.json`, written from what was planted in the
//! phone (not from what the analyzer said).
//!
//! Regenerate them (only when the recording format changes on purpose):
//! `cargo test -p benchctl --test fixtures -- --ignored regenerate`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

mod common;
use common::{TestBench, repo_root};

/// The fixtures' scenario: every phase an implant can show in, a few
/// seconds each, both phones (30 s, ~1 MB of samples per run).
const SCENARIO: &str = r#"[scenario]
name = "fixture"
description = "Short run for the committed fixtures: every phase, a few seconds each"
duts = ["phone-a", "phone-b"]
on_fault = "abort"
settle = "1s"
steps = [
  { phase = "boot" }, { do = "net.isolate" }, { do = "usb.on" }, { do = "power.on" }, { wait = "5s" },
  { phase = "online", net = "allowlist", allow = ["gstatic.com", "google.com", "googleapis.com", "android.com", "youtube.com", "10.77.0.0/16"] },
  { do = "net.allowlist", allow = ["gstatic.com", "google.com", "googleapis.com", "android.com", "youtube.com", "10.77.0.0/16"] },
  { do = "device.screen", state = "on" }, { wait = "8s" },
  { phase = "isolated", net = "none" }, { do = "net.isolate" }, { wait = "5s" },
  { phase = "airplane", rf = "silent", net = "none" }, { do = "device.airplane", state = "on" }, { wait = "6s" },
  { phase = "soft-off", rf = "silent", net = "none", power = "off", off_current_a = 0.005, settle = "2s" }, { do = "device.power-off" }, { wait = "6s" },
]
"#;

/// One fixture: phone-b's implants (bench.toml syntax; empty: honest) and
/// the finding kinds they must cause on it. phone-a is honest in all.
struct Fixture {
    name: &'static str,
    implants: &'static str,
    expect_b: &'static [&'static str],
    /// Cut short after this many seconds (a run killed part-way).
    cut_at_s: Option<f64>,
}

const FIXTURES: [Fixture; 5] = [
    Fixture {
        name: "honest",
        implants: "",
        expect_b: &[],
        cut_at_s: None,
    },
    Fixture {
        name: "airplane-tx",
        implants: r#"{ kind = "airplane-tx", count = 2, level_dbm = -60, duration_ms = 5 }"#,
        expect_b: &["rf-in-silence"],
        cut_at_s: None,
    },
    Fixture {
        name: "fake-off",
        implants: r#"{ kind = "fake-off", current_ma = 20, wake_every_s = 3, wake_ms = 200 }"#,
        expect_b: &["power-in-off"],
        cut_at_s: None,
    },
    Fixture {
        name: "isolated-talker",
        implants: r#"{ kind = "isolated-talker", every_s = 2, dest_ip = "203.0.113.7" }"#,
        expect_b: &["net-in-isolation"],
        cut_at_s: None,
    },
    Fixture {
        name: "cut-short",
        implants: "",
        expect_b: &[],
        cut_at_s: Some(16.0),
    },
];

fn runs_dir() -> PathBuf {
    repo_root().join("fixtures/runs")
}

/// Copy a committed fixture into a scratch directory (analysis writes
/// findings.json into the run directory; the fixtures stay untouched).
fn scratch_copy(name: &str, into: &Path) -> PathBuf {
    let from = runs_dir().join(name);
    let to = into.join(name);
    std::fs::create_dir_all(&to).expect("scratch dir");
    for entry in std::fs::read_dir(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy fixture file");
    }
    to
}

#[test]
fn fixture_runs_keep_their_verdicts() {
    let expected: Value = serde_json::from_slice(
        &std::fs::read(runs_dir().join("expected.json")).expect("fixtures/runs/expected.json"),
    )
    .expect("expected.json parses");
    let expected = expected.as_object().expect("an object per fixture");
    assert_eq!(expected.len(), FIXTURES.len());
    let bench = TestBench::default_bench();
    for (name, want) in expected {
        let dir = scratch_copy(name, bench.dir.path());
        let out = bench.run(&["analyze", "--json", dir.to_str().expect("utf-8 path")]);
        let code = out.status.code();
        assert_eq!(
            code,
            want["exit"].as_i64().map(|c| c as i32),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let found: Value = serde_json::from_slice(
            &std::fs::read(dir.join("findings.json")).expect("findings.json written"),
        )
        .expect("findings.json parses");
        assert_eq!(found["verdict"], want["verdict"], "{name}");
        for dut in found["duts"].as_array().expect("duts") {
            let dut_name = dut["dut"].as_str().expect("dut name");
            let w = &want["duts"][dut_name];
            assert_eq!(dut["verdict"], w["verdict"], "{name} {dut_name}: {dut}");
            // The kinds that fail the DUT (medium and up), as a set.
            let mut kinds: Vec<&str> = dut["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .filter(|f| matches!(f["severity"].as_str(), Some("medium" | "high")))
                .filter_map(|f| f["kind"].as_str())
                .collect();
            kinds.sort_unstable();
            kinds.dedup();
            let want_kinds: Vec<&str> = w["failing_kinds"]
                .as_array()
                .expect("failing_kinds")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(kinds, want_kinds, "{name} {dut_name}: {dut}");
        }
    }
}

/// `analyze --no-write` judges a run directory and leaves it as it was
/// (the exit code and the printed findings are the verdict), and the
/// findings `analyze fixtures/runs/*/` writes are git-ignored, so judging
/// the committed fixtures leaves `git status` clean.
#[test]
fn judging_fixtures_leaves_them_untouched() {
    let bench = TestBench::default_bench();
    let dir = scratch_copy("airplane-tx", bench.dir.path());
    let before: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    let out = bench.run(&[
        "analyze",
        "--no-write",
        "--json",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("findings on stdout");
    assert_eq!(printed["verdict"], "fail");
    let after: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(before, after, "nothing written");

    // None is committed (where this is a git checkout).
    if let Ok(listed) = std::process::Command::new("git")
        .args(["ls-files", "fixtures"])
        .current_dir(repo_root())
        .output()
        && listed.status.success()
    {
        let listed = String::from_utf8_lossy(&listed.stdout);
        assert!(
            !listed.lines().any(|f| f.ends_with("/findings.json")),
            "committed findings: {listed}"
        );
    }
    let ignore = std::fs::read_to_string(repo_root().join(".gitignore")).expect(".gitignore");
    assert!(
        ignore
            .lines()
            .any(|l| l.trim() == "/fixtures/runs/*/findings.json"),
        "findings written next to the fixtures are ignored"
    );
}

/// No committed fixture holds a path of the machine that wrote it.
#[test]
fn fixtures_hold_no_host_paths() {
    let mut offenders = Vec::new();
    let mut stack = vec![repo_root().join("fixtures")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.file_name().is_some_and(|n| n == "findings.json") {
                continue; // git-ignored: written by whoever analyzed here
            }
            let bytes = std::fs::read(&path).expect("read fixture");
            for needle in ["/root/", "/home/", "/tmp/", "/work/", "/Users/", "C:\\"] {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    offenders.push(format!("{}: {needle}", path.display()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// Writes `fixtures/runs/` anew in virtual time (the simulated lab, the
/// same models and the same runner as a live run).
#[test]
#[ignore = "rewrites the committed fixtures; run by hand"]
fn regenerate() {
    let default_bench =
        std::fs::read_to_string(repo_root().join("bench.toml")).expect("bench.toml");
    let (start, end) = implants_span(&default_bench);
    let runs = runs_dir();
    let mut expected = BTreeMap::new();
    for f in &FIXTURES {
        let text = format!(
            "{}implants = [{}]\n{}",
            &default_bench[..start],
            f.implants,
            &default_bench[end..]
        );
        let bench =
            benchctl::config::parse(Path::new("bench.toml"), &text).expect("fixture bench parses");
        let scenario = benchctl::scenario::parse(Path::new("fixture.toml"), SCENARIO, &bench)
            .expect("fixture scenario parses");
        let dir = runs.join(f.name);
        let _ = std::fs::remove_dir_all(&dir);
        let options = benchctl::bench::VirtualOptions::new(7);
        let report = benchctl::runner::record_in_virtual_time(&bench, &scenario, &dir, &options)
            .expect("recorded");
        assert!(report.complete, "{}", f.name);
        if let Some(t) = f.cut_at_s {
            cut_short(&dir, t);
        }
        let b_fails = !f.expect_b.is_empty();
        let verdict = match (b_fails, f.cut_at_s) {
            (true, _) => "fail",
            (false, Some(_)) => "incomplete",
            (false, None) => "pass",
        };
        // Per DUT only pass or fail (findings.md); "incomplete" is the run's.
        let dut_verdict = |fails: bool| if fails { "fail" } else { "pass" };
        expected.insert(
            f.name,
            json!({
                "exit": match verdict { "fail" => 1, "incomplete" => 3, _ => 0 },
                "verdict": verdict,
                "phone-b implants": f.implants,
                "duts": {
                    "phone-a": { "verdict": dut_verdict(false), "failing_kinds": [] },
                    "phone-b": { "verdict": dut_verdict(b_fails), "failing_kinds": f.expect_b },
                },
            }),
        );
    }
    let text = serde_json::to_string_pretty(&expected).expect("json") + "\n";
    std::fs::write(runs.join("expected.json"), text).expect("write expected.json");
}

/// Byte range of phone-b's `implants = [...]` in the default bench.
fn implants_span(bench: &str) -> (usize, usize) {
    let start = bench.find("implants = [").expect("phone-b has implants");
    let end = start + bench[start..].find("]\n").expect("implants list ends") + 2;
    (start, end)
}

/// Make a complete recording look like a run killed at `t` seconds: the
/// journal and the sample files end there, run.json says incomplete (as
/// the recorder leaves it when it cannot finish).
fn cut_short(dir: &Path, t: f64) {
    let journal = std::fs::read_to_string(dir.join("events.jsonl")).expect("journal");
    let kept: String = journal
        .lines()
        .filter(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .and_then(|v| v["t"].as_f64())
                .is_some_and(|lt| lt <= t)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("events.jsonl"), kept).expect("journal");
    for stream in ["rf", "power"] {
        let meta: Value = serde_json::from_slice(
            &std::fs::read(dir.join(format!("{stream}.sigmf-meta"))).expect("meta"),
        )
        .expect("meta parses");
        let g = &meta["global"];
        let rate = g["core:sample_rate"].as_f64().expect("rate");
        let channels = g["core:num_channels"].as_u64().expect("channels");
        let t0 = g["bench:t0"].as_f64().unwrap_or(0.0);
        let frames = ((t - t0) * rate).floor().max(0.0) as u64;
        let data = dir.join(format!("{stream}.sigmf-data"));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&data)
            .expect("data");
        file.set_len(frames * channels * 4).expect("truncate");
    }
    let mut run: Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).expect("run.json"))
            .expect("run.json parses");
    // What a killed run leaves: the manifest as written at the start, no
    // account of how it ended.
    run["complete"] = json!(false);
    run["duration_s"] = json!(t);
    if let Some(m) = run.as_object_mut() {
        for written_at_the_end in ["ending", "step_timing", "recording", "simulation"] {
            m.remove(written_at_the_end);
        }
    }
    std::fs::write(
        dir.join("run.json"),
        serde_json::to_string_pretty(&run).expect("json"),
    )
    .expect("run.json");
}
