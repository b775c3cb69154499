//! The `benchctl` binary on the simulated lab: what a new user types.

mod common;

use common::TestBench;

#[test]
fn check_prints_the_default_bench() {
    let bench = TestBench::default_bench();
    let out = bench.ok(&["check"]);
    assert!(out.contains("bench \"sim-lab\""), "{out}");
    for needle in [
        "relays  sim   4",
        "phone-a",
        "phone-b",
        "relays ch 1",
        "hub port 2",
        "link-b",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

#[test]
fn check_json_is_the_validated_model() {
    let bench = TestBench::default_bench();
    let v: serde_json::Value = serde_json::from_str(&bench.ok(&["check", "--json"])).expect("json");
    assert_eq!(v["name"], "sim-lab");
    assert_eq!(v["relays"][0]["channels"], 4);
    assert_eq!(v["duts"][1]["name"], "phone-b");
    assert_eq!(v["duts"][1]["power"]["channel"], 2);
    assert_eq!(v["duts"][0]["safe"]["net"], "isolated");
    assert_eq!(v["duts"][0]["power_cycle_off"], 3.0);
}

#[test]
fn switching_persists_across_invocations() {
    let bench = TestBench::default_bench();
    assert_eq!(
        bench.outputs("phone-a"),
        ("off".into(), "off".into(), "isolated".into())
    );
    bench.ok(&["power", "phone-a", "on"]);
    bench.ok(&["usb", "all", "on"]);
    bench.ok(&["isolate", "phone-a", "off"]);
    assert_eq!(
        bench.outputs("phone-a"),
        ("on".into(), "on".into(), "open".into())
    );
    assert_eq!(
        bench.outputs("phone-b"),
        ("off".into(), "on".into(), "isolated".into())
    );

    // The relay and port rows say which DUT they feed, and the phone answers.
    let s = bench.status();
    let ch1 = &s["relays"][0];
    assert_eq!(
        (ch1["number"].as_u64(), ch1["dut"].as_str()),
        (Some(1), Some("phone-a"))
    );
    assert_eq!(s["relays"][2]["dut"], serde_json::Value::Null);
    // Just switched on, the phone is still starting (an 8 s boot).
    assert_eq!(s["duts"][0]["device"]["mode"], "booting");

    bench.ok(&["power", "all", "off"]);
    bench.ok(&["isolate", "all", "on"]);
    assert_eq!(
        bench.outputs("phone-a"),
        ("off".into(), "on".into(), "isolated".into())
    );
}

#[test]
fn switch_output_json_parses() {
    let bench = TestBench::default_bench();
    let v: serde_json::Value =
        serde_json::from_str(&bench.ok(&["power", "all", "on", "--json"])).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    assert_eq!(v[0]["dut"], "phone-a");
    assert_eq!(v[0]["state"], "on");
}

#[test]
fn power_cycle_ends_on() {
    let bench = TestBench::default_bench();
    bench.ok(&["power", "phone-b", "cycle", "--off-time", "10ms"]);
    assert_eq!(bench.outputs("phone-b").0, "on");
}

#[test]
fn unknown_dut_is_a_usage_error_with_a_suggestion() {
    let bench = TestBench::default_bench();
    let out = bench.run(&["power", "phone-c", "on"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no DUT named \"phone-c\""), "{err}");
    assert!(err.contains("did you mean \"phone-a\"?"), "{err}");
}

#[test]
fn bad_duration_is_a_usage_error() {
    let bench = TestBench::default_bench();
    let out = bench.run(&["power", "phone-a", "cycle", "--off-time", "30"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has no unit"), "{err}");
}

#[test]
fn broken_bench_file_names_the_place_and_switches_nothing() {
    let good = std::fs::read_to_string(common::repo_root().join("bench.toml")).expect("read");
    let broken = good.replace("channel = 2 }", "channel = 7 }");
    assert_ne!(good, broken);
    let bench = TestBench::with_bench(&broken);
    let out = bench.run(&["power", "all", "on"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = broken
        .lines()
        .position(|l| l.contains("channel = 7"))
        .expect("line")
        + 1;
    let expected = format!(
        "bench.toml:{line}:39: relay channel 7 does not exist on board \"relays\" (channels 1-4)"
    );
    assert!(err.contains(&expected), "expected {expected:?} in:\n{err}");
    // Nothing was switched: the state directory holds no lab state at all.
    assert!(!bench.state_dir().join("sim-lab.json").exists());
}

#[test]
fn a_relay_that_fails_sends_the_dut_to_its_safe_state() {
    let good = std::fs::read_to_string(common::repo_root().join("bench.toml")).expect("read");
    let bench = TestBench::default_bench();
    bench.ok(&["usb", "phone-a", "on"]);
    bench.ok(&["isolate", "phone-a", "off"]);
    // Now the relay board closes nothing after one successful switch.
    let faulty = good.replace("channels = 4\n", "channels = 4\nfail_after = 1\n");
    std::fs::write(bench.bench_file(), faulty).expect("write");
    let out = bench.run(&["power", "phone-a", "cycle", "--off-time", "10ms"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did not close"), "{err}");
    assert!(err.contains("returned to its safe state"), "{err}");
    assert_eq!(
        bench.outputs("phone-a"),
        ("off".into(), "off".into(), "isolated".into())
    );
}

#[test]
fn help_teaches_exit_codes() {
    let bench = TestBench::default_bench();
    let out = bench.ok(&["--help"]);
    assert!(out.contains("Exit codes:"), "{out}");
    assert!(
        out.contains("2  usage, bench/scenario/suite file error"),
        "{out}"
    );
    assert!(out.contains("`diff`, `suite --baseline`"), "{out}");
}

/// `--bench` and `--wait` are offered only where they mean something, and
/// refused elsewhere rather than ignored; `usb --help` speaks of USB.
#[test]
fn help_offers_only_what_a_command_takes() {
    let bench = TestBench::default_bench();
    for (cmd, arg) in [
        ("analyze", Some("x")),
        ("history", None),
        ("diff", Some("x")),
        ("report", Some("x")),
    ] {
        let help = bench.ok(&[cmd, "--help"]);
        assert!(
            !help.contains("--bench") && !help.contains("--wait"),
            "{cmd} --help: {help}"
        );
        let mut args = vec!["--bench", "bench.toml", cmd];
        args.extend(arg);
        let out = bench.run(&args);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("`{cmd}` uses no bench")),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for cmd in ["check", "status"] {
        let help = bench.ok(&[cmd, "--help"]);
        assert!(
            help.contains("--bench") && !help.contains("--wait"),
            "{cmd}: {help}"
        );
    }
    let out = bench.run(&["--wait", "1s", "check"]);
    assert_eq!(out.status.code(), Some(2));
    for cmd in [
        "run", "power", "usb", "isolate", "device", "doctor", "suite",
    ] {
        let help = bench.ok(&[cmd, "--help"]);
        assert!(
            help.contains("--bench") && help.contains("--wait"),
            "{cmd}: {help}"
        );
    }
    let help = bench.ok(&["shield", "stream", "--help"]);
    assert!(
        help.contains("--bench") && help.contains("--wait"),
        "{help}"
    );
    // Both places work: before the command and after it.
    bench.ok(&[
        "--wait",
        "1s",
        "--bench",
        "bench.toml",
        "usb",
        "phone-a",
        "off",
    ]);
    bench.ok(&[
        "usb",
        "phone-a",
        "off",
        "--wait",
        "1s",
        "--bench",
        "bench.toml",
    ]);

    let usb = bench.ok(&["usb", "--help"]);
    assert!(!usb.contains("isolate"), "{usb}");
    let isolate = bench.ok(&["isolate", "--help"]);
    assert!(isolate.contains("Cut the DUT off"), "{isolate}");
}

/// The README and the crates' pages cite the formats inside the
/// repository, never a folder a clone does not have.
#[test]
fn the_docs_cite_only_what_a_clone_has() {
    for page in [
        "README.md",
        "crates/format/README.md",
        "crates/detect/README.md",
        "fixtures/README.md",
    ] {
        let text = std::fs::read_to_string(common::repo_root().join(page)).expect(page);
        assert!(
            !text.contains("../shared/spec/"),
            "{page} cites ../shared/spec"
        );
    }
    assert!(
        common::repo_root()
            .join("docs/spec/recording-format.md")
            .is_file()
    );
    assert!(common::repo_root().join("docs/spec/findings.md").is_file());
}

#[test]
fn device_commands_reach_the_phone_only_while_powered() {
    let bench = TestBench::quick_boot();
    let out = bench.run(&["device", "phone-a", "airplane", "on"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the phone is off and does not answer"),
        "{err}"
    );
    assert!(err.contains("`benchctl power phone-a on` first"), "{err}");

    bench.ok(&["power", "phone-a", "on"]);
    let out = bench.ok(&["device", "phone-a", "airplane", "on"]);
    assert!(out.contains("running, airplane on"), "{out}");
    bench.ok(&["device", "phone-a", "power-off"]);
    let s = bench.status();
    assert_eq!(s["duts"][0]["device"]["mode"], "off");
    // Software "off" is a claim: the supply relay is still closed.
    assert_eq!(bench.outputs("phone-a").0, "on");

    // Cutting the supply forgets everything the phone was told.
    bench.ok(&["power", "phone-a", "cycle", "--off-time", "1ms"]);
    let v: serde_json::Value =
        serde_json::from_str(&bench.ok(&["device", "phone-a", "screen", "on", "--json"]))
            .expect("json");
    assert_eq!(v[0]["state"]["mode"], "running");
    assert_eq!(v[0]["state"]["airplane"], false);
    assert_eq!(v[0]["state"]["screen"], true);
}

#[test]
fn closed_output_pipes_neither_crash_nor_skip_the_safe_state() {
    use std::process::Stdio;
    let good = std::fs::read_to_string(common::repo_root().join("bench.toml")).expect("read");
    let bench = TestBench::default_bench();
    let closed = |args: &[&str]| {
        let mut child = bench
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // A CI runner that went away: nobody reads stdout or stderr.
        drop(child.stdout.take());
        drop(child.stderr.take());
        child.wait().expect("wait").code()
    };
    assert_eq!(closed(&["power", "phone-a", "on"]), Some(0));
    assert_eq!(closed(&["usb", "phone-a", "on"]), Some(0));
    assert_eq!(bench.outputs("phone-a").0, "on");

    // A failing relay with nobody listening still ends in the safe state.
    let faulty = good.replace("channels = 4\n", "channels = 4\nfail_after = 0\n");
    std::fs::write(bench.bench_file(), faulty).expect("write");
    assert_eq!(
        closed(&["power", "phone-a", "cycle", "--off-time", "1ms"]),
        Some(3)
    );
    assert_eq!(
        bench.outputs("phone-a"),
        ("off".into(), "off".into(), "isolated".into())
    );
}

/// Text from files reaches the terminal escaped: an escape sequence in a
/// DUT's `model` (or a scenario's `mark`) would otherwise retitle the
/// window or hide what follows. Long text is cut, never fatal (a 70,000-
/// character model used to panic the table).
#[test]
fn text_from_files_is_escaped_and_cut_for_the_terminal() {
    let good = std::fs::read_to_string(common::repo_root().join("bench.toml")).expect("bench.toml");
    let hostile = good.replacen(
        "model = \"sim-android\"",
        "model = \"sim\\u001b]0;pwned\\u0007android\"",
        1,
    );
    assert_ne!(good, hostile, "the default bench names a model");
    let bench = TestBench::with_bench(&hostile);
    let out = bench.run(&["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
    assert!(shown.contains("sim\\u{1b}]0;pwned\\u{7}android"), "{shown}");

    std::fs::write(
        bench.dir.path().join("mark.toml"),
        "[scenario]\nname = \"m\"\nduts = [\"phone-a\"]\nsteps = [{ mark = \"\\u001b[2J\\u001b[Hall clear\" }, { wait = \"1s\" }]\n",
    )
    .expect("scenario");
    let out = bench.run(&["run", "mark.toml", "--dry-run"]);
    let both = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{both}");
    assert!(!both.contains('\u{1b}'), "{both:?}");
    assert!(both.contains("\\u{1b}[2J"), "{both}");

    let long = good.replacen(
        "model = \"sim-android\"",
        &format!("model = \"{}\"", "m".repeat(70_000)),
        1,
    );
    let out = TestBench::with_bench(&long).run(&["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("more characters"));
}

/// A command for several DUTs that fails on some reports every DUT, in
/// JSON too: phone-a (on) took `screen on`, phone-b (off) did not, exit 3.
/// Before, stdout stayed empty although phone-a had switched.
#[test]
fn a_partial_failure_reports_every_dut() {
    let bench = TestBench::quick_boot();
    bench.ok(&["power", "phone-a", "on"]);
    let out = bench.run(&["--json", "device", "all", "screen", "on"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let a = &v.as_array().expect("one entry per DUT")[0];
    let b = &v[1];
    assert_eq!(
        (a["dut"].as_str(), a["ok"].as_bool()),
        (Some("phone-a"), Some(true)),
        "{v}"
    );
    assert_eq!(a["state"]["screen"], true, "{v}");
    assert_eq!(
        (b["dut"].as_str(), b["ok"].as_bool()),
        (Some("phone-b"), Some(false)),
        "{v}"
    );
    assert!(
        b["error"]
            .as_str()
            .is_some_and(|e| e.contains("does not answer")),
        "{v}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 of 2 DUT(s) did not take the command"),
        "{err}"
    );

    // Switching: the DUT that failed and those before it are named.
    let failing = std::fs::read_to_string(common::repo_root().join("bench.toml"))
        .expect("bench")
        .replace(
            "kind = \"sim\"\nchannels = 4",
            "kind = \"sim\"\nchannels = 4\nfail_after = 1",
        );
    let bench = TestBench::with_bench(&failing);
    let out = bench.run(&["--json", "power", "all", "on"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v[0]["dut"], "phone-a");
    assert!(
        v[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("sent to its safe state")),
        "{v}"
    );
    assert_eq!(v[1]["dut"], "phone-b");
    assert!(
        v[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("did not close")),
        "{v}"
    );
}

/// A state directory that is a file is said to be one (exit 2), not "File
/// exists".
#[test]
fn a_state_dir_that_is_a_file_is_named() {
    let bench = TestBench::default_bench();
    let file = bench.dir.path().join("not-a-folder");
    std::fs::write(&file, b"x").expect("write");
    for args in [&["status"][..], &["power", "phone-a", "on"]] {
        let out = bench
            .cmd(args)
            .env("BENCHCTL_STATE_DIR", &file)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is a file, not a folder"), "{err}");
        assert!(!err.contains("File exists"), "{err}");
    }
}

/// A board that is not there fails every channel with the same long
/// message: `status` says it once, under the tables, and each cell refers
/// to it. Before, every cell held the whole message.
#[test]
fn status_says_each_error_once() {
    let text =
        std::fs::read_to_string(common::repo_root().join("fixtures/benches/pi-relay-hat.toml"))
            .expect("bench");
    let bench = TestBench::with_bench(&text);
    let out = bench.run(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.contains("error [1]") {
        // A Raspberry Pi with the HAT: nothing to report.
        return;
    }
    assert!(
        text.contains("\nProblems\n  [1] relay board \"hat\""),
        "{text}"
    );
    assert_eq!(
        text.matches("relay board \"hat\" (GPIO").count(),
        1,
        "said once: {text}"
    );
    assert!(text.lines().all(|l| l.len() < 300), "{text}");
}

/// `doctor` on a bench that opens no serial port does not list the host's
/// ports (a built-in UART shown as "/dev/ttyS0 (unknown)" only puzzled).
#[test]
fn doctor_lists_serial_ports_only_for_a_bench_that_uses_them() {
    let bench = TestBench::default_bench();
    let out = bench.ok(&["doctor"]);
    assert!(!out.contains("serial port"), "{out}");
    assert!(!out.contains("(unknown)"), "{out}");
}
