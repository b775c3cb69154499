//! `benchctl analyze` on inputs benchctl did not write: a run directory made
//! by a Python script straight from recording-format.md (with the spec's
//! own out-of-order journal lines), the real NeFiAS captures, and inputs it
//! must refuse.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::TestBench;
use common::outside::run_python;

/// Writes a run directory the way an outside tool would, from the spec:
/// phone-a in enclosure antenna channel 0, the ambient antenna channel 1;
/// a 30 ms burst 20 dB over the floor at t = 23.4 in the airplane phase
/// (the DUT's), a 100 ms burst at t = 25.0 on both antennas (the room's);
/// 40 mA drawn during soft-off. Big-endian-free, 100 S/s to stay small.
const WRITER: &str = r#"
import json, sys, os
import numpy as np
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
rate = 100.0
n = int(60 * rate)
t = np.arange(n) / rate
rng = np.random.default_rng(7)
rf = np.stack([-95 + rng.uniform(-1, 1, n), -97 + rng.uniform(-1, 1, n)], axis=1).astype('<f4')
dut = (t >= 23.4) & (t < 23.43)
room = (t >= 25.0) & (t < 25.1)
rf[dut, 0] = -75
rf[room, 0] = -70
rf[room, 1] = -45
rf[3000:3010, :] = np.nan          # 100 ms lost at t = 30
rf.tofile(os.path.join(d, 'rf.sigmf-data'))
meta = {"global": {"core:datatype": "rf32_le", "core:sample_rate": rate, "core:num_channels": 2,
        "core:version": "1.2.0", "core:extensions": [{"name": "bench", "version": "1.0.0", "optional": True}],
        "bench:unit": "dBm", "bench:channels": [
            {"dut": "phone-a", "band": "lte-b3-ul", "low_hz": 1710000000, "high_hz": 1785000000},
            {"dut": None, "band": "lte-b3-ul", "low_hz": 1710000000, "high_hz": 1785000000}]},
        "captures": [{"core:sample_start": 0, "core:datetime": "2026-11-26T15:30:00.000Z"}],
        "annotations": []}
json.dump(meta, open(os.path.join(d, 'rf.sigmf-meta'), 'w'))
cur = np.full(n, 0.09, dtype='<f4')
cur[t >= 50] = 0.040
cur.reshape(n, 1).tofile(os.path.join(d, 'power.sigmf-data'))
meta["global"].update({"core:num_channels": 1, "bench:unit": "A",
                       "bench:channels": [{"dut": "phone-a", "quantity": "current"}]})
json.dump(meta, open(os.path.join(d, 'power.sigmf-meta'), 'w'))
json.dump({"format": "benchctl-run/1", "run_id": "20261126T153000Z-outside", "bench": "elsewhere",
           "scenario": "outside", "started_utc": "2026-11-26T15:30:00.000Z", "duration_s": 60.0,
           "complete": True, "duts": [{"name": "phone-a", "model": "sim-android", "ip": ["10.77.1.2"]}],
           "written_by": "a python script"}, open(os.path.join(d, 'run.json'), 'w'))
# The spec's example lines, in the spec's order (not sorted by t).
lines = [
 '{"t":0.0,"kind":"phase","dut":"phone-a","name":"boot","expect":{}}',
 '{"t":0.01,"kind":"action","dut":"phone-a","action":"power.on","ok":true}',
 '{"t":20.0,"kind":"phase","dut":"phone-a","name":"airplane","expect":{"rf":"silent","net":"none"}}',
 '{"t":40.0,"kind":"phase","dut":"phone-a","name":"online","expect":{"net":"allowlist","allow":["connectivitycheck.gstatic.com","time.android.com","10.77.0.1"]}}',
 '{"t":50.0,"kind":"phase","dut":"phone-a","name":"soft-off","expect":{"rf":"silent","net":"none","power":"off","off_current_a":0.005}}',
 '{"t":41.2,"kind":"fault","source":"shield","detail":"3 frames lost (seq 1200..1202)"}',
]
open(os.path.join(d, 'events.jsonl'), 'w').write('\n'.join(lines) + '\n')
"#;

fn outside_run(dir: &Path) -> PathBuf {
    let run = dir.join("outside-run");
    run_python(WRITER, &run, "the outside writer failed on");
    run
}

#[test]
fn a_run_directory_written_by_another_tool_is_judged() {
    let bench = TestBench::default_bench();
    let run = outside_run(bench.dir.path());
    let out = bench.run(&["analyze", run.to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(doc["format"], "benchctl-findings/1");
    assert_eq!(doc["run_id"], "20261126T153000Z-outside");
    assert_eq!(doc["verdict"], "fail");
    let written: Value =
        serde_json::from_slice(&std::fs::read(run.join("findings.json")).unwrap()).unwrap();
    assert_eq!(written, doc);
    let findings = doc["duts"][0]["findings"].as_array().unwrap();
    let kinds: Vec<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    // The DUT's burst, and the soft-off current; not the room's burst.
    let rf: Vec<&Value> = findings
        .iter()
        .filter(|f| f["kind"] == "rf-in-silence")
        .collect();
    assert_eq!(rf.len(), 1, "{kinds:?}");
    assert_eq!(rf[0]["phase"], "airplane");
    assert!(
        (rf[0]["start_s"].as_f64().unwrap() - 23.4).abs() < 0.02,
        "{}",
        rf[0]
    );
    assert_eq!(rf[0]["evidence"]["bursts"], 1);
    assert_eq!(rf[0]["channel"], "lte-b3-ul");
    let power: Vec<&Value> = findings
        .iter()
        .filter(|f| f["kind"] == "power-in-off")
        .collect();
    assert_eq!(power.len(), 1, "{kinds:?}");
    assert_eq!(power[0]["phase"], "soft-off");
    assert!(
        power[0]["summary"].as_str().unwrap().contains("40.0 mA"),
        "{}",
        power[0]
    );
}

#[test]
fn analyze_refuses_what_it_cannot_read_with_a_reason() {
    let bench = TestBench::default_bench();
    let out = bench.run(&["analyze", "no-such-run"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no-such-run: no such file or directory"),
        "{stderr}"
    );
    std::fs::create_dir_all(bench.dir.path().join("some-folder")).unwrap();
    let out = bench.run(&["analyze", "some-folder"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("some-folder: not a run directory (no run.json)"),
        "{stderr}"
    );

    let run = outside_run(bench.dir.path());
    std::fs::write(
        run.join("run.json"),
        r#"{"format": "benchctl-run/9", "run_id": "x"}"#,
    )
    .unwrap();
    let out = bench.run(&["analyze", run.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("benchctl-run/9"), "{stderr}");

    // `analyze runs/*` also names the runs folder's history index: passed
    // over beside runs, refused alone.
    let runs = bench.dir.path().join("runs");
    std::fs::create_dir_all(runs.join("honest")).unwrap();
    for entry in std::fs::read_dir(common::repo_root().join("fixtures/runs/honest")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), runs.join("honest").join(entry.file_name())).unwrap();
    }
    std::fs::write(runs.join("history.sqlite"), b"").unwrap();
    let out = bench.run(&["analyze", "runs/honest", "runs/history.sqlite"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bench.run(&["analyze", "runs/history.sqlite"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to analyze"));

    // An input that cannot be read is a JUnit error, not a missing suite:
    // CI must not show a shorter, green report. Exit 2: nothing failed.
    let junit = bench.dir.path().join("analysis.xml");
    let out = bench.run(&[
        "analyze",
        "runs/honest",
        "no-such-run",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let cases = common::outside::junit_results(&junit);
    let hole: Vec<_> = cases.iter().filter(|c| c.outcome == "error").collect();
    assert_eq!(hole.len(), 1, "{cases:?}");
    assert!(
        hole[0]
            .message
            .contains("no-such-run: no such file or directory"),
        "{:?}",
        hole[0]
    );
    assert!(cases.iter().filter(|c| c.outcome == "passed").count() > 5);

    // A run directory analysis cannot write into (read-only archive; here
    // findings.json is in the way as a folder, which stops root too) is
    // still judged: a warning, the verdict, its exit code.
    std::fs::remove_file(runs.join("honest/findings.json")).ok();
    std::fs::create_dir_all(runs.join("honest/findings.json/in-the-way")).unwrap();
    let out = bench.run(&["analyze", "runs/honest"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("not kept in the run directory"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("PASS"));
}

/// The NeFiAS captures (../shared/data/nefias): four covert timing
/// channels must fail with `timing-channel`, the newspaper flow must pass.
#[test]
#[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
fn nefias_captures_get_the_expected_verdicts() {
    let dir = common::repo_root().join("../shared/data/nefias");
    let bench = TestBench::default_bench();
    for (file, covert) in [
        ("TCC_ABABAB_40_80.pcap", true),
        ("TCC_Faust_GZ_60_120.pcap", true),
        ("SCC_Faust_60.pcap", true),
        ("SCC_ABABAB_40.pcap", true),
        ("HTTPS_NWZ_Zeitung.pcap", false),
    ] {
        let path = dir.join(file);
        let out = bench.run(&["analyze", path.to_str().unwrap(), "--json"]);
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{file}: {}", String::from_utf8_lossy(&out.stderr)));
        let kinds: Vec<String> = doc["duts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["findings"].as_array().unwrap().clone())
            .map(|f| format!("{} {}", f["kind"], f["severity"]))
            .collect();
        if covert {
            assert_eq!(out.status.code(), Some(1), "{file}: {kinds:?}");
            assert_eq!(doc["verdict"], "fail", "{file}");
            assert!(
                kinds.iter().any(|k| k.starts_with("\"timing-channel\"")),
                "{file}: {kinds:?}"
            );
        } else {
            assert_eq!(out.status.code(), Some(0), "{file}: {kinds:?}");
            assert_eq!(doc["verdict"], "pass", "{file}: {kinds:?}");
        }
    }
}

/// A recording that stops short of the run (a full disk, a lost shield, a
/// copy cut short) cannot vouch for the phases it did not hear: the run is
/// incomplete (exit 3), and the analysis says what is missing, instead of
/// passing the phones on silence it never measured.
#[test]
fn a_recording_that_does_not_cover_the_run_is_not_a_pass() {
    let bench = TestBench::default_bench();
    let honest = common::repo_root().join("fixtures/runs/honest");
    // A copy of the honest fixture, damaged by `damage`, analyzed.
    let analyze = |name: &str, damage: &dyn Fn(&Path)| {
        let dir = bench.dir.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        for entry in std::fs::read_dir(&honest).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() != "findings.json" {
                std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
            }
        }
        damage(&dir);
        let out = bench.run(&["analyze", dir.to_str().unwrap(), "--json"]);
        let json: Value = serde_json::from_slice(&out.stdout).expect("findings JSON");
        (out.status.code(), json)
    };
    let truncate = |file: &'static str, keep: fn(u64) -> u64| {
        move |dir: &Path| {
            let data = dir.join(file);
            let len = std::fs::metadata(&data).unwrap().len();
            let f = std::fs::OpenOptions::new().write(true).open(&data).unwrap();
            f.set_len(keep(len)).unwrap();
        }
    };
    // Every sample lost: NaN, as the format marks a lost frame.
    let all_lost = |file: &'static str| {
        move |dir: &Path| {
            let data = dir.join(file);
            let len = std::fs::metadata(&data).unwrap().len() as usize;
            std::fs::write(&data, f32::NAN.to_le_bytes().repeat(len / 4)).unwrap();
        }
    };
    let (code, whole) = analyze("whole", &|_| {});
    assert_eq!(code, Some(0), "the fixture passes whole: {whole}");
    // Half the frames (whole frames: 9 channels of f32).
    let (code, half) = analyze("half", &truncate("rf.sigmf-data", |len| len / 2 / 36 * 36));
    assert_eq!(code, Some(3), "{half}");
    assert_eq!(half["verdict"], "incomplete");
    let problems = half["problems"].to_string();
    assert!(problems.contains("rf.sigmf-data covers only"), "{problems}");
    // A shield that started 1.5 s late, written the two ways the format
    // allows: the offset in `bench:t0`, or NaN padding. Both measured the
    // run, and both are judged the same.
    let late_t0 = |dir: &Path| {
        let data = dir.join("rf.sigmf-data");
        let bytes = std::fs::read(&data).unwrap();
        std::fs::write(&data, &bytes[1500 * 36..]).unwrap();
        let meta_path = dir.join("rf.sigmf-meta");
        let mut meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
        let t0 = meta["captures"][0]["bench:t0"].as_f64().unwrap_or(0.0);
        meta["captures"][0]["bench:t0"] = serde_json::json!(t0 + 1.5);
        std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    };
    let late_nan = |dir: &Path| {
        let data = dir.join("rf.sigmf-data");
        let mut bytes = std::fs::read(&data).unwrap();
        for v in bytes[..1500 * 36].chunks_exact_mut(4) {
            v.copy_from_slice(&f32::NAN.to_le_bytes());
        }
        std::fs::write(&data, bytes).unwrap();
    };
    let (code_t0, t0) = analyze("late-t0", &late_t0);
    let (code_nan, nan) = analyze("late-nan", &late_nan);
    assert_eq!(code_t0, Some(0), "{t0}");
    assert_eq!(code_nan, Some(0), "{nan}");
    // The whole recording, but shifted by `bench:t0` = 20 s in both files:
    // 30 s of data in a 30 s run, of which only 10 s fall inside the run.
    // Samples after the run's end do not stand in for its first 20 s.
    let t0_20 = |dir: &Path| {
        for file in ["rf.sigmf-meta", "power.sigmf-meta"] {
            let meta_path = dir.join(file);
            let mut meta: Value =
                serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
            meta["captures"][0]["bench:t0"] = serde_json::json!(20.0);
            std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
        }
    };
    let (code, shifted) = analyze("t0-past-the-end", &t0_20);
    assert_ne!(code, Some(0), "{shifted}");
    assert_eq!(shifted["complete"], false, "{shifted}");
    let problems = shifted["problems"].to_string();
    for file in ["rf.sigmf-data", "power.sigmf-data"] {
        assert!(
            problems.contains(&format!("{file} covers only 20.0-50.0 s of a 30.0 s run")),
            "{problems}"
        );
    }
    let (code, lost) = analyze("lost", &all_lost("rf.sigmf-data"));
    assert_eq!(code, Some(3), "{lost}");
    assert!(
        all_problems(&lost).contains("has a measured sample in 0% of its frames"),
        "{lost}"
    );
    assert_eq!(lost["duts"][0]["verdict"], "incomplete", "{lost}");
    // The same for the supply current: a phone "off" with no current
    // measured is not shown to be off.
    let (code, lost) = analyze("lost-power", &all_lost("power.sigmf-data"));
    assert_eq!(code, Some(3), "{lost}");
    assert!(
        all_problems(&lost).contains("power.sigmf-data: channel"),
        "{lost}"
    );
    let (code, empty) = analyze("empty", &truncate("rf.sigmf-data", |_| 0));
    assert_eq!(code, Some(3), "{empty}");
    assert!(
        empty["problems"]
            .to_string()
            .contains("rf.sigmf-data holds no samples"),
        "{empty}"
    );
}

/// Every reason a findings document gives for being incomplete: the run's
/// and each DUT's, one per line.
fn all_problems(doc: &Value) -> String {
    let mut all: Vec<String> = Vec::new();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    all.extend(strings(&doc["problems"]));
    for d in doc["duts"].as_array().into_iter().flatten() {
        all.extend(strings(&d["problems"]));
    }
    all.join("\n")
}

/// A copy of fixture `name` in `dir`, with `edit` applied to the text of
/// each of its files that it changes (file name, old text, new text).
fn damaged_fixture(dir: &Path, name: &str, edits: &[(&str, &str, &str)]) -> PathBuf {
    let run = dir.join(name);
    std::fs::create_dir_all(&run).expect("create the copy");
    for entry in std::fs::read_dir(common::repo_root().join("fixtures/runs").join(name))
        .expect("the fixture")
    {
        let entry = entry.expect("a fixture file");
        std::fs::copy(entry.path(), run.join(entry.file_name())).expect("copy a fixture file");
    }
    for (file, old, new) in edits {
        let path = run.join(file);
        let text = std::fs::read_to_string(&path).expect("a text file");
        assert!(text.contains(old), "{file} holds {old:?}");
        std::fs::write(&path, text.replacen(old, new, 1)).expect("write the damage");
    }
    run
}

/// Inputs that would judge a phone by less than the recording says are
/// refused with the file and the place (exit 2), and expectations nothing
/// measured make the run incomplete (exit 3) instead of a pass.
#[test]
fn what_would_be_judged_wrongly_is_refused_or_incomplete() {
    let bench = TestBench::default_bench();
    let tmp = bench.dir.path();
    let online = r#""allow":["gstatic.com""#;
    let refused: Vec<(PathBuf, &str)> = vec![
        (
            // One bad entry used to empty the whole list.
            damaged_fixture(
                &tmp.join("bad-allow"),
                "honest",
                &[(
                    "events.jsonl",
                    online,
                    r#""allow":["10.77.0.0/40","gstatic.com""#,
                )],
            ),
            r#"events.jsonl:10: phase line: "expect": allow: "10.77.0.0/40""#,
        ),
        (
            // A typo in the DUT's address used to blame it for every answer.
            damaged_fixture(
                &tmp.join("bad-ip"),
                "honest",
                &[("run.json", r#""10.77.2.2""#, r#""10.77.2.999""#)],
            ),
            r#"run.json: key duts[1].ip[0]: "10.77.2.999" is not an IPv4 or IPv6 address"#,
        ),
        (
            // A phase of a DUT run.json does not list used to go unjudged.
            damaged_fixture(
                &tmp.join("unknown-dut"),
                "honest",
                &[(
                    "events.jsonl",
                    r#""dut":"phone-b","name":"online""#,
                    r#""dut":"phone-z","name":"online""#,
                )],
            ),
            r#"events.jsonl:13: phase line for DUT "phone-z", which run.json does not list (it lists phone-a, phone-b)"#,
        ),
    ];
    for (run, expected) in &refused {
        let out = bench.run(&["analyze", run.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", run.display());
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    let empty = tmp.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let out = bench.run(&["analyze", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the file is empty"));

    // phone-b's RF channels relabelled to a bench DUT outside the run:
    // its airplane phase was heard by nobody. And phone-a without its ip.
    let mut relabel: Vec<(&str, &str, &str)> = Vec::new();
    for _ in 0..4 {
        relabel.push((
            "rf.sigmf-meta",
            r#""dut": "phone-b""#,
            r#""dut": "phone-q""#,
        ));
    }
    relabel.push((
        "run.json",
        r#""ip": [
        "10.77.1.2"
      ],"#,
        "",
    ));
    let run = damaged_fixture(&tmp.join("unheard"), "airplane-tx", &relabel);
    let out = bench.run(&["analyze", "--json", run.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(findings["verdict"], "incomplete");
    let problems = all_problems(&findings);
    assert!(
        problems.contains("phone-b: RF silence expected in \"airplane\""),
        "{problems}"
    );
    assert!(
        problems.contains("phone-a: the network expected in"),
        "{problems}"
    );
    assert!(problems.contains("lists no ip for it"), "{problems}");

    // A capture that holds no link of phone-b (its interface renamed to
    // phone-a's, a same-length edit of the pcapng): phone-b's isolated
    // phase was not heard, so its talker cannot pass it.
    let run = damaged_fixture(&tmp.join("uncaptured"), "isolated-talker", &[]);
    let pcapng = run.join("net.pcapng");
    let bytes = std::fs::read(&pcapng).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"phone-b")
        .expect("phone-b's interface");
    let mut renamed = bytes.clone();
    renamed[at..at + 7].copy_from_slice(b"phone-a");
    std::fs::write(&pcapng, renamed).unwrap();
    let out = bench.run(&["analyze", "--json", run.to_str().unwrap()]);
    let findings: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(findings["complete"], false, "{findings}");
    let problems = all_problems(&findings);
    assert!(
        problems.contains("phone-b: the network expected in")
            && problems.contains("no interface named after it"),
        "{findings}"
    );
}

/// Writes a net-only run directory with two phones, the way an outside tool
/// would: phone-a looks up mtalk.google.com at boot and connects to it in
/// the allowlist phase; an answer nobody asked for gives android.com the
/// address 198.51.100.4, which phone-a then talks to; phone-b sends while
/// isolated; one packet between two other hosts. A directory name ending in
/// "pcap" gets a classic pcap (no interface names); otherwise a pcapng with
/// interface "phone-a" for phone-a's packets and a shared "eth0" for the
/// rest.
const NET_WRITER: &str = r#"
import json, os, struct, sys, datetime, socket
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
start = datetime.datetime(2026, 11, 26, 15, 30, tzinfo=datetime.timezone.utc).timestamp()
A, B, RES = '10.77.1.2', '10.77.2.2', '10.77.1.1'
def ip4(s): return socket.inet_aton(s)
def frame(src, dst, proto, l4):
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0, ip4(src), ip4(dst))
    return b'\x02\0\0\0\0\x01' + b'\x02\0\0\0\0\x02' + b'\x08\x00' + ip + l4
def udp(src, dst, sport, dport, data):
    return frame(src, dst, 17, struct.pack('!HHHH', sport, dport, 8 + len(data), 0) + data)
def syn(src, dst, sport, dport):
    return frame(src, dst, 6, struct.pack('!HHIIBBHHH', sport, dport, 1, 0, 0x50, 0x02, 64240, 0, 0))
def qname(n): return b''.join(bytes([len(l)]) + l.encode() for l in n.split('.')) + b'\0'
def query(i, n): return struct.pack('!HHHHHH', i, 0x0100, 1, 0, 0, 0) + qname(n) + struct.pack('!HH', 1, 1)
def answer(i, n, addr):
    return (struct.pack('!HHHHHH', i, 0x8180, 1, 1, 0, 0) + qname(n) + struct.pack('!HH', 1, 1)
            + struct.pack('!HHHIH', 0xc00c, 1, 1, 300, 4) + ip4(addr))
# (t, interface, frame): interface 0 is phone-a's, 1 the shared eth0.
packets = [
 (2.00, 0, udp(A, RES, 40003, 53, query(3, 'mtalk.google.com'))),
 (2.02, 0, udp(RES, A, 53, 40003, answer(3, 'mtalk.google.com', '142.250.102.188'))),
 (3.00, 0, udp(RES, A, 53, 40010, answer(9, 'android.com', '198.51.100.4'))),
 (8.00, 0, syn(A, '142.250.102.188', 40100, 5228)),
 (9.00, 0, syn(A, '198.51.100.4', 40101, 443)),
 (15.0, 1, udp(B, '203.0.113.7', 40200, 6000, b'queued')),
 (16.0, 1, udp('192.0.2.1', '192.0.2.2', 1000, 2000, b'not ours')),
]
def pad(b): return b + b'\0' * (-len(b) % 4)
def block(kind, body):
    n = 12 + len(body)
    return struct.pack('<II', kind, n) + body + struct.pack('<I', n)
if d.endswith('pcap'):
    out = struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
    for t, _, f in packets:
        us = round((start + t) * 1e6)
        out += struct.pack('<IIII', us // 1000000, us % 1000000, len(f), len(f)) + f
else:
    out = block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1))
    for name in ['phone-a', 'eth0']:
        opt = struct.pack('<HH', 2, len(name)) + pad(name.encode()) + struct.pack('<HH', 0, 0)
        out += block(1, struct.pack('<HHI', 1, 0, 65535) + opt)
    for t, i, f in packets:
        us = round((start + t) * 1e6)
        out += block(6, struct.pack('<IIIII', i, us >> 32, us & 0xffffffff, len(f), len(f)) + pad(f))
open(os.path.join(d, 'net.pcapng'), 'wb').write(out)
duts = [{"name": "phone-a", "model": "sim-android", "ip": [A]},
        {"name": "phone-b", "model": "sim-android", "ip": [B]}]
json.dump({"format": "benchctl-run/1", "run_id": "net-outside", "bench": "elsewhere",
           "scenario": "outside", "started_utc": "2026-11-26T15:30:00.000Z", "duration_s": 20.0,
           "complete": True, "duts": duts}, open(os.path.join(d, 'run.json'), 'w'))
allow = ["google.com", "android.com", "10.77.0.0/16"]
lines = []
for dut in ['phone-a', 'phone-b']:
    lines += [{"t": 0.0, "kind": "phase", "dut": dut, "name": "boot", "expect": {}},
              {"t": 5.0, "kind": "phase", "dut": dut, "name": "online", "expect": {"net": "allowlist", "allow": allow}},
              {"t": 13.0, "kind": "phase", "dut": dut, "name": "isolated", "expect": {"net": "none"}}]
open(os.path.join(d, 'events.jsonl'), 'w').write(''.join(json.dumps(l) + '\n' for l in lines))
"#;

/// Defects a review found in the network rules, on a run another tool
/// wrote: an answer nobody asked for taught the allowlist an address; a
/// name resolved before the allowlist phase was forgotten in it; packets on
/// an interface not named after a DUT (or in a classic pcap) were dropped.
#[test]
fn dns_learning_and_packet_attribution_follow_the_duts() {
    let bench = TestBench::default_bench();
    for (variant, orphan) in [
        (
            "net-run",
            "net.pcapng: 1 packet on interface \"eth0\", which names no DUT, carries no DUT's address: not judged",
        ),
        (
            "net-run-pcap",
            "net.pcapng: 1 packet on an unnamed interface carries no DUT's address: not judged",
        ),
    ] {
        let run = bench.dir.path().join(variant);
        run_python(NET_WRITER, &run, "the outside writer failed on");
        let out = bench.run(&["analyze", run.to_str().unwrap(), "--json"]);
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{variant}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        let findings = |dut: &str| -> Vec<(String, String, String)> {
            doc["duts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["dut"] == dut)
                .flat_map(|d| d["findings"].as_array().unwrap())
                .map(|f| {
                    let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
                    (s("kind"), s("phase"), s("channel"))
                })
                .collect()
        };
        // Only the address the unsolicited answer named; mtalk.google.com,
        // looked up at boot, is allowed online.
        assert_eq!(
            findings("phone-a"),
            [(
                "net-unexpected-destination".to_string(),
                "online".to_string(),
                "198.51.100.4".to_string()
            )],
            "{variant}: {doc}"
        );
        // phone-b's packet on the shared interface is its own.
        assert_eq!(
            findings("phone-b"),
            [(
                "net-in-isolation".to_string(),
                "isolated".to_string(),
                String::new()
            )],
            "{variant}: {doc}"
        );
        assert_eq!(doc["verdict"], "fail", "{variant}");
        // The packet between two other hosts is theirs, not a hole in the
        // recording: said in the log, the run stays complete.
        assert_eq!(doc["complete"], true, "{variant}");
        assert_eq!(doc["problems"], Value::Null, "{variant}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(orphan), "{variant}: {stderr}");
    }
}

/// Analyze `run` (with `--no-write`: the copy stays as made) and return the
/// exit code and the findings document.
fn judge(bench: &TestBench, run: &Path) -> (Option<i32>, Value) {
    let out = bench.run(&[
        "analyze",
        "--json",
        "--no-write",
        run.to_str().expect("a UTF-8 path"),
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {}",
            run.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), doc)
}

/// The problems of DUT `name` in a findings document, one per line.
fn dut_problems(doc: &Value, name: &str) -> String {
    dut(doc, name)["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The DUT `name` of a findings document.
fn dut<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["duts"]
        .as_array()
        .and_then(|duts| duts.iter().find(|d| d["dut"] == name))
        .unwrap_or_else(|| panic!("{name} in {doc}"))
}

/// Mark samples lost (NaN, as the format marks a lost frame) in `file` of
/// `run` (f32, `width` channels, 1 kS/s from t = 0, as the fixtures are):
/// the channels `channels` from `from_s` to `to_s`.
fn lose(run: &Path, file: &str, width: usize, channels: &[usize], from_s: f64, to_s: f64) {
    let path = run.join(file);
    let mut bytes = std::fs::read(&path).expect("the data file");
    let frame = |t: f64| (t * 1000.0).round() as usize;
    for i in frame(from_s)..frame(to_s) {
        for &ch in channels {
            let at = (i * width + ch) * 4;
            bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        }
    }
    std::fs::write(&path, bytes).expect("write the loss");
}

/// phone-b's RF channels in the fixtures' rf.sigmf-data (9 channels:
/// phone-a's four, the room's, phone-b's four); its LTE B3 channel.
const PHONE_B_RF: [usize; 4] = [5, 6, 7, 8];
const PHONE_B_LTE: usize = 6;

/// Issue 18, item 7: phone-b's implant transmits in its airplane phase at
/// 20.1 s and 22.6 s; with its RF channels lost from 20.0 to 22.8 s the
/// recording holds none of it. Missing samples counted over the whole run
/// (under a tenth) let that pass; unmeasured time where an expectation
/// applies, long enough to hide a burst the detector would flag, makes the
/// DUT incomplete, with its seconds. Gaps where nothing is judged (a phase
/// with no expectation, the settle window) or too short to hold a burst
/// do not.
#[test]
fn a_gap_where_an_expectation_applies_is_not_a_pass() {
    let bench = TestBench::default_bench();
    let tmp = bench.dir.path();
    for (variant, channels, wording) in [
        ("all-rf", &PHONE_B_RF[..], "of phone-b were not measured"),
        (
            "lte-only",
            &[PHONE_B_LTE][..],
            "channel \"LTE B3 uplink\" of phone-b was not measured",
        ),
    ] {
        let run = damaged_fixture(&tmp.join(variant), "airplane-tx", &[]);
        lose(&run, "rf.sigmf-data", 9, channels, 20.0, 22.8);
        let (code, doc) = judge(&bench, &run);
        assert_eq!(code, Some(3), "{variant}: {doc}");
        assert_eq!(doc["verdict"], "incomplete", "{variant}: {doc}");
        assert_eq!(doc["complete"], false, "{variant}: {doc}");
        let b = dut(&doc, "phone-b");
        assert_eq!(b["verdict"], "incomplete", "{variant}: {doc}");
        let problems = dut_problems(&doc, "phone-b");
        assert!(
            problems.contains(&format!(
                "{wording} for 2.8 s of phase \"airplane\" (20.0-22.8 s)"
            )),
            "{variant}: {problems}"
        );
        assert_eq!(dut(&doc, "phone-a")["verdict"], "pass", "{variant}: {doc}");
    }

    // The supply current too: 100 ms lost in phone-b's soft-off phase is
    // longer than the 50 ms a draw must last to fail it.
    let run = damaged_fixture(&tmp.join("power"), "honest", &[]);
    lose(&run, "power.sigmf-data", 2, &[1], 26.0, 26.1);
    let (code, doc) = judge(&bench, &run);
    assert_eq!(code, Some(3), "{doc}");
    let problems = dut_problems(&doc, "phone-b");
    assert!(
        problems.contains("power.sigmf-data: channel")
            && problems.contains("of phone-b was not measured for 0.10 s of phase \"soft-off\""),
        "{problems}"
    );

    // What is not judged is not missed: a gap inside the airplane phase's
    // settle window (18.0-19.0 s), a longer one in the online phase (no RF
    // expectation), one lost frame (shorter than any burst the detector
    // flags) and 40 ms of current (shorter than a draw it flags).
    let run = damaged_fixture(&tmp.join("harmless"), "honest", &[]);
    lose(&run, "rf.sigmf-data", 9, &PHONE_B_RF, 18.0, 18.9);
    lose(&run, "rf.sigmf-data", 9, &PHONE_B_RF, 8.0, 10.0);
    lose(&run, "rf.sigmf-data", 9, &PHONE_B_RF, 21.0, 21.001);
    lose(&run, "power.sigmf-data", 2, &[1], 27.0, 27.04);
    let (code, doc) = judge(&bench, &run);
    assert_eq!(code, Some(0), "{doc}");
}

/// Issue 18, item 5: a `core:sample_rate` of 0.01 puts the second sample
/// at t = 100 s, so the airplane phase (18-24 s) holds no RF sample at
/// all. That is not a silent phase: the DUTs are incomplete, and say why.
#[test]
fn a_phase_the_sample_rate_leaves_unmeasured_is_not_a_pass() {
    let bench = TestBench::default_bench();
    let run = damaged_fixture(
        bench.dir.path(),
        "airplane-tx",
        &[(
            "rf.sigmf-meta",
            r#""core:sample_rate": 1000.0"#,
            r#""core:sample_rate": 0.01"#,
        )],
    );
    let (code, doc) = judge(&bench, &run);
    assert_eq!(code, Some(3), "{doc}");
    assert_eq!(doc["verdict"], "incomplete", "{doc}");
    for name in ["phone-a", "phone-b"] {
        let d = dut(&doc, name);
        assert_eq!(d["verdict"], "incomplete", "{doc}");
        let problems = dut_problems(&doc, name);
        assert!(
            problems.contains(&format!(
                "of {name} hold 0 measured samples in phase \"airplane\""
            )),
            "{problems}"
        );
    }
}

/// Issue 18, item 6: run.json's `duration_s` of 0.5 s ends every phase
/// after half a second, so phone-b's airplane phase was never judged. A
/// run.json its own journal and streams contradict is incomplete, with
/// the reason.
#[test]
fn a_duration_the_journal_and_streams_contradict_is_not_a_pass() {
    let bench = TestBench::default_bench();
    let run = damaged_fixture(
        bench.dir.path(),
        "airplane-tx",
        &[("run.json", r#""duration_s": 30.0"#, r#""duration_s": 0.5"#)],
    );
    let (code, doc) = judge(&bench, &run);
    assert_eq!(code, Some(3), "{doc}");
    assert_eq!(doc["verdict"], "incomplete", "{doc}");
    assert_eq!(doc["complete"], false, "{doc}");
    let problems = all_problems(&doc);
    for said in [
        "run.json gives duration_s 0.5 s, but events.jsonl goes on to t = 30.0 s",
        "run.json gives duration_s 0.5 s, but rf.sigmf-data holds samples up to t = 30.0 s",
        "run.json gives duration_s 0.5 s, but power.sigmf-data holds samples up to t = 30.0 s",
    ] {
        assert!(problems.contains(said), "{said}\n{problems}");
    }
}
