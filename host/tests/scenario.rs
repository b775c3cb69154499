//! Scenario files: golden messages for mistakes, the shipped scenarios, and
//! `run --dry-run` through the binary.

mod common;

use std::path::Path;

use common::TestBench;

fn bench() -> benchctl::config::BenchConfig {
    benchctl::config::load(&common::repo_root().join("bench.toml")).expect("default bench")
}

fn errors(text: &str) -> String {
    match benchctl::scenario::parse(Path::new("s.toml"), text, &bench()) {
        Ok(s) => panic!("expected errors, got {s:?}"),
        Err(e) => e.to_string(),
    }
}

const HEAD: &str = "[scenario]\nname = \"t\"\nduts = [\"phone-a\"]\nsteps = [\n";

#[test]
fn shipped_scenarios_are_valid_on_the_default_bench() {
    let dir = common::repo_root().join("scenarios");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("scenarios/") {
        let path = entry.expect("entry").path();
        let s = benchctl::scenario::load(&path, &bench()).unwrap_or_else(|e| panic!("{e}"));
        names.push(s.name.clone());
        if s.name == "backdoor-hunt" {
            // The demo must fit in a minute of wall time.
            assert!(s.nominal_duration().as_secs_f64() <= 60.0);
            assert_eq!(s.timelines.len(), 2);
        }
    }
    names.sort();
    assert_eq!(names, ["airplane-silence", "backdoor-hunt", "nightly"]);
}

#[test]
fn unknown_action_suggests_the_right_one() {
    assert_eq!(
        errors(&format!("{HEAD}  {{ do = \"power.of\" }},\n]\n")),
        "s.toml:5:10: unknown action `power.of`\n  help: did you mean `power.off`?"
    );
}

#[test]
fn device_actions_need_a_state() {
    assert_eq!(
        errors(&format!("{HEAD}  {{ do = \"device.airplane\" }},\n]\n")),
        "s.toml:5:10: `device.airplane` needs `state`\n  help: write { do = \"device.airplane\", state = \"on\" }"
    );
    assert_eq!(
        errors(&format!(
            "{HEAD}  {{ do = \"device.airplane\", state = \"yes\" }},\n]\n"
        )),
        "s.toml:5:37: state must be \"on\" or \"off\", not \"yes\""
    );
}

#[test]
fn a_dut_not_on_the_bench() {
    assert_eq!(
        errors("[scenario]\nname = \"t\"\nduts = [\"phone-c\"]\nsteps = [{ wait = \"1s\" }]\n"),
        "s.toml:3:9: no DUT named \"phone-c\" on bench \"sim-lab\"\n  help: did you mean \"phone-a\"?"
    );
}

#[test]
fn steps_are_one_thing_each() {
    let e = errors(&format!(
        "{HEAD}  {{ do = \"power.on\", wait = \"1s\" }},\n  {{ }},\n]\n"
    ));
    assert!(
        e.contains(
            "s.toml:5:3: a step is one of `do`, `wait`, `mark`, `phase`, not several: split it"
        ),
        "{e}"
    );
    assert!(
        e.contains("s.toml:6:3: a step needs one of `do`, `wait`, `mark`, `phase`"),
        "{e}"
    );
}

#[test]
fn phase_expectations_are_checked() {
    let e = errors(&format!(
        "{HEAD}  {{ phase = \"p\", net = \"allowlist\" }},\n  {{ phase = \"q\", rf = \"quiet\" }},\n  {{ phase = \"r\", allow = [\"x.org\"] }},\n  {{ phase = \"s\", net = \"allowlist\", allow = [\"not a name\"] }},\n  {{ phase = \"t\", off_current_a = 0.01 }},\n]\n"
    ));
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines[0], "s.toml:5:13: net = \"allowlist\" needs `allow`",
        "{e}"
    );
    assert_eq!(
        lines[2], "s.toml:6:23: rf must be \"silent\" or \"any\", not \"quiet\"",
        "{e}"
    );
    assert_eq!(
        lines[3], "s.toml:7:26: `allow` only applies with net = \"allowlist\"",
        "{e}"
    );
    assert_eq!(
        lines[4],
        "s.toml:8:46: allow entry \"not a name\": character ' ' is not allowed in a DNS name (letters, digits, '-' and '_' are)",
        "{e}"
    );
    assert_eq!(
        lines[5], "s.toml:9:34: `off_current_a` only applies with power = \"off\"",
        "{e}"
    );
}

#[test]
fn bad_durations_and_misplaced_keys() {
    let e = errors(&format!(
        "{HEAD}  {{ wait = \"20\" }},\n  {{ do = \"power.on\", off_time = \"3s\" }},\n  {{ do = \"power.cycle\", off_time = \"3 s\" }},\n]\n"
    ));
    assert!(e.contains("s.toml:5:12: wait: `20` has no unit"), "{e}");
    assert!(
        e.contains("s.toml:6:33: `off_time` belongs to a `power.cycle` step, not this one"),
        "{e}"
    );
    assert!(
        e.contains("s.toml:7:36: off_time: `3 s` has a space in it"),
        "{e}"
    );
}

#[test]
fn actions_need_the_wiring_on_the_bench() {
    let bench = benchctl::config::parse(
        Path::new("bench.toml"),
        "[bench]\nname = \"b\"\n\n[duts.phone]\nmodel = \"x\"\n",
    )
    .expect("bench");
    let e = benchctl::scenario::parse(
        Path::new("s.toml"),
        "[scenario]\nname = \"t\"\nduts = [\"phone\"]\nsteps = [{ do = \"usb.on\" }, { do = \"device.reboot\" }]\n",
        &bench,
    )
    .expect_err("no wiring")
    .to_string();
    assert!(
        e.contains(
            "s.toml:4:17: `usb.on` for DUT \"phone\", which has no a USB hub port on bench \"b\""
        ) || e.contains(
            "s.toml:4:17: `usb.on` for DUT \"phone\", which has no USB hub port on bench \"b\""
        ),
        "{e}"
    );
    assert!(e.contains("`device.reboot` for DUT \"phone\""), "{e}");
}

#[test]
fn per_dut_timelines_run_in_parallel() {
    let s = benchctl::scenario::parse(
        Path::new("s.toml"),
        "[scenario]\nname = \"t\"\nduts = [\"phone-a\", \"phone-b\"]\nsteps = [{ wait = \"10s\" }]\n\n[timelines.phone-b]\nsteps = [{ do = \"power.cycle\", off_time = \"5s\" }, { wait = \"20s\" }]\n",
        &bench(),
    )
    .expect("valid");
    assert_eq!(s.timelines[0].nominal_duration().as_secs(), 10);
    assert_eq!(s.timelines[1].nominal_duration().as_secs(), 25);
    assert_eq!(s.nominal_duration().as_secs(), 25);
    let e = errors(
        "[scenario]\nname = \"t\"\nduts = [\"phone-a\"]\nsteps = [{ wait = \"1s\" }]\n\n[timelines.phone-b]\nsteps = [{ wait = \"1s\" }]\n",
    );
    assert!(
        e.contains("s.toml:6:12: timeline for \"phone-b\", which `scenario.duts` does not list"),
        "{e}"
    );
}

#[test]
fn dry_run_prints_the_timeline_and_touches_nothing() {
    let tb = TestBench::default_bench();
    let scenario = common::repo_root().join("scenarios/backdoor-hunt.toml");
    let scenario = scenario.to_str().expect("utf-8");
    let out = tb.ok(&["run", scenario, "--dry-run"]);
    assert!(out.contains("scenario \"backdoor-hunt\""), "{out}");
    assert!(out.contains("43.0s  phone-b  device.power-off"), "{out}");
    let v: serde_json::Value =
        serde_json::from_str(&tb.ok(&["run", scenario, "--dry-run", "--json"])).expect("json");
    assert_eq!(v["nominal_duration_s"], 55.0);
    let soft_off = v["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|s| s["name"] == "soft-off")
        .expect("soft-off phase");
    assert_eq!(soft_off["expect"]["power"], "off");
    assert_eq!(soft_off["expect"]["off_current_a"], 0.005);
    assert!(
        !tb.state_dir().join("sim-lab.json").exists(),
        "nothing switched"
    );
}

#[test]
fn a_broken_scenario_runs_nothing() {
    let tb = TestBench::default_bench();
    let path = tb.dir.path().join("broken.toml");
    std::fs::write(
        &path,
        "[scenario]\nname = \"t\"\nduts = [\"phone-a\"]\nsteps = [{ do = \"power.onn\" }]\n",
    )
    .expect("write");
    let out = tb.run(&["run", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.toml:4:17: unknown action `power.onn`"),
        "{err}"
    );
    assert!(
        !tb.state_dir().join("sim-lab.json").exists(),
        "nothing switched"
    );
}

/// `run --dry-run` reads as a table a person can scan (phase expectations
/// in words, long details cut), and its `--json` names actions as the
/// scenario file does (`net.isolate`, not `net-isolate`).
#[test]
fn the_dry_run_speaks_the_files_language() {
    let tb = TestBench::default_bench();
    let scenario = common::repo_root().join("scenarios/backdoor-hunt.toml");
    let scenario = scenario.to_str().expect("utf-8");
    let text = tb.ok(&["run", scenario, "--dry-run"]);
    let widest = text
        .lines()
        .filter(|l| l.ends_with(|c: char| c.is_ascii_digit()) && l.contains(" line "))
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    assert!((80..=120).contains(&widest), "{widest} columns:\n{text}");
    assert!(text.contains("allowlist of 6 (gstatic.com"), "{text}");
    assert!(!text.contains("{\"net\""), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&tb.ok(&["--json", "run", scenario, "--dry-run"])).expect("JSON");
    let steps = json["scenario"]["timelines"][0]["steps"]
        .as_array()
        .expect("steps");
    let actions: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["action"]["do"].as_str())
        .collect();
    assert!(actions.contains(&"net.isolate"), "{actions:?}");
    assert!(actions.contains(&"device.airplane"), "{actions:?}");
    let airplane = steps
        .iter()
        .find(|s| s["action"]["do"] == "device.airplane")
        .expect("airplane step");
    assert_eq!(airplane["action"]["state"], "on");
}

/// A phase the bench cannot measure is said before the run (`--dry-run`,
/// in words and in JSON), not found out from an incomplete verdict after.
#[test]
fn the_dry_run_warns_of_expectations_nothing_measures() {
    let tb = TestBench::with_bench(
        "[bench]\nname = \"bare\"\n\n[relays.r]\nkind = \"sim\"\nchannels = 1\n\n[duts.phone]\nmodel = \"x\"\npower = { relay = \"r\", channel = 1 }\n",
    );
    std::fs::write(
        tb.dir.path().join("s.toml"),
        "[scenario]\nname = \"s\"\nduts = [\"phone\"]\nsteps = [{ phase = \"airplane\", rf = \"silent\", net = \"none\" }, { wait = \"1s\" }]\n",
    )
    .expect("scenario");
    let out = tb.run(&["run", "s.toml", "--dry-run"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("phone phase \"airplane\" (line 4) expects RF silence, but no shield channel"),
        "{err}"
    );
    assert!(err.contains("no link to capture"), "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&tb.ok(&["--json", "run", "s.toml", "--dry-run"])).expect("JSON");
    assert_eq!(json["warnings"].as_array().map(Vec::len), Some(2), "{json}");
}

/// Settle windows (`expect.settle_s`, recording-format.md): a phase sets
/// its own, `[scenario] settle` sets every other phase's, and each phase
/// line of the journal carries what applies (none at all: 0, left out).
#[test]
fn settle_windows_go_into_the_phase_lines() {
    use benchctl::scenario::StepKind;
    let text = "[scenario]\nname = \"t\"\nduts = [\"phone-a\"]\nsettle = \"1.5s\"\nsteps = [\n  { phase = \"a\", rf = \"silent\" },\n  { phase = \"b\", rf = \"silent\", settle = \"4s\" },\n  { phase = \"c\", settle = \"0s\" },\n]\n";
    let s = benchctl::scenario::parse(Path::new("s.toml"), text, &bench()).expect("valid");
    let settle: Vec<Option<f64>> = s.timelines[0]
        .steps
        .iter()
        .filter_map(|step| match &step.kind {
            StepKind::Phase { expect, .. } => Some(expect.settle_s),
            _ => None,
        })
        .collect();
    assert_eq!(settle, [Some(1.5), Some(4.0), None]);
    // Without [scenario] settle a phase settles for 0 s: nothing written.
    let plain = format!("{HEAD}  {{ phase = \"a\", rf = \"silent\" }},\n]\n");
    let s = benchctl::scenario::parse(Path::new("s.toml"), &plain, &bench()).expect("valid");
    assert!(matches!(
        &s.timelines[0].steps[0].kind,
        StepKind::Phase { expect, .. } if expect.settle_s.is_none()
    ));

    let e = errors(&format!(
        "{HEAD}  {{ phase = \"a\", settle = \"soon\" }},\n  {{ do = \"power.on\", settle = \"2s\" }},\n  {{ wait = \"1s\", settle = \"2s\" }},\n]\n"
    ));
    let lines: Vec<&str> = e.lines().collect();
    assert!(lines[0].starts_with("s.toml:5:27: settle: "), "{e}");
    assert!(
        e.contains("s.toml:6:31: `settle` belongs to a phase step, not this one"),
        "{e}"
    );
    assert!(
        e.contains("s.toml:7:27: a `wait` step takes no `settle`"),
        "{e}"
    );
}
