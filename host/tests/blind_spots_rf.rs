//! Blind spots in the sample streams (issue 21), each built the way an
//! implant author or a real lab would produce it, from a copy of a
//! committed fixture: the recording must fail the DUT, or leave it
//! incomplete with the reason, never pass.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use common::judged::{analyze, dut};
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

fn kinds(dut: &Value) -> Vec<String> {
    dut["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("medium" | "high")))
        .filter_map(|f| f["kind"].as_str().map(String::from))
        .collect()
}

/// Cut `[from, to)` seconds out of `dir`'s rf.sigmf-data and resume the
/// recording in a second capture segment (`core:sample_start` where the
/// data resumes, `bench:t0` = `to`, plus `extra` keys), as a recorder does
/// when the shield link drops. Returns the meta file's path.
fn resume_after_a_cut(dir: &Path, (from, to): (f64, f64), extra: Value) -> PathBuf {
    let meta_path = dir.join("rf.sigmf-meta");
    let data_path = dir.join("rf.sigmf-data");
    let mut meta = read_json(&meta_path);
    let channels = meta["global"]["core:num_channels"]
        .as_u64()
        .expect("channels") as usize;
    let rate = meta["global"]["core:sample_rate"].as_f64().expect("rate");
    let frame = channels * 4;
    let data = std::fs::read(&data_path).expect("data");
    let (cut_from, cut_to) = ((from * rate) as usize, (to * rate) as usize);
    let mut kept = data[..cut_from * frame].to_vec();
    kept.extend_from_slice(&data[cut_to * frame..]);
    std::fs::write(&data_path, kept).expect("write data");
    let mut second = json!({"core:sample_start": cut_from, "bench:t0": to});
    for (k, v) in extra.as_object().expect("keys") {
        second[k] = v.clone();
    }
    let first = meta["captures"][0].clone();
    meta["captures"] = json!([first, second]);
    write_json(&meta_path, &meta);
    meta_path
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
    let meta_path = resume_after_a_cut(
        &dir,
        (12.0, 14.9),
        json!({"core:datetime": "2026-11-26T15:30:14.900Z"}),
    );
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
    resume_after_a_cut(&dir, (20.0, 22.8), json!({}));

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

/// Rewrite a copied run's `<stream>.sigmf-data` (little-endian f32, as
/// benchctl records it) frame by frame: `edit(t, frame)`.
fn edit_samples(dir: &Path, stream: &str, mut edit: impl FnMut(f64, &mut [f32])) {
    let meta = read_json(&dir.join(format!("{stream}.sigmf-meta")));
    let channels = meta["global"]["core:num_channels"]
        .as_u64()
        .expect("channels") as usize;
    let rate = meta["global"]["core:sample_rate"].as_f64().expect("rate");
    let path = dir.join(format!("{stream}.sigmf-data"));
    let bytes = std::fs::read(&path).expect("data");
    let mut values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    for (i, frame) in values.chunks_exact_mut(channels).enumerate() {
        edit(i as f64 / rate, frame);
    }
    let out: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&path, out).expect("write data");
}

/// The index of `dut`'s channel named `band` in a copied run's stream.
fn channel(dir: &Path, stream: &str, dut: Option<&str>, band: &str) -> usize {
    let meta = read_json(&dir.join(format!("{stream}.sigmf-meta")));
    meta["global"]["bench:channels"]
        .as_array()
        .expect("channels")
        .iter()
        .position(|c| {
            c["dut"].as_str() == dut
                && (c["band"].as_str() == Some(band) || c["quantity"].as_str() == Some(band))
        })
        .expect("the channel")
}

/// Class 1: phone-b's airplane bursts at -40 dBm on its own LTE antenna,
/// and phone-a's enclosure hearing the same samples 45 dB weaker (-85
/// dBm). Every other enclosure hears it at once, so it used to be "the
/// room": the louder the implant, the surer its excuse. The room cannot
/// explain -40 dBm inside an enclosure when outside it is heard at -85.
#[test]
fn a_loud_burst_heard_faintly_elsewhere_is_the_dut_s() {
    let bench = TestBench::default_bench();
    let dir = copy_fixture("airplane-tx", bench.dir.path());
    let mine = channel(&dir, "rf", Some("phone-b"), "LTE B3 uplink");
    let theirs = channel(&dir, "rf", Some("phone-a"), "LTE B3 uplink");
    let mut edited = 0;
    edit_samples(&dir, "rf", |t, frame| {
        if (18.0..24.0).contains(&t) && frame[mine] > -80.0 {
            frame[mine] = -40.0;
            frame[theirs] = -85.0;
            edited += 1;
        }
    });
    assert!(edited > 2, "the implant's bursts are there to edit");
    let (code, doc) = analyze(&bench, &dir);
    let b = dut(&doc, "phone-b");
    assert_eq!(code, Some(1), "{doc:#}");
    assert!(kinds(b).iter().any(|k| k == "rf-in-silence"), "{b:#}");
    // phone-a is not blamed for hearing it.
    assert_eq!(dut(&doc, "phone-a")["verdict"], "pass", "{doc:#}");
}

/// Class 2: a -64 dBm sample on phone-b's BLE channel every ~100 ms of
/// soft-off (BLE advertisements, each inside one 1 ms sample) in the
/// honest fixture. A burst used to need two samples.
#[test]
fn advertisements_shorter_than_a_sample_are_seen() {
    let bench = TestBench::default_bench();
    let dir = copy_fixture("honest", bench.dir.path());
    let ble = channel(&dir, "rf", Some("phone-b"), "BLE adv ch 37");
    let mut adverts = 0;
    edit_samples(&dir, "rf", |t, frame| {
        let ms = (t * 1000.0).round() as u64;
        if (24_500..30_000).contains(&ms) && ms.is_multiple_of(98) {
            frame[ble] = -64.0;
            adverts += 1;
        }
    });
    assert!(adverts >= 56, "{adverts}");
    let (code, doc) = analyze(&bench, &dir);
    let b = dut(&doc, "phone-b");
    assert_eq!(code, Some(1), "{doc:#}");
    assert!(kinds(b).iter().any(|k| k == "rf-in-silence"), "{b:#}");
}

/// Class 3: phone-b wakes for 45 ms at 250 mA once a second during
/// soft-off (mean 11.6 mA against a 5 mA `off_current_a`) in the honest
/// fixture. Stretches under 50 ms used to be dropped.
#[test]
fn short_wakes_while_off_are_seen() {
    let bench = TestBench::default_bench();
    let dir = copy_fixture("honest", bench.dir.path());
    let supply = channel(&dir, "power", Some("phone-b"), "current");
    edit_samples(&dir, "power", |t, frame| {
        if (24.0..30.0).contains(&t) && t.fract() < 0.045 {
            frame[supply] = 0.25;
        }
    });
    let (code, doc) = analyze(&bench, &dir);
    let b = dut(&doc, "phone-b");
    assert_eq!(code, Some(1), "{doc:#}");
    assert!(kinds(b).iter().any(|k| k == "power-in-off"), "{b:#}");
}

/// The enclosure's isolation is a bench parameter: recorded with each
/// enclosure antenna (absent where the bench does not say, so readers
/// assume 30 dB), and the simulated room leaks in by it.
#[test]
fn the_enclosure_isolation_is_recorded() {
    let text = std::fs::read_to_string(repo_root().join("bench.toml")).expect("bench");
    let (from, to) = (
        "b-lte-ul = { dut = \"phone-b\", detector = 1,",
        "b-lte-ul = { dut = \"phone-b\", isolation_db = 45, detector = 1,",
    );
    assert!(
        text.contains(from),
        "the default bench names phone-b's LTE antenna so"
    );
    let config =
        benchctl::config::parse(Path::new("bench.toml"), &text.replace(from, to)).expect("bench");
    let scenario = benchctl::scenario::parse(
        Path::new("s.toml"),
        "[scenario]\nname = \"s\"\nduts = [\"phone-b\"]\nsteps = [{ phase = \"boot\" }, { wait = \"2s\" }]\n",
        &config,
    )
    .expect("scenario");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("run");
    benchctl::runner::record_in_virtual_time(
        &config,
        &scenario,
        &dir,
        &benchctl::bench::VirtualOptions::new(1),
    )
    .expect("recorded");
    let meta = read_json(&dir.join("rf.sigmf-meta"));
    let channels = meta["global"]["bench:channels"]
        .as_array()
        .expect("channels");
    let with: Vec<&Value> = channels
        .iter()
        .filter(|c| c.get("isolation_db").is_some())
        .collect();
    assert_eq!(with.len(), 1, "{channels:#?}");
    assert_eq!(with[0]["isolation_db"], 45.0);
    assert_eq!(with[0]["dut"], "phone-b");
    outside::sigmf_validate_only(&dir.join("rf.sigmf-meta"));
}
