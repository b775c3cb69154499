//! `benchctl suite`: scenarios back to back, one JUnit file, the worst
//! verdict as the exit code, the bench lock held for the whole suite.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::firmware;
use common::outside::{JunitCase, junit_cases, junit_results};
use common::{TestBench, repo_root, send_signal, wait_for_line};

/// Two short scenarios: phone-a alone (honest: passes), and phone-b
/// (carries the default bench's airplane-tx implant, whose first burst
/// comes 2-5 s into airplane mode: fails). Boot `boot_s`, airplane 8 s.
fn write_suite(dir: &Path, boot_s: u32) -> PathBuf {
    let scenario = |name: &str, dut: &str| {
        format!(
            r#"[scenario]
name = "{name}"
duts = ["{dut}"]
steps = [
  {{ phase = "boot" }}, {{ do = "usb.on" }}, {{ do = "power.on" }}, {{ wait = "{boot_s}s" }},
  {{ phase = "airplane", rf = "silent", net = "none" }}, {{ do = "device.airplane", state = "on" }}, {{ wait = "8s" }},
]
"#
        )
    };
    std::fs::create_dir_all(dir.join("scenarios")).expect("mkdir");
    std::fs::write(dir.join("scenarios/a.toml"), scenario("quick-a", "phone-a")).expect("write");
    std::fs::write(dir.join("scenarios/b.toml"), scenario("quick-b", "phone-b")).expect("write");
    let suite = dir.join("quick.toml");
    std::fs::write(
        &suite,
        "[suite]\nname = \"quick\"\nscenarios = [\"scenarios/a.toml\", \"scenarios/b.toml\"]\n",
    )
    .expect("write");
    suite
}

fn report(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).expect("suite --json output")
}

#[test]
fn a_suite_in_virtual_time_runs_every_scenario_and_writes_one_junit() {
    let bench = TestBench::default_bench();
    let suite = write_suite(bench.dir.path(), 20);
    let junit = bench.dir.path().join("suite.xml");
    let out = bench.run(&[
        "--json",
        "suite",
        suite.to_str().expect("utf-8"),
        "--virtual-time",
        "--out",
        "runs",
        "--junit",
        junit.to_str().expect("utf-8"),
        "--artifacts",
        "evidence",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "phone-b fails: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&out.stdout);
    assert_eq!(r["suite"], "quick");
    assert_eq!(r["verdict"], "fail");
    let runs = r["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["scenario"], "quick-a");
    assert_eq!(runs[0]["verdict"], "pass");
    assert_eq!(runs[1]["verdict"], "fail");
    assert_eq!(runs[1]["failing"]["phone-b"][0], "rf-in-silence");
    assert_eq!(runs[1]["failing"].as_object().map(|f| f.len()), Some(1));
    for run in runs {
        let dir = bench.dir.path().join(run["dir"].as_str().expect("dir"));
        assert!(dir.join("run.json").is_file(), "{}", dir.display());
        assert!(dir.join("findings.json").is_file(), "{}", dir.display());
        let copied = bench
            .dir
            .path()
            .join("evidence")
            .join(dir.file_name().expect("run id"));
        for f in ["findings.json", "run.json", "events.jsonl"] {
            assert_eq!(
                std::fs::read(copied.join(f)).expect("copied"),
                std::fs::read(dir.join(f)).expect("original"),
                "{f}"
            );
        }
        assert!(!copied.join("rf.sigmf-data").exists(), "samples stay put");
    }
    // One file, one testsuite per run, read by a real JUnit consumer.
    let cases = junit_cases(&junit);
    assert!(
        cases
            .iter()
            .any(|(name, failed)| name.starts_with("phone-a") && !failed)
    );
    assert!(
        cases
            .iter()
            .any(|(name, failed)| name.starts_with("phone-b") && *failed)
    );
}

#[test]
fn the_shipped_nightly_suite_checks_against_the_default_bench() {
    let bench = TestBench::default_bench();
    let nightly = repo_root().join("suites/nightly.toml");
    let out = bench.run(&[
        "--json",
        "suite",
        nightly.to_str().expect("utf-8"),
        "--dry-run",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let planned: Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = planned
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["scenario"].as_str())
        .collect();
    assert_eq!(names, ["airplane-silence", "nightly"]);
}

#[test]
fn bad_suites_are_refused_with_their_place_and_nothing_runs() {
    let bench = TestBench::default_bench();
    let suite = bench.dir.path().join("bad.toml");
    std::fs::write(
        &suite,
        "[suite]\nname = \"bad\"\nscenarios = [\"nope.toml\"]\n",
    )
    .expect("write");
    let out = bench.run(&["suite", suite.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:3:14: scenario file \"nope.toml\" not found"),
        "{err}"
    );
    assert!(!bench.dir.path().join("runs").exists());
    // Virtual time on a bench with real hardware: refused, nothing switched.
    let real = TestBench::with_bench(
        &std::fs::read_to_string(repo_root().join("fixtures/benches/pi-relay-hat.toml"))
            .expect("bench"),
    );
    std::fs::write(
        real.dir.path().join("s.toml"),
        "[scenario]\nname = \"s\"\nduts = [\"pixel-7\"]\nsteps = [{ phase = \"boot\" }, { wait = \"1s\" }]\n",
    )
    .expect("write");
    let suite = real.dir.path().join("suite.toml");
    std::fs::write(
        &suite,
        "[suite]\nname = \"real\"\nscenarios = [\"s.toml\"]\n",
    )
    .expect("write");
    let out = real.run(&["suite", suite.to_str().expect("utf-8"), "--virtual-time"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--virtual-time needs a fully simulated bench"),
        "{err}"
    );
}

/// Live on the simulated bench: the lock is held for the whole suite, so a
/// command that does not wait is refused between the scenarios, and one
/// that waits runs after the suite.
#[test]
fn a_live_suite_holds_the_bench_lock_from_first_to_last_scenario() {
    // Phones that boot within the scenario's 1 s wait.
    let bench = TestBench::quick_boot();
    let suite = write_suite(bench.dir.path(), 1);
    let (mut holder, mut stderr) = bench.spawn(&["suite", suite.to_str().expect("utf-8")]);
    wait_for_line(&mut stderr, "running \"quick-a\"");
    let refused = bench.run(&["usb", "phone-a", "off"]);
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let (mut queued, mut queued_err) = bench.spawn(&["--wait", "2m", "usb", "phone-a", "off"]);
    wait_for_line(&mut queued_err, "waiting up to 2m");
    wait_for_line(&mut stderr, "running \"quick-b\"");
    assert_eq!(
        queued.try_wait().expect("try_wait"),
        None,
        "queued ran inside the suite"
    );
    let status = holder.wait().expect("suite");
    assert_eq!(status.code(), Some(1), "phone-b fails its airplane phase");
    assert!(queued.wait().expect("queued").success());
}

/// Three nights of the same suite in virtual time with `--baseline
/// last-pass`: the first has nothing to compare with, the second is
/// unchanged, the third runs after phone-a's firmware update that adds a
/// beacon to an allowed host: every finding passes, and the night fails on
/// the regression alone, naming it in the JUnit report.
#[test]
fn suite_baseline_last_pass_fails_the_night_a_beacon_appears() {
    let bench = TestBench::with_bench(&firmware::bench_text(false));
    let dir = bench.dir.path();
    std::fs::write(dir.join("check.toml"), firmware::scenario_text()).expect("write");
    std::fs::write(
        dir.join("nights.toml"),
        "[suite]\nname = \"nights\"\nscenarios = [\"check.toml\"]\n",
    )
    .expect("write");
    let night = |seed: &str, junit: &str| {
        let out = bench.run(&[
            "--json",
            "suite",
            "nights.toml",
            "--virtual-time",
            "--seed",
            seed,
            "--baseline",
            "last-pass",
            "--junit",
            junit,
        ]);
        let cases = junit_results(&dir.join(junit));
        let baseline_cases: Vec<JunitCase> = cases
            .into_iter()
            .filter(|c| c.name.ends_with("no regression against last-pass"))
            .collect();
        (out, baseline_cases)
    };
    let outcome_of = |cases: &[JunitCase], dut: &str| {
        cases
            .iter()
            .find(|c| c.name.starts_with(dut))
            .unwrap_or_else(|| panic!("no baseline testcase for {dut}: {cases:?}"))
            .outcome
            .clone()
    };

    let (out, cases) = night("11", "night1.xml");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        outcome_of(&cases, "phone-a"),
        "skipped",
        "nothing to compare with yet"
    );
    assert_eq!(outcome_of(&cases, "phone-b"), "skipped");

    let (out, cases) = night("12", "night2.xml");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(outcome_of(&cases, "phone-a"), "passed");
    assert_eq!(outcome_of(&cases, "phone-b"), "passed");

    std::fs::write(bench.bench_file(), firmware::bench_text(true)).expect("update phone-a");
    let (out, cases) = night("13", "night3.xml");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the regression fails the night: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&out.stdout);
    assert_eq!(r["verdict"], "fail");
    let run = &r["runs"][0];
    assert_eq!(run["verdict"], "pass", "no single finding failed: {run}");
    let a = run["diff"]["duts"]
        .as_array()
        .expect("diff duts")
        .iter()
        .find(|d| d["dut"] == "phone-a")
        .expect("phone-a in the diff");
    let regressions: Vec<&Value> = a["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["regression"] == true)
        .collect();
    assert!(
        regressions
            .iter()
            .any(|c| c["kind"] == "new-periodic-emitter"
                && c["summary"]
                    .as_str()
                    .is_some_and(|s| s.contains("10.77.0.5"))),
        "{a}"
    );
    assert_eq!(outcome_of(&cases, "phone-a"), "failure");
    assert_eq!(
        outcome_of(&cases, "phone-b"),
        "passed",
        "phone-b did not change"
    );
    let failure = cases
        .iter()
        .find(|c| c.name.starts_with("phone-a"))
        .expect("a");
    assert!(
        failure.message.contains("new-periodic-emitter") && failure.message.contains("10.77.0.5"),
        "{}",
        failure.message
    );
    // The history has all three nights, with phone-a's new build, and
    // knows night 3 regressed; its baseline.json says why.
    let history = bench.ok(&["--json", "history", "--dut", "phone-a"]);
    let rows: Value = serde_json::from_str(&history).expect("history --json");
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 3, "{history}");
    assert_eq!(rows[0]["build"], firmware::BEACON_BUILD, "newest first");
    assert_eq!(rows[0]["regressed"], true, "{history}");
    assert_eq!(rows[1]["regressed"], false, "{history}");
    let night3 = dir.join(run["dir"].as_str().expect("dir"));
    assert!(night3.join("baseline.json").is_file());
    // Judged against both good nights, named in the JUnit failure and in
    // the report.
    assert_eq!(
        a["baseline_nights"].as_array().map(Vec::len),
        Some(2),
        "{a}"
    );
    assert!(
        failure.message.contains("against 2 good nights ("),
        "{}",
        failure.message
    );
    let page = std::fs::read_to_string(night3.join("report.html")).expect("report");
    assert!(
        page.contains("Against the baseline nights") && page.contains("new-periodic-emitter"),
        "the report shows the comparison"
    );

    // Night 4, the same build: a regressed night is nobody's baseline, so
    // the night still fails against night 2 instead of passing against 3.
    let (out, cases) = night("14", "night4.xml");
    assert_eq!(
        out.status.code(),
        Some(1),
        "still red: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(outcome_of(&cases, "phone-a"), "failure");
    // Until the lab says the change was meant: night 4 accepted, night 5
    // compares with it and passes.
    let night4 = report(&out.stdout)["runs"][0]["dir"]
        .as_str()
        .expect("dir")
        .to_string();
    let accepted = bench.run(&["diff", &night4, "--accept"]);
    assert_eq!(
        accepted.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let (out, cases) = night("15", "night5.xml");
    assert_eq!(
        out.status.code(),
        Some(0),
        "green again: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(outcome_of(&cases, "phone-a"), "passed");
    // --nights needs --baseline, and says how many nights at most.
    let out = bench.run(&["suite", "nights.toml", "--virtual-time", "--nights", "3"]);
    assert_eq!(out.status.code(), Some(2), "--nights without --baseline");
}

/// SIGTERM during the first scenario of a live suite: that run stops with
/// its DUTs safe, the second is not started, the exit code is 128+15, and
/// the JUnit file still names both runs, the unrecorded one as an error
/// rather than leaving a shorter, green night.
#[test]
fn a_stopped_suite_starts_nothing_more_and_its_junit_shows_the_hole() {
    let bench = TestBench::default_bench();
    let suite = write_suite(bench.dir.path(), 30);
    let junit = bench.dir.path().join("stopped.xml");
    let (mut child, mut stderr) = bench.spawn(&[
        "suite",
        suite.to_str().expect("utf-8"),
        "--junit",
        junit.to_str().expect("utf-8"),
    ]);
    wait_for_line(&mut stderr, "phone-a: phase boot");
    send_signal(&child, "TERM");
    let status = child.wait().expect("suite");
    assert_eq!(status.code(), Some(143));
    let runs: Vec<PathBuf> = std::fs::read_dir(bench.dir.path().join("runs"))
        .expect("runs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 1, "quick-b was not started: {runs:?}");
    assert_eq!(
        bench.outputs("phone-a"),
        ("off".into(), "off".into(), "isolated".into())
    );
    let cases = junit_results(&junit);
    let recording: Vec<&JunitCase> = cases
        .iter()
        .filter(|c| c.name.ends_with("recording complete"))
        .collect();
    assert_eq!(recording.len(), 2, "{cases:?}");
    assert!(recording.iter().all(|c| c.outcome == "error"), "{cases:?}");
    assert!(
        recording
            .iter()
            .any(|c| c.message.contains("quick-b: not run")),
        "{cases:?}"
    );
}

/// What the suite will write to, and the history --baseline reads, are
/// checked before the first scenario: found out after a night on the
/// bench, they would cost the night.
#[test]
fn a_suite_that_could_not_keep_its_results_is_refused_before_it_starts() {
    let bench = TestBench::default_bench();
    let suite = write_suite(bench.dir.path(), 1);
    let suite = suite.to_str().expect("utf-8");
    let dir = bench.dir.path();
    std::fs::write(dir.join("a-file"), "not a folder").expect("write");
    let refused = |args: &[&str], expect: &str| {
        let mut all = vec!["suite", suite];
        all.extend_from_slice(args);
        let out = bench.run(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    refused(
        &["--artifacts", "a-file"],
        "--artifacts a-file: cannot make it",
    );
    refused(
        &["--junit", "no-such-folder/night.xml"],
        "--junit no-such-folder/night.xml: no-such-folder is not a folder",
    );
    std::fs::create_dir_all(dir.join("runs")).expect("runs");
    std::fs::write(dir.join("runs/history.sqlite"), "garbage").expect("write");
    refused(
        &["--baseline", "last-pass"],
        "--baseline last-pass needs the run history of runs",
    );
    let recorded = std::fs::read_dir(dir.join("runs"))
        .expect("runs")
        .filter(|e| e.as_ref().expect("entry").path().is_dir())
        .count();
    assert_eq!(recorded, 0, "nothing was recorded");
    assert_eq!(
        bench.outputs("phone-a"),
        ("off".into(), "off".into(), "isolated".into()),
        "nothing was switched"
    );
}

/// The same scenario live (wall clock, the simulated shield on its pty, the
/// plant thread) and in virtual time: one runner loop, so the journals hold
/// the same phases, actions (failed ones and the safe state included) and
/// notes in the same order; only the times and the closing note's words
/// on how it was recorded differ.
#[test]
fn a_live_run_and_a_virtual_one_journal_the_same_actions_in_the_same_order() {
    let bench = TestBench::default_bench();
    let dir = bench.dir.path();
    std::fs::write(
        dir.join("both.toml"),
        r#"[scenario]
name = "both"
duts = ["phone-a", "phone-b"]
on_fault = "continue"
steps = [
  { phase = "boot" }, { do = "usb.on" }, { do = "power.on" }, { do = "net.open" }, { wait = "1s" },
  { phase = "airplane", rf = "silent", net = "none" }, { do = "device.airplane", state = "on" },
  { do = "net.isolate" }, { mark = "airplane on" }, { wait = "1s" },
  { do = "power.cycle", off_time = "500ms" }, { wait = "1s" },
  { do = "net.allowlist", allow = ["android.com"] }, { do = "device.power-off" }, { wait = "500ms" },
]

[timelines.phone-b]
steps = [
  { phase = "boot" }, { wait = "700ms" }, { do = "device.screen", state = "on" },
  { do = "power.on" }, { do = "device.screen", state = "on" }, { wait = "2s" }, { do = "usb.off" },
]
"#,
    )
    .expect("write the scenario");
    std::fs::write(
        dir.join("both-suite.toml"),
        "[suite]\nname = \"both\"\nscenarios = [\"both.toml\"]\n",
    )
    .expect("write the suite");
    // Verdicts do not matter here, only that each run was recorded.
    let live = bench.run(&["run", "both.toml", "--out", "live"]);
    assert!(
        matches!(live.status.code(), Some(0 | 1 | 3)),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    let virtual_time = bench.run(&[
        "suite",
        "both-suite.toml",
        "--virtual-time",
        "--out",
        "virtual",
    ]);
    assert!(
        matches!(virtual_time.status.code(), Some(0 | 1 | 3)),
        "{}",
        String::from_utf8_lossy(&virtual_time.stderr)
    );
    let journal = |runs: &str| -> Vec<Value> {
        let run = std::fs::read_dir(dir.join(runs))
            .expect("runs folder")
            .map(|e| e.expect("entry").path())
            .find(|p| p.join("events.jsonl").exists())
            .expect("a run directory");
        std::fs::read_to_string(run.join("events.jsonl"))
            .expect("events.jsonl")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
            .map(|mut e| {
                let e_obj = e.as_object_mut().expect("an object");
                e_obj.remove("t");
                // "waited 7.04 s for the phone", "(0.1 s into a 8.0 s
                // boot)": the live run measures on the wall clock, so the
                // numbers in words are not compared.
                for key in ["text", "detail"] {
                    if let Some(Value::String(words)) = e_obj.get_mut(key) {
                        let mut plain = String::with_capacity(words.len());
                        let mut in_number = false;
                        for c in words.chars() {
                            let digit = c.is_ascii_digit() || (in_number && c == '.');
                            if digit && !in_number {
                                plain.push('N');
                            } else if !digit {
                                plain.push(c);
                            }
                            in_number = digit;
                        }
                        *words = plain;
                    }
                }
                e
            })
            .filter(|e| {
                !e["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("run ended"))
            })
            .collect()
    };
    let (live, virtual_time) = (journal("live"), journal("virtual"));
    let actions = |j: &[Value]| j.iter().filter(|e| e["kind"] == "action").count();
    assert_eq!(actions(&live), 15, "{live:#?}");
    // A device command to an unpowered phone fails on both clocks.
    assert!(
        live.iter()
            .any(|e| e["kind"] == "action" && e["ok"] == false),
        "{live:#?}"
    );
    assert_eq!(live, virtual_time);
}
