//! The run history and `benchctl diff` on runs recorded by the simulated
//! lab in virtual time (`sim::offline`): a firmware update that adds a
//! beacon to an allowed host fails no single check, and the diff against
//! last night must name it; history lists and filters runs; copied-in runs
//! are indexed; a damaged index is a clear error; concurrent writers land.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use benchctl::history::{Baseline, ChangeKind, Index, compare};
use serde_json::Value;

mod common;
use common::firmware::{BEACON_BUILD, bench_text, scenario_text};
use common::{TestBench, repo_root};

/// Record one run into `runs/<name>` starting `hours` after a fixed
/// instant, analyze it, write its findings.json and index it, as
/// `benchctl run` does.
fn record(runs: &Path, name: &str, beacon: bool, seed: u64, hours: u64) -> PathBuf {
    let bench = benchctl::config::parse(Path::new("bench.toml"), &bench_text(beacon))
        .expect("bench parses");
    let scenario =
        benchctl::scenario::parse(Path::new("history-check.toml"), &scenario_text(), &bench)
            .expect("scenario parses");
    let dir = runs.join(name);
    let mut options = benchctl::bench::VirtualOptions::new(seed);
    options.started_utc += Duration::from_secs(3600 * hours);
    let report = benchctl::runner::record_in_virtual_time(&bench, &scenario, &dir, &options)
        .expect("recorded");
    assert!(report.complete);
    let findings = benchctl_detect::analyze::analyze(&dir).expect("analyzed");
    benchctl_detect::analyze::write(&dir, &findings).expect("findings.json");
    Index::open(runs)
        .expect("index opens")
        .add_run(&dir, &findings)
        .expect("indexed");
    dir
}

fn json_run_id(dir: &Path) -> String {
    let run: Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).expect("run.json"))
            .expect("JSON");
    run["run_id"].as_str().expect("run_id").to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[test]
fn a_firmware_update_that_adds_a_beacon_shows_in_the_diff() {
    let clock = std::time::Instant::now();
    let bench = TestBench::default_bench();
    let runs = bench.dir.path().join("runs");
    std::fs::create_dir(&runs).expect("runs");
    record(&runs, "night1", false, 11, 0);
    let night2 = record(&runs, "night2", false, 12, 24);
    // A night in which phone-a failed (its findings say so): never
    // phone-a's baseline, still phone-b's.
    let failed = runs.join("night2b");
    let bench_config =
        benchctl::config::parse(Path::new("bench.toml"), &bench_text(false)).expect("bench parses");
    let scenario = benchctl::scenario::parse(
        Path::new("history-check.toml"),
        &scenario_text(),
        &bench_config,
    )
    .expect("scenario parses");
    let mut options = benchctl::bench::VirtualOptions::new(14);
    options.started_utc += Duration::from_secs(3600 * 28);
    benchctl::runner::record_in_virtual_time(&bench_config, &scenario, &failed, &options)
        .expect("recorded");
    let mut findings = benchctl_detect::analyze::analyze(&failed).expect("analyzed");
    let a = findings
        .duts
        .iter_mut()
        .find(|d| d.dut == "phone-a")
        .expect("phone-a");
    a.verdict = benchctl_detect::analyze::Verdict::Fail;
    findings.verdict = benchctl_detect::analyze::Verdict::Fail;
    Index::open(&runs)
        .expect("index")
        .add_run(&failed, &findings)
        .expect("indexed");
    let night3 = record(&runs, "night3", true, 13, 48);
    eprintln!("four runs recorded and indexed in {:?}", clock.elapsed());

    let index = Index::open(&runs).expect("index");
    // An unchanged phone on another night: nothing to report.
    let quiet = compare(&index, "night2", Baseline::LastPass).expect("diff");
    assert!(!quiet.has_regression(), "{}", quiet.render());
    assert_eq!(quiet.duts[0].baseline.as_deref(), Some("night1"));

    let diff = compare(&index, "night3", Baseline::LastPass).expect("diff");
    let text = diff.render();
    eprintln!("{text}");
    let a = diff.duts.iter().find(|d| d.dut == "phone-a").expect("a");
    let b = diff.duts.iter().find(|d| d.dut == "phone-b").expect("b");
    // Per DUT: phone-a failed in night2b, phone-b passed there; each is
    // judged against all its good nights, the latest first.
    assert_eq!(a.baseline.as_deref(), Some("night2"), "{text}");
    assert_eq!(b.baseline.as_deref(), Some("night2b"), "{text}");
    let nights = |d: &benchctl::history::DutDiff| -> Vec<String> {
        d.baseline_nights.iter().map(|n| n.dir.clone()).collect()
    };
    assert_eq!(nights(a), ["night2", "night1"], "{text}");
    assert_eq!(nights(b), ["night2b", "night2", "night1"], "{text}");
    assert!(
        text.contains("phone-a  against 2 good nights, the latest first: night2 and night1"),
        "{text}"
    );
    // At most --nights of them.
    let one = benchctl::history::diff::compare_over(&index, "night3", Baseline::LastPass, 1)
        .expect("diff");
    assert!(
        one.duts.iter().all(|d| d.baseline_nights.len() == 1),
        "{}",
        one.render()
    );
    assert!(b.changes.iter().all(|c| !c.regression), "{text}");
    let of = |kind: ChangeKind| a.changes.iter().find(|c| c.kind == kind);
    let build = of(ChangeKind::BuildChanged).expect("build change named");
    assert!(!build.regression);
    assert!(build.summary.contains(BEACON_BUILD), "{}", build.summary);
    let timer = of(ChangeKind::NewPeriodicEmitter).expect("new timer named");
    assert!(timer.regression);
    assert!(
        timer.summary.contains("10.77.0.5:443/tcp") && timer.summary.contains("every 1"),
        "{}",
        timer.summary
    );
    assert_eq!(timer.phase.as_deref(), Some("online"));
    let dest = of(ChangeKind::NewDestination).expect("new destination named");
    assert!(
        dest.summary.contains("10.77.0.5:443/tcp"),
        "{}",
        dest.summary
    );
    assert!(diff.has_regression());
    // No single finding failed phone-a: the diff is what catches it.
    let verdicts = benchctl::history::RunVerdict::of_run(&night3).expect("findings.json");
    assert_eq!(verdicts.verdict, "pass", "{verdicts:?}");

    // The same through the binary: exit 1, the changes in words and JSON.
    let out = bench.run(&["diff", night3.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for words in [
        "new-periodic-emitter",
        "new-destination",
        "build-changed",
        "REGRESSION",
    ] {
        assert!(stdout.contains(words), "{words}: {stdout}");
    }
    let out = bench.run(&[
        "diff",
        "night3",
        "--baseline",
        "night1",
        "--runs",
        runs.to_str().expect("utf-8"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).expect("diff JSON");
    assert!(
        json["duts"]
            .as_array()
            .expect("duts")
            .iter()
            .all(|d| d["baseline"] == "night1")
    );
    assert!(
        json["duts"][0]["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .any(|c| c["kind"] == "new-periodic-emitter" && c["regression"] == true),
        "{json}"
    );
    let out = bench.run(&["diff", night2.to_str().expect("utf-8")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // --nights: how many good nights at most, named in the JSON.
    let out = bench.run(&[
        "diff",
        night3.to_str().expect("utf-8"),
        "--nights",
        "1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).expect("diff JSON");
    assert_eq!(json["nights"], 1);
    assert_eq!(
        json["duts"][1]["baseline_nights"][0]["dir"], "night2b",
        "{json}"
    );
    assert_eq!(
        json["duts"][1]["baseline_nights"].as_array().map(Vec::len),
        Some(1)
    );
    let out = bench.run(&["diff", night3.to_str().expect("utf-8"), "--nights", "0"]);
    assert_eq!(out.status.code(), Some(2), "at least one night");
    let out = bench.run(&[
        "diff",
        "no-such-run",
        "--runs",
        runs.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no run \"no-such-run\""));
    // A mistyped path is named as such, not looked up in ./runs.
    let typo = runs.join("night9");
    let out = bench.run(&["diff", typo.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}: no such run directory", typo.display())),
        "{err}"
    );
    let elsewhere = bench.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    let out = bench
        .cmd(&["diff", "night3"])
        .current_dir(&elsewhere)
        .output()
        .expect("benchctl runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no runs folder runs to look up run \"night3\" in"),
        "{err}"
    );
    // The exit says what it was: a regression, not a verdict.
    let out = bench.run(&["diff", night3.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    let regressions = a.changes.iter().filter(|c| c.regression).count();
    assert!(
        err.contains(&format!("{regressions} regression(s) against the baseline")),
        "{err}"
    );

    // History: newest first, one line per DUT, filters.
    let rows = |args: &[&str]| -> Vec<Value> {
        let mut all = vec!["history", "--json", "--runs", runs.to_str().expect("utf-8")];
        all.extend_from_slice(args);
        serde_json::from_str::<Value>(&bench.ok(&all))
            .expect("history JSON")
            .as_array()
            .expect("rows")
            .clone()
    };
    let all = rows(&[]);
    let order: Vec<&str> = all.iter().filter_map(|r| r["dir"].as_str()).collect();
    assert_eq!(
        order,
        [
            "night3", "night3", "night2b", "night2b", "night2", "night2", "night1", "night1"
        ]
    );
    let only_a = rows(&["--dut", "phone-a", "--limit", "2"]);
    assert_eq!(only_a.len(), 2);
    assert!(only_a.iter().all(|r| r["dut"] == "phone-a"));
    assert_eq!(only_a[0]["build"], BEACON_BUILD);
    assert_eq!(only_a[1]["verdict"], "fail");
    assert!(rows(&["--scenario", "nightly"]).is_empty());
    let text = bench.ok(&["history", "--runs", runs.to_str().expect("utf-8")]);
    assert!(
        text.contains("WHEN (UTC)") && text.contains(BEACON_BUILD),
        "{text}"
    );
    eprintln!("whole test in {:?}", clock.elapsed());
}

#[test]
fn runs_copied_in_are_indexed_and_reindexing_replaces() {
    let bench = TestBench::default_bench();
    let runs = bench.dir.path().join("runs");
    for name in ["honest", "fake-off"] {
        copy_dir(
            &repo_root().join("fixtures/runs").join(name),
            &runs.join(name),
        );
    }
    let out: Value = serde_json::from_str(&bench.ok(&[
        "history",
        "--json",
        "--runs",
        runs.to_str().expect("utf-8"),
    ]))
    .expect("JSON");
    let rows = out.as_array().expect("rows");
    assert_eq!(rows.len(), 4, "{out}");
    let b = rows
        .iter()
        .find(|r| r["dir"] == "fake-off" && r["dut"] == "phone-b")
        .expect("fake-off phone-b");
    assert_eq!(b["verdict"], "fail");
    assert!(b["failing"].as_u64().expect("count") >= 1);
    // Indexing a run again replaces its rows.
    let mut index = Index::open(&runs).expect("index");
    index.add_run_dir(&runs.join("honest")).expect("again");
    index.add_run_dir(&runs.join("honest")).expect("and again");
    let rows = index.rows(&Default::default()).expect("rows");
    assert_eq!(rows.iter().filter(|r| r.dir == "honest").count(), 2);
    let profile = index
        .profile(&index.run("honest").expect("query").expect("honest indexed"))
        .expect("profile");
    let a = profile.duts.iter().find(|d| d.dut == "phone-a").expect("a");
    let online = a
        .phases
        .iter()
        .find(|p| p.phase == "online")
        .expect("online");
    assert!(!online.destinations.is_empty(), "{online:?}");
    assert!(online.rf.iter().any(|c| c.bursts > 0), "{online:?}");
    assert!(online.current.iter().all(|c| c.idle_a > 0.01), "{online:?}");
    drop(index);
    // A run from elsewhere compared with this folder's runs is indexed for
    // the comparison only: it does not join the folder's history.
    let elsewhere = bench.dir.path().join("elsewhere");
    copy_dir(
        &repo_root().join("fixtures/runs/airplane-tx"),
        &elsewhere.join("visitor"),
    );
    let out = bench.run(&[
        "diff",
        elsewhere.join("visitor").to_str().expect("utf-8"),
        "--baseline",
        "honest",
        "--runs",
        runs.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "airplane-tx regressed against honest: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let listed = bench.ok(&["history", "--runs", runs.to_str().expect("utf-8")]);
    assert!(!listed.contains("visitor"), "{listed}");
    // A run from elsewhere named like one of the folder's runs is refused,
    // not answered with the folder's run.
    copy_dir(
        &repo_root().join("fixtures/runs/airplane-tx"),
        &elsewhere.join("honest"),
    );
    let out = bench.run(&[
        "diff",
        elsewhere.join("honest").to_str().expect("utf-8"),
        "--runs",
        runs.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already has a run named honest"), "{err}");
    // A copy under another name shares the run id: asked by run id, the
    // two are named rather than one picked silently.
    for copy in ["night-a", "night-b"] {
        copy_dir(&elsewhere.join("visitor"), &runs.join(copy));
    }
    let run_id = json_run_id(&runs.join("night-a"));
    let out = bench.run(&["diff", &run_id, "--runs", runs.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "run id \"{run_id}\" names 2 run directories: night-a, night-b"
        )),
        "{err}"
    );
}

#[test]
fn a_damaged_index_is_a_clear_error() {
    let bench = TestBench::default_bench();
    let runs = bench.dir.path().join("runs");
    std::fs::create_dir(&runs).expect("runs");
    std::fs::write(runs.join("history.sqlite"), vec![0x5a; 8192]).expect("garbage");
    let out = bench.run(&["history", "--runs", runs.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("history.sqlite: not a usable run history") && err.contains("move it aside"),
        "{err}"
    );
    let out = bench.run(&["history", "--runs", "no-such-folder"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such runs folder"));
}

#[test]
fn two_processes_indexing_at_once_both_land() {
    let bench = TestBench::default_bench();
    let runs = bench.dir.path().join("runs");
    for name in ["honest", "airplane-tx", "isolated-talker"] {
        copy_dir(
            &repo_root().join("fixtures/runs").join(name),
            &runs.join(name),
        );
    }
    // Both find every run unindexed and write them all, each run in its
    // own transaction, at the same time.
    let runs_arg = runs.to_str().expect("utf-8");
    let children: Vec<_> = (0..2)
        .map(|_| {
            bench
                .cmd(&["history", "--runs", runs_arg])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let index = Index::open(&runs).expect("index");
    let mut dirs: Vec<String> = index
        .rows(&Default::default())
        .expect("rows")
        .into_iter()
        .map(|r| r.dir)
        .collect();
    dirs.sort();
    dirs.dedup();
    assert_eq!(dirs, ["airplane-tx", "honest", "isolated-talker"]);
    assert_eq!(index.rows(&Default::default()).expect("rows").len(), 6);
}

#[test]
fn benchctl_run_adds_its_run_and_a_broken_index_never_fails_the_run() {
    let bench = TestBench::default_bench();
    let scenario = bench.dir.path().join("quick.toml");
    std::fs::write(
        &scenario,
        r#"[scenario]
name = "quick"
duts = ["phone-a"]
steps = [ { phase = "boot" }, { do = "power.on" }, { wait = "2s" } ]
"#,
    )
    .expect("scenario");
    let runs = bench.dir.path().join("runs");
    std::fs::create_dir(&runs).expect("runs");
    let args = [
        "run",
        scenario.to_str().expect("utf-8"),
        "--out",
        runs.to_str().expect("utf-8"),
    ];
    // A damaged index: the run still records, passes and says why it
    // was not indexed.
    std::fs::write(
        runs.join("history.sqlite"),
        b"not a database, not even close",
    )
    .expect("junk");
    let out = bench.run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("not added to the run history"), "{stderr}");
    std::fs::remove_file(runs.join("history.sqlite")).expect("moved aside");
    let out = bench.run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("dir"),
    );
    // Indexed by `run` itself, before any `history` catches up.
    let index = Index::open(&runs).expect("index");
    let rows = index.rows(&Default::default()).expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        Some(rows[0].dir.as_str()),
        dir.file_name().and_then(|n| n.to_str())
    );
    assert_eq!(
        rows[0].build.as_deref(),
        Some("sim-android 14 (UP1A.231005.007)")
    );
    // `history` then finds the first run too (recorded while the index was
    // unusable).
    let all: Value = serde_json::from_str(&bench.ok(&[
        "history",
        "--json",
        "--runs",
        runs.to_str().expect("utf-8"),
    ]))
    .expect("JSON");
    assert_eq!(all.as_array().expect("rows").len(), 2, "{all}");
}

/// The thresholds against night-to-night wobble: eight honest nights of
/// this file's scenario, each phone with another seed (other apps waking at
/// other times, other CDN hosts), diffed against `last-pass` as a nightly
/// suite would: no night may regress, the second (judged against one
/// night) included. About 25 s in a debug build, so run by hand after
/// changing a rule in `history::diff`
/// (`tests/regression_nights.rs` runs eight `backdoor-hunt` nights on
/// every test run).
#[test]
#[ignore = "slow in a debug build; run after changing diff rules"]
fn honest_nights_are_quiet_once_the_history_knows_the_phones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let runs = tmp.path();
    for n in 0..8u64 {
        let text = bench_text(false)
            .replacen(
                r#"device = { kind = "sim" }"#,
                &format!(r#"device = {{ kind = "sim", seed = {} }}"#, 100 + n),
                1,
            )
            .replacen(
                "implants = []",
                &format!("seed = {}\nimplants = []", 200 + n),
                1,
            );
        let bench = benchctl::config::parse(Path::new("bench.toml"), &text).expect("bench");
        let scenario =
            benchctl::scenario::parse(Path::new("history-check.toml"), &scenario_text(), &bench)
                .expect("scenario");
        let name = format!("night{n}");
        let dir = runs.join(&name);
        let mut options = benchctl::bench::VirtualOptions::new(n);
        options.started_utc += Duration::from_secs(3600 * 24 * n);
        benchctl::runner::record_in_virtual_time(&bench, &scenario, &dir, &options)
            .expect("recorded");
        let findings = benchctl_detect::analyze::analyze(&dir).expect("analyzed");
        let mut index = Index::open(runs).expect("index");
        index.add_run(&dir, &findings).expect("indexed");
        let diff = compare(&index, &name, Baseline::LastPass).expect("diff");
        eprintln!("{}", diff.render());
        assert!(!diff.has_regression(), "{}", diff.render());
    }
}
