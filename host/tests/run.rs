//! `benchctl run` on the simulated lab, end to end through the binary: the
//! run directory read back against recording-format.md by this test's own
//! reading of the spec and by the outside readers (sigmf, tshark), what the
//! simulated phones did visible in the data, and the ways a run can end
//! (finished, fault, SIGTERM, kill -9).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

mod common;
use common::outside::{junit_cases, sigmf_summary, tshark_fields};
use common::{TestBench, repo_root, send_signal, wait_for_line};

/// The run directory a `run --json` printed (relative to the bench's folder,
/// where the test runs benchctl).
fn run_dir(bench: &TestBench, stdout: &[u8]) -> PathBuf {
    let v: Value = serde_json::from_slice(stdout).expect("run --json output");
    bench.dir.path().join(v["dir"].as_str().expect("dir"))
}

/// The run directories under `runs/`, leaving aside the history index that
/// lives beside them.
fn run_dirs(runs: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs)
        .expect("runs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

fn events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .expect("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is a JSON object"))
        .collect()
}

/// A SigMF recording's samples, frame by frame, as the spec lays them out.
struct Recording {
    meta: Value,
    channels: usize,
    rate: f64,
    t0: f64,
    data: Vec<f32>,
}

impl Recording {
    fn open(dir: &Path, name: &str) -> Recording {
        let meta = json_file(&dir.join(format!("{name}.sigmf-meta")));
        let bytes = std::fs::read(dir.join(format!("{name}.sigmf-data"))).expect("data");
        let channels = meta["global"]["core:num_channels"]
            .as_u64()
            .expect("channels") as usize;
        assert_eq!(bytes.len() % (4 * channels), 0, "{name}: whole frames only");
        Recording {
            channels,
            rate: meta["global"]["core:sample_rate"].as_f64().expect("rate"),
            t0: meta["captures"][0]["bench:t0"].as_f64().unwrap_or(0.0),
            data: bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            meta,
        }
    }

    fn frames(&self) -> usize {
        self.data.len() / self.channels
    }

    /// The channel whose `bench:channels` entry matches.
    fn channel(&self, dut: Option<&str>, band_starts: &str) -> usize {
        self.meta["global"]["bench:channels"]
            .as_array()
            .expect("bench:channels")
            .iter()
            .position(|c| {
                c["dut"].as_str() == dut
                    && c.get("band")
                        .and_then(Value::as_str)
                        .is_none_or(|b| b.starts_with(band_starts))
            })
            .unwrap_or_else(|| panic!("no channel {dut:?} {band_starts}"))
    }

    /// (t, value) of one channel between two run times.
    fn samples(&self, channel: usize, from: f64, to: f64) -> Vec<(f64, f32)> {
        (0..self.frames())
            .map(|i| (self.t0 + i as f64 / self.rate, i))
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(t, i)| (t, self.data[i * self.channels + channel]))
            .collect()
    }
}

/// (start, end) of each phase `name` of `dut`, from the journal.
fn phase(events: &[Value], dut: &str, name: &str, end_of_run: f64) -> (f64, f64) {
    let mine: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "phase" && e["dut"] == dut)
        .collect();
    let i = mine
        .iter()
        .position(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{dut} has no phase {name}"));
    let start = mine[i]["t"].as_f64().expect("t");
    let end = mine
        .get(i + 1)
        .map_or(end_of_run, |e| e["t"].as_f64().expect("t"));
    (start, end)
}

/// The default bench, with a scenario file next to it.
fn bench_with_scenario(bench: &str, scenario: &str) -> TestBench {
    let b = TestBench::with_bench(bench);
    std::fs::write(b.dir.path().join("s.toml"), scenario).expect("write scenario");
    b
}

fn default_bench_text() -> String {
    std::fs::read_to_string(repo_root().join("bench.toml")).expect("bench.toml")
}

#[test]
fn backdoor_hunt_records_a_run_directory_that_follows_the_spec() {
    let bench = TestBench::default_bench();
    let scenario = repo_root().join("scenarios/backdoor-hunt.toml");
    let started = Instant::now();
    let out = bench.run(&[
        "run",
        scenario.to_str().expect("path"),
        "--json",
        "--junit",
        "junit.xml",
    ]);
    let took = started.elapsed();
    // phone-b's implant fails the run: exit 1, and the analysis says why.
    assert_eq!(
        out.status.code(),
        Some(1),
        "run: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(took <= Duration::from_secs(60), "took {took:?}");
    let dir = run_dir(&bench, &out.stdout);
    assert!(
        dir.starts_with(bench.dir.path().join("runs")),
        "{}",
        dir.display()
    );

    // The analysis (findings.md): phone-b fails for RF in its airplane
    // phase, phone-a passes; the same document is in findings.json.
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let findings = json_file(&dir.join("findings.json"));
    assert_eq!(printed["findings"], findings);
    assert_eq!(findings["format"], "benchctl-findings/1");
    assert_eq!(findings["verdict"], "fail");
    assert_eq!(findings["complete"], true);
    let dut = |name: &str| {
        findings["duts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["dut"] == name)
            .unwrap_or_else(|| panic!("{name} in findings"))
            .clone()
    };
    assert_eq!(dut("phone-a")["verdict"], "pass", "{findings:#}");
    let b = dut("phone-b");
    assert_eq!(b["verdict"], "fail");
    let rf_finding = b["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "rf-in-silence")
        .expect("rf-in-silence for phone-b");
    assert_eq!(rf_finding["phase"], "airplane");
    assert_eq!(rf_finding["severity"], "high");
    assert!(
        rf_finding["summary"]
            .as_str()
            .unwrap()
            .contains("above the noise floor")
    );
    // JUnit, read by a real consumer.
    let suites = junit_cases(&bench.dir.path().join("junit.xml"));
    assert!(
        suites
            .iter()
            .any(|(name, failed)| name.contains("airplane: rf silent")
                && *failed
                && name.starts_with("phone-b")),
        "{suites:?}"
    );
    assert!(
        suites
            .iter()
            .filter(|(name, _)| name.starts_with("phone-a"))
            .all(|(_, failed)| !failed),
        "{suites:?}"
    );

    // run.json: every key of the spec, with the values this run had.
    let run = json_file(&dir.join("run.json"));
    assert_eq!(run["format"], "benchctl-run/1");
    assert_eq!(run["run_id"], dir.file_name().unwrap().to_str().unwrap());
    assert!(run["run_id"].as_str().unwrap().ends_with("Z-backdoor-hunt"));
    assert_eq!(run["bench"], "sim-lab");
    assert_eq!(run["scenario"], "backdoor-hunt");
    assert_eq!(run["complete"], true);
    let duration = run["duration_s"].as_f64().expect("duration_s");
    assert!((55.0..57.0).contains(&duration), "{duration}");
    let started_utc = run["started_utc"].as_str().expect("started_utc");
    assert!(
        humantime::parse_rfc3339(started_utc).is_ok() && started_utc.ends_with('Z'),
        "{started_utc}"
    );
    let duts = run["duts"].as_array().expect("duts");
    assert_eq!(duts.len(), 2);
    assert_eq!(duts[0]["name"], "phone-a");
    assert_eq!(duts[0]["model"], "sim-android");
    assert_eq!(duts[0]["ip"][0], "10.77.1.2");
    assert_eq!(duts[1]["ip"][0], "10.77.2.2");
    let timing = &run["step_timing"];
    assert!(timing["steps"].as_u64().unwrap() >= 20);
    assert!(timing["p99_ms"].as_f64().unwrap() < 100.0, "{timing}");

    // events.jsonl: t and kind on every line, in t order, the scenario's
    // phases with their expectations, every action ok.
    let ev = events(&dir);
    let mut last = f64::NEG_INFINITY;
    for e in &ev {
        let t = e["t"].as_f64().expect("t");
        assert!(t >= last, "out of order at {e}");
        last = t;
        match e["kind"].as_str().expect("kind") {
            "phase" => {
                assert!(e["dut"].is_string() && e["name"].is_string() && e["expect"].is_object())
            }
            "action" => {
                assert!(e.get("dut").is_some(), "action lines always have dut: {e}");
                assert!(e["action"].is_string());
                assert_eq!(e["ok"], true, "{e}");
            }
            "note" => assert!(e["text"].is_string()),
            // The simulated shield keeps real time on a loaded 2-core CI
            // machine; a stall of over half a second makes it skip samples
            // and say so (recorded as NaN, as the spec says). Any other
            // fault is a bug.
            "fault"
                if e["source"] == "shield"
                    && e["detail"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("fell behind")) => {}
            "fault" => panic!("a fault in a clean run: {e}"),
            other => panic!("unknown kind {other}"),
        }
    }
    let names: Vec<&str> = ev
        .iter()
        .filter(|e| e["kind"] == "phase" && e["dut"] == "phone-b")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["boot", "online", "airplane", "isolated", "soft-off"]
    );
    let soft_off = ev
        .iter()
        .find(|e| e["kind"] == "phase" && e["name"] == "soft-off")
        .expect("soft-off");
    assert_eq!(soft_off["expect"]["power"], "off");
    assert_eq!(soft_off["expect"]["off_current_a"], 0.005);
    let online = ev.iter().find(|e| e["name"] == "online").expect("online");
    assert_eq!(online["expect"]["net"], "allowlist");
    assert!(online["expect"]["allow"].as_array().unwrap().len() >= 2);
    for dut in ["phone-a", "phone-b"] {
        assert!(
            ev.iter()
                .any(|e| e["action"] == "safe-state" && e["dut"] == dut),
            "{dut} sent to its safe state at the end"
        );
    }

    // rf.sigmf: the spec's global keys, one capture at started_utc.
    let rf = Recording::open(&dir, "rf");
    let g = &rf.meta["global"];
    assert_eq!(g["core:datatype"], "rf32_le");
    assert_eq!(g["core:sample_rate"], 1000.0);
    assert_eq!(g["bench:unit"], "dBm");
    assert!(
        g["core:extensions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "bench" && x["optional"] == true)
    );
    let chans = g["bench:channels"].as_array().unwrap();
    assert_eq!(chans.len(), 9);
    for c in chans {
        assert!(c["dut"].is_string() || c["dut"].is_null());
        assert!(c["band"].is_string());
        assert!(c["low_hz"].as_u64().unwrap() < c["high_hz"].as_u64().unwrap());
    }
    assert_eq!(rf.meta["captures"][0]["core:sample_start"], 0);
    assert_eq!(rf.meta["captures"][0]["core:datetime"], started_utc);
    // The stream starts a moment before t = 0 (the run clock gives the
    // threads a head start), and bench:t0 says so.
    assert!((-0.5..0.5).contains(&rf.t0), "t0 {}", rf.t0);
    // About one frame per ms of the run, none lost.
    let frames = rf.frames() as f64;
    assert!(frames >= (duration - 1.0) * 1000.0, "{frames} frames");
    assert!(rf.data.iter().all(|v| v.is_finite()), "no lost frames here");
    let summary = sigmf_summary(&dir.join("rf.sigmf-meta"));
    assert_eq!(summary["shape"][0].as_u64(), Some(rf.frames() as u64));
    assert_eq!(summary["nan"], 0);

    let power = Recording::open(&dir, "power");
    assert_eq!(power.meta["global"]["bench:unit"], "A");
    assert_eq!(power.frames(), rf.frames());
    let pc = power.meta["global"]["bench:channels"].as_array().unwrap();
    assert_eq!(pc[0]["dut"], "phone-a");
    assert_eq!(pc[0]["quantity"], "current");
    sigmf_summary(&dir.join("power.sigmf-meta"));

    // net.pcapng: one interface per DUT, named after it, Ethernet.
    let rows = tshark_fields(
        &dir.join("net.pcapng"),
        &[
            "frame.interface_name",
            "frame.encap_type",
            "ip.src",
            "ip.dst",
        ],
    );
    assert!(rows.len() > 50, "{} packets", rows.len());
    for r in &rows {
        assert!(r[0] == "phone-a" || r[0] == "phone-b", "{r:?}");
        assert_eq!(r[1], "1", "Ethernet");
        let phone = if r[0] == "phone-a" {
            "10.77.1.2"
        } else {
            "10.77.2.2"
        };
        assert!(r[2] == phone || r[3] == phone, "{r:?} on {}'s link", r[0]);
    }

    // benchctl's own reader (what the analyzer uses) takes it as written.
    let read = benchctl_format::read::RunDir::open(&dir).expect("the reader takes the run");
    assert!(read.complete());
    assert!(!read.events().out_of_order() && !read.events().truncated());
    assert_eq!(read.phase_intervals("phone-b").expect("phases").len(), 5);
    let rf_read = read.rf().expect("rf").expect("rf present");
    assert_eq!(rf_read.frames(), rf.frames() as u64);
    assert!(!rf_read.truncated());
    let packets = read
        .net()
        .expect("net")
        .expect("net present")
        .inspect(|p| assert!(p.is_ok(), "a whole packet: {p:?}"))
        .count();
    assert_eq!(packets, rows.len());

    // What the phones did is in the data. phone-b's implant transmits in
    // the LTE band while it claims airplane mode; phone-a stays silent.
    // Room interference (heard on the ambient antenna too) is not theirs.
    let ambient = rf.channel(None, "LTE");
    let heard = |dut: &str| {
        let (from, to) = phase(&ev, dut, "airplane", duration);
        let ch = rf.channel(Some(dut), "LTE");
        let room: Vec<f64> = rf
            .samples(ambient, from, to)
            .into_iter()
            .filter(|(_, v)| *v > -80.0)
            .map(|(t, _)| t)
            .collect();
        rf.samples(ch, from + 0.1, to)
            .into_iter()
            .filter(|(t, v)| *v > -80.0 && !room.iter().any(|r| (r - t).abs() < 0.05))
            .map(|(_, v)| v)
            .collect::<Vec<f32>>()
    };
    let b = heard("phone-b");
    assert!(
        b.len() >= 3 && b.iter().any(|v| *v > -45.0),
        "phone-b's airplane-mode bursts: {b:?}"
    );
    let a = heard("phone-a");
    assert!(a.is_empty(), "phone-a in airplane mode: {a:?}");

    // Soft-off: both draw almost nothing; online they draw hundreds of mA.
    for (i, dut) in ["phone-a", "phone-b"].into_iter().enumerate() {
        let (from, to) = phase(&ev, dut, "soft-off", duration);
        let off = power.samples(i, from + 0.5, to);
        assert!(
            off.iter().all(|(_, a)| *a < 0.005),
            "{dut} soft-off current"
        );
        let (from, to) = phase(&ev, dut, "online", duration);
        let on = power.samples(i, from + 0.5, to);
        let mean = on.iter().map(|(_, a)| f64::from(*a)).sum::<f64>() / on.len() as f64;
        assert!((0.1..1.0).contains(&mean), "{dut} online mean {mean} A");
    }

    // Honest phones send nothing on an isolated link.
    let started = humantime::parse_rfc3339(started_utc).unwrap();
    let times = tshark_fields(
        &dir.join("net.pcapng"),
        &["frame.time_epoch", "frame.interface_name"],
    );
    for dut in ["phone-a", "phone-b"] {
        let (from, to) = phase(&ev, dut, "isolated", duration);
        let during = times
            .iter()
            .filter(|r| r[1] == dut)
            .map(|r| {
                let t: f64 = r[0].parse().unwrap();
                t - started
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_secs_f64()
            })
            .filter(|t| *t > from + 0.05 && *t < to)
            .count();
        assert_eq!(during, 0, "{dut} talked while isolated");
    }
}

const SHORT: &str = r#"
[scenario]
name = "short"
duts = ["phone-a", "phone-b"]
steps = [
  { phase = "boot" },
  { do = "power.on" },
  { do = "usb.on" },
  { wait = "30s" },
]
"#;

#[test]
fn sigterm_stops_the_run_safe_and_marks_it_incomplete() {
    let bench = bench_with_scenario(&default_bench_text(), SHORT);
    let (mut child, mut log) = bench.spawn(&["run", "s.toml"]);
    wait_for_line(&mut log, "phone-b: phase boot");
    send_signal(&child, "TERM");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(143));
    let runs = run_dirs(&bench.dir.path().join("runs"));
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = json_file(&runs[0].join("run.json"));
    assert_eq!(run["complete"], false);
    assert_eq!(run["ending"]["how"], "stopped");
    assert_eq!(run["ending"]["signal"], 15);
    let ev = events(&runs[0]);
    assert!(
        ev.iter()
            .any(|e| e["action"] == "safe-state" && e["dut"] == "phone-b")
    );
    assert_eq!(
        bench.outputs("phone-a"),
        ("off".into(), "off".into(), "isolated".into())
    );
    sigmf_summary(&runs[0].join("rf.sigmf-meta"));
}

#[test]
fn kill_9_leaves_a_directory_readable_up_to_the_last_second() {
    let bench = bench_with_scenario(&default_bench_text(), SHORT);
    let (mut child, mut log) = bench.spawn(&["run", "s.toml"]);
    wait_for_line(&mut log, "phone-b: phase boot");
    let runs = bench.dir.path().join("runs");
    let dir = run_dirs(&runs).pop().expect("a run directory");
    // Let a few seconds of data reach the files, watching them grow (the
    // recorder flushes at least once a second).
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(dir.join("rf.sigmf-data")).map_or(0, |m| m.len()) < 3 * 1000 * 9 * 4 {
        assert!(Instant::now() < deadline, "no data after 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let run = json_file(&dir.join("run.json"));
    let started = humantime::parse_rfc3339(run["started_utc"].as_str().unwrap()).unwrap();
    send_signal(&child, "KILL");
    let killed_at = SystemTime::now()
        .duration_since(started)
        .expect("after start")
        .as_secs_f64();
    child.wait().expect("wait");

    // The manifest says the run never finished; the journal is whole lines;
    // the recordings hold everything up to about a second before the kill.
    let run = json_file(&dir.join("run.json"));
    assert_eq!(run["complete"], false);
    let ev = events(&dir);
    assert!(ev.iter().any(|e| e["kind"] == "phase"));
    let rf = Recording::open(&dir, "rf");
    let recorded = rf.t0 + rf.frames() as f64 / rf.rate;
    assert!(
        recorded >= killed_at - 1.5,
        "recorded up to t={recorded:.2}, killed at t={killed_at:.2}"
    );
    let summary = sigmf_summary(&dir.join("rf.sigmf-meta"));
    assert_eq!(summary["shape"][0].as_u64(), Some(rf.frames() as u64));
    sigmf_summary(&dir.join("power.sigmf-meta"));
    tshark_fields(&dir.join("net.pcapng"), &["frame.interface_name"]);
    // The relays hold what they were (kill -9 gets past every guard)...
    assert_eq!(bench.outputs("phone-b").0, "on");
    // ...until the next command takes the bench over: the DUTs the dead run
    // was switching go to their safe state first, and its journal says so.
    let out = bench.run(&["usb", "phone-a", "on"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("ended without finishing"), "{err}");
    assert!(err.contains("went to the safe state"), "{err}");
    assert_eq!(
        bench.outputs("phone-b"),
        ("off".into(), "off".into(), "isolated".into())
    );
    assert_eq!(
        bench.outputs("phone-a").1,
        "on",
        "then the command did its own"
    );
    let ev = events(&dir);
    assert!(
        ev.iter().any(|e| e["kind"] == "fault"
            && e["detail"]
                .as_str()
                .is_some_and(|d| d.contains("ended without finishing"))),
        "{ev:?}"
    );
    for dut in ["phone-a", "phone-b"] {
        assert!(
            ev.iter()
                .any(|e| e["action"] == "safe-state" && e["dut"] == dut && e["ok"] == true),
            "{dut}: {ev:?}"
        );
    }
    // Taken over once: the next command has nothing to undo.
    let out = bench.run(&["usb", "phone-a", "off"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("ended without finishing"));
}

#[test]
fn a_failing_action_is_a_fault_and_the_policy_decides() {
    // The relay board refuses to close a second relay.
    let text = default_bench_text().replace(
        "[relays.relays]\nkind = \"sim\"\nchannels = 4\n",
        "[relays.relays]\nkind = \"sim\"\nchannels = 4\nfail_after = 1\n",
    );
    assert!(text.contains("fail_after = 1"));
    let scenario = |policy: &str| {
        format!(
            "[scenario]\nname = \"faulty\"\nduts = [\"phone-a\", \"phone-b\"]\non_fault = \"{policy}\"\n\
             steps = [{{ phase = \"boot\" }}, {{ do = \"power.on\" }}, {{ wait = \"2s\" }}, {{ mark = \"done\" }}]\n"
        )
    };

    let bench = bench_with_scenario(&text, &scenario("abort"));
    let out = bench.run(&["run", "s.toml", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("run aborted: phone-b power.on (scenario line"),
        "{stderr}"
    );
    let dir = run_dir(&bench, &out.stdout);
    let run = json_file(&dir.join("run.json"));
    assert_eq!(run["complete"], false);
    assert_eq!(run["ending"]["how"], "aborted");
    let ev = events(&dir);
    let failed = ev
        .iter()
        .find(|e| e["kind"] == "action" && e["ok"] == false)
        .expect("the failed action");
    assert_eq!(failed["dut"], "phone-b");
    assert_eq!(failed["action"], "power.on");
    assert!(
        ev.iter()
            .any(|e| e["kind"] == "fault" && e["dut"] == "phone-b")
    );
    assert!(
        !ev.iter().any(|e| e["text"] == "phone-a: done"),
        "aborted before the end"
    );
    assert_eq!(
        bench.outputs("phone-a").0,
        "off",
        "safe state after the abort"
    );

    let bench = bench_with_scenario(&text, &scenario("continue"));
    let out = bench.run(&["run", "s.toml", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = run_dir(&bench, &out.stdout);
    let run = json_file(&dir.join("run.json"));
    assert_eq!(run["complete"], true, "every step ran");
    let ev = events(&dir);
    assert!(ev.iter().any(|e| e["kind"] == "fault"));
    assert!(ev.iter().any(|e| e["text"] == "phone-a: done"));
}

#[test]
fn a_scenario_with_an_error_runs_nothing() {
    let bench = bench_with_scenario(
        &default_bench_text(),
        "[scenario]\nname = \"bad\"\nduts = [\"phone-a\"]\nsteps = [{ do = \"power.onn\" }]\n",
    );
    let out = bench.run(&["run", "s.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("s.toml:4:17: unknown action `power.onn`"),
        "{stderr}"
    );
    assert!(!bench.dir.path().join("runs").exists(), "no run directory");
    assert!(
        !bench.state_dir().join("sim-lab.json").exists(),
        "nothing switched"
    );
}

/// A place the results cannot go is a usage error found before the bench
/// is taken: exit 2, and nothing switched (phone-a, powered on by hand,
/// stays on; before, the run took the bench and sent it to its safe state).
#[test]
fn an_out_folder_that_cannot_be_written_switches_nothing() {
    let bench = TestBench::default_bench();
    bench.ok(&["power", "phone-a", "on"]);
    let blocker = bench.dir.path().join("a-file");
    std::fs::write(&blocker, b"not a folder").expect("write");
    let out_dir = blocker.join("runs");
    let out = bench.run(&[
        "run",
        common::repo_root()
            .join("scenarios/backdoor-hunt.toml")
            .to_str()
            .expect("utf-8"),
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--out") && err.contains("cannot make it"),
        "{err}"
    );
    assert_eq!(bench.outputs("phone-a").0, "on", "nothing was switched");
}

/// A phone still booting cannot take a command: `device.airplane` 6 s into
/// an 8 s boot waits for the phone (the step is late, not a lie), so the
/// honest phone's boot transmissions stay in its boot phase and it passes.
/// Before, the command was journaled `ok: true` at 6 s, the phone went on
/// booting with its radio up, and the honest phone failed `rf-in-silence`.
/// A phone that is not up within the scenario's `device_timeout` fails the
/// step with the reason.
#[test]
fn a_device_command_waits_for_the_phone_to_boot() {
    let text = default_bench_text();
    let config = benchctl::config::parse(std::path::Path::new("bench.toml"), &text).expect("bench");
    let scenario = |timeout: &str| {
        benchctl::scenario::parse(
            std::path::Path::new("short-boot.toml"),
            &format!(
                r#"[scenario]
name = "short-boot"
duts = ["phone-a"]
on_fault = "continue"
device_timeout = "{timeout}"
steps = [
  {{ phase = "boot" }}, {{ do = "net.isolate" }}, {{ do = "power.on" }}, {{ wait = "6s" }},
  {{ phase = "airplane", rf = "silent", net = "none" }}, {{ do = "device.airplane", state = "on" }}, {{ wait = "10s" }},
]
"#
            ),
            &config,
        )
        .expect("scenario")
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    // The scenario recorded with `timeout` into `name`: its journal and
    // the airplane command's line.
    let record = |timeout: &str, name: &str| {
        let dir = tmp.path().join(name);
        benchctl::runner::record_in_virtual_time(
            &config,
            &scenario(timeout),
            &dir,
            &benchctl::bench::VirtualOptions::new(4),
        )
        .expect("recorded");
        let ev = events(&dir);
        let airplane = ev
            .iter()
            .find(|e| e["action"] == "device.airplane")
            .expect("the airplane command")
            .clone();
        (dir, ev, airplane)
    };
    let (dir, ev, airplane) = record("90s", "waits");
    assert_eq!(airplane["ok"], true, "{airplane}");
    let t = airplane["t"].as_f64().expect("t");
    assert!(
        (8.0..8.5).contains(&t),
        "journaled when the phone took it: {t}"
    );
    assert!(
        ev.iter().any(|e| e["text"].as_str().is_some_and(
            |n| n.starts_with("phone-a: waited 2.") && n.contains("to finish starting")
        )),
        "the wait is journaled"
    );
    let findings = benchctl_detect::analyze::analyze(&dir).expect("analyzed");
    assert_eq!(
        findings.verdict,
        benchctl_detect::analyze::Verdict::Pass,
        "{:#?}",
        findings.duts
    );

    let (_, _, airplane) = record("1s", "times-out");
    assert_eq!(airplane["ok"], false, "{airplane}");
    assert!(
        airplane["detail"]
            .as_str()
            .is_some_and(|d| d.contains("still starting")),
        "{airplane}"
    );
}
