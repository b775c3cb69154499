//! Blind spots in the sample streams (issue 21), each built the way an
//! implant author or a real lab would produce it, from a copy of a
//! committed fixture: the recording must fail the DUT, or leave it
//! incomplete with the reason, never pass.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use common::{TestBench, outside, repo_root};

fn copy_fixture(name: &str, into: &Path) -> PathBuf {
    let to = into.join(name);
    std::fs::create_dir_all(&to).expect("mkdir");
    for entry in std::fs::read_dir(repo_root().join("fixtures/runs").join(name)).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
    to
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(v).expect("json")).expect("write");
}

/// `analyze --json --no-write`: the exit code and the findings document.
fn analyze(bench: &TestBench, dir: &Path) -> (Option<i32>, Value) {
    let out = bench.run(&[
        "analyze",
        "--json",
        "--no-write",
        dir.to_str().expect("utf-8"),
    ]);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "findings on stdout ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), doc)
}

fn dut<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["duts"]
        .as_array()
        .expect("duts")
        .iter()
        .find(|d| d["dut"] == name)
        .expect("the DUT")
}

fn kinds(dut: &Value) -> Vec<String> {
    dut["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("medium" | "high")))
        .filter_map(|f| f["kind"].as_str().map(String::from))
        .collect()
}

/// Class 5: the shield link dropped from 12.0 to 14.9 s and the recording
/// resumed in a second capture segment (`core:sample_start` where the data
/// resumes, `bench:t0` its run time). Read as one continuous segment,
/// everything after the cut moved 2.9 s earlier and phone-b's airplane
/// bursts landed in the isolated phase, which allows RF: PASS. Every
/// segment's start is honoured now; the file is valid SigMF.
#[test]
fn a_second_capture_segment_keeps_its_own_time() {
    let bench = TestBench::default_bench();
    let dir = copy_fixture("airplane-tx", bench.dir.path());
    let meta_path = dir.join("rf.sigmf-meta");
    let data_path = dir.join("rf.sigmf-data");
    let mut meta = read_json(&meta_path);
    let channels = meta["global"]["core:num_channels"]
        .as_u64()
        .expect("channels") as usize;
    let rate = meta["global"]["core:sample_rate"].as_f64().expect("rate");
    let frame = channels * 4;
    let data = std::fs::read(&data_path).expect("data");
    let (cut_from, cut_to) = ((12.0 * rate) as usize, (14.9 * rate) as usize);
    let mut kept = data[..cut_from * frame].to_vec();
    kept.extend_from_slice(&data[cut_to * frame..]);
    std::fs::write(&data_path, kept).expect("write data");
    let first = meta["captures"][0].clone();
    meta["captures"] = json!([
        first,
        {
            "core:sample_start": cut_from,
            "core:datetime": "2026-11-26T15:30:14.900Z",
            "bench:t0": 14.9,
        }
    ]);
    write_json(&meta_path, &meta);
    // An outside tool accepts the recording as it is.
    let summary = outside::sigmf_summary(&meta_path);
    assert_eq!(summary["captures"].as_array().map(Vec::len), Some(2));

    let (code, doc) = analyze(&bench, &dir);
    let b = dut(&doc, "phone-b");
    assert_eq!(code, Some(1), "{doc:#}");
    assert_eq!(b["verdict"], "fail", "{b:#}");
    assert!(
        kinds(b).iter().any(|k| k == "rf-in-silence"),
        "the bursts are judged in the airplane phase: {b:#}"
    );
    // The bursts keep their times: in the airplane phase (18-24 s).
    let burst = b["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["kind"] == "rf-in-silence")
        .expect("rf-in-silence");
    let t = burst["start_s"].as_f64().expect("start_s");
    assert!((18.0..24.0).contains(&t), "{burst:#}");
}

/// The time between two capture segments is unmeasured: cut where phone-b's
/// implant transmits (20.0-22.8 s, airplane) and resume in a second
/// segment, and the bursts are gone, but so is the measurement: phone-b is
/// incomplete with the seconds named, never a pass.
#[test]
fn the_time_between_capture_segments_is_unmeasured() {
    let bench = TestBench::default_bench();
    let dir = copy_fixture("airplane-tx", bench.dir.path());
    let meta_path = dir.join("rf.sigmf-meta");
    let data_path = dir.join("rf.sigmf-data");
    let mut meta = read_json(&meta_path);
    let channels = meta["global"]["core:num_channels"]
        .as_u64()
        .expect("channels") as usize;
    let rate = meta["global"]["core:sample_rate"].as_f64().expect("rate");
    let frame = channels * 4;
    let data = std::fs::read(&data_path).expect("data");
    let (cut_from, cut_to) = ((20.0 * rate) as usize, (22.8 * rate) as usize);
    let mut kept = data[..cut_from * frame].to_vec();
    kept.extend_from_slice(&data[cut_to * frame..]);
    std::fs::write(&data_path, kept).expect("write data");
    let first = meta["captures"][0].clone();
    meta["captures"] = json!([first, {"core:sample_start": cut_from, "bench:t0": 22.8}]);
    write_json(&meta_path, &meta);

    let (code, doc) = analyze(&bench, &dir);
    let b = dut(&doc, "phone-b");
    assert_eq!(code, Some(3), "{doc:#}");
    assert_eq!(b["verdict"], "incomplete", "{b:#}");
    let problems = b["problems"].to_string();
    assert!(
        problems.contains("2.8 s of phase \\\"airplane\\\" (20.0-22.8 s)"),
        "{problems}"
    );
}
