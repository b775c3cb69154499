//! The `benchctl` binary on benches with real backends, each against an
//! emulator that speaks the hardware's own protocol: an LCUS relay module on a
//! pseudo-terminal, a fake uhubctl, and (on this machine) no Raspberry Pi GPIO.
//! The checks read the emulator's state, never benchctl's belief.

mod common;

use std::time::Duration;

use bench_testkit::{FakeUhubctl, LcusEmulator};
use common::{TestBench, send_signal, wait_for_line};

/// bench.toml's section for a 4-channel LCUS module on `port`.
fn lcus_relay(port: &std::path::Path) -> String {
    format!(
        "[relays.lcus]\nkind = \"serial-relay\"\nchannels = 4\nport = \"{}\"\n",
        port.display()
    )
}

/// bench.toml's section for a 4-port hub at 1-1 switched by `program`.
fn uhubctl_hub(program: &std::path::Path) -> String {
    format!(
        "[hubs.hub]\nkind = \"uhubctl\"\nports = 4\nlocation = \"1-1\"\nprogram = \"{}\"\n",
        program.display()
    )
}

/// A bench with an LCUS module on `port` feeding `phone` from channel 2.
fn lcus_bench(port: &std::path::Path) -> TestBench {
    TestBench::with_bench(&format!(
        r#"[bench]
name = "lcus-bench"

{}
[hubs.hub]
kind = "sim"
ports = 2

[links.link]
kind = "sim"

[duts.phone]
model = "test phone"
power = {{ relay = "lcus", channel = 2 }}
usb = {{ hub = "hub", port = 1 }}
link = "link"
"#,
        lcus_relay(port)
    ))
}

const FRAME_WAIT: Duration = Duration::from_secs(5);

#[test]
fn lcus_relay_switches_byte_exact() {
    let emu = LcusEmulator::start(4).expect("emulator");
    let bench = lcus_bench(&emu.path());

    bench.ok(&["power", "phone", "on"]);
    assert!(emu.wait_for_frames(1, FRAME_WAIT));
    assert_eq!(emu.received(), [0xA0, 0x02, 0x01, 0xA3]);
    assert_eq!(emu.relays(), [false, true, false, false]);

    // The module cannot be read back: status shows what benchctl last set.
    let s = bench.status();
    assert_eq!(s["duts"][0]["power"]["source"], "last-set");
    assert_eq!(s["duts"][0]["power"]["value"], true);

    bench.ok(&["power", "phone", "off"]);
    assert!(emu.wait_for_frames(2, FRAME_WAIT));
    assert_eq!(
        emu.received(),
        [0xA0, 0x02, 0x01, 0xA3, 0xA0, 0x02, 0x00, 0xA2]
    );
    assert_eq!(emu.relays(), [false; 4]);
    assert_eq!(emu.rejected(), 0);
}

#[test]
fn sigterm_opens_the_lcus_relay() {
    let emu = LcusEmulator::start(4).expect("emulator");
    let bench = lcus_bench(&emu.path());
    bench.ok(&["power", "phone", "on"]);
    bench.ok(&["usb", "phone", "on"]);
    assert!(emu.wait_for_frames(1, FRAME_WAIT));

    // Cycle with the relay already open: the safe state must still send "off".
    let (mut child, mut stderr) = bench.spawn(&["power", "phone", "cycle", "--off-time", "30s"]);
    wait_for_line(&mut stderr, "waiting 30s");
    assert!(emu.wait_for_frames(2, FRAME_WAIT));
    assert_eq!(emu.relays(), [false; 4]);
    send_signal(&child, "TERM");
    assert_eq!(child.wait().expect("wait").code(), Some(143));

    // off (cycle), then off again (safe state): the relay never closed again.
    assert!(emu.wait_for_frames(3, FRAME_WAIT));
    assert_eq!(
        emu.received()[4..],
        [0xA0, 0x02, 0x00, 0xA2, 0xA0, 0x02, 0x00, 0xA2]
    );
    assert_eq!(emu.relays(), [false; 4]);
    assert_eq!(
        bench.outputs("phone"),
        ("off".into(), "off".into(), "isolated".into())
    );
}

#[test]
fn a_missing_serial_relay_fails_with_the_fix_and_switches_nothing_else() {
    let bench = lcus_bench(std::path::Path::new("/dev/ttyUSB-benchctl-missing"));
    bench.ok(&["usb", "phone", "on"]);
    let out = bench.run(&["power", "phone", "on"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/dev/ttyUSB-benchctl-missing"), "{err}");
    assert!(err.contains("benchctl doctor"), "{err}");
    // The failed command touched the DUT: its USB went to the safe state too.
    assert_eq!(bench.outputs("phone").1, "off");

    let out = bench.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(3));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("relay board \"lcus\" (serial-relay)"),
        "{report}"
    );
    assert!(report.contains("FAIL"), "{report}");
    assert!(report.contains("fix:"), "{report}");
}

#[test]
fn uhubctl_hub_switches_the_port_and_doctor_warns_about_vbus() {
    let fake = FakeUhubctl::new("1-1:4:ppps", &[]).expect("fake uhubctl");
    let bench = TestBench::with_bench(&format!(
        r#"[bench]
name = "hub-bench"

{}
[duts.phone]
model = "test phone"
usb = {{ hub = "hub", port = 3 }}
"#,
        uhubctl_hub(&fake.program())
    ));
    bench.ok(&["usb", "phone", "off"]);
    assert_eq!(fake.port_state("1-1", 3), "off");
    assert_eq!(fake.port_state("1-1", 2), "on");
    bench.ok(&["usb", "phone", "on"]);
    assert_eq!(fake.port_state("1-1", 3), "on");
    let s = bench.status();
    assert_eq!(s["hub_ports"][2]["on"]["source"], "read");
    assert_eq!(s["hub_ports"][2]["dut"], "phone");

    let out = bench.run(&["doctor"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "warnings alone pass:\n{report}");
    assert!(report.contains("WARN"), "{report}");
    assert!(report.contains("vbus_verified = true"), "{report}");
    // doctor switched nothing.
    assert!(fake.calls().iter().filter(|c| c.contains("-a")).count() == 2);
}

#[test]
fn gpio_relays_without_a_pi_fail_clearly() {
    let bench = TestBench::with_bench(
        r#"[bench]
name = "pi-bench"

[relays.hat]
kind = "rppal-gpio"
channels = 2
pins = [5, 6]

[duts.phone]
model = "test phone"
power = { relay = "hat", channel = 1 }
"#,
    );
    let out = bench.run(&["power", "phone", "on"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no Raspberry Pi GPIO here"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let out = bench.run(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    let hat = v["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .find(|p| p["subject"].as_str().is_some_and(|s| s.contains("\"hat\"")))
        .expect("the hat is probed");
    assert_eq!(hat["checks"][0]["level"], "fail");
    assert!(hat["checks"][0]["fix"].is_string());
}

/// A bench with no simulated part never reads or creates the simulated
/// lab's state file: a corrupt one (left by another bench sharing the
/// state directory, say) does not stop it, and a fresh state directory
/// stays without one.
#[test]
fn a_bench_without_simulated_parts_never_touches_the_simulated_lab() {
    let emu = LcusEmulator::start(4).expect("emulator");
    let fake = FakeUhubctl::new("1-1:4:ppps", &[]).expect("fake uhubctl");
    let bench = TestBench::with_bench(&format!(
        r#"[bench]
name = "real-only"

{}
{}
[duts.phone]
model = "test phone"
power = {{ relay = "lcus", channel = 2 }}
usb = {{ hub = "hub", port = 3 }}
"#,
        lcus_relay(&emu.path()),
        uhubctl_hub(&fake.program())
    ));
    let lab_file = bench.state_dir().join("sim-lab.json");
    for command in [
        &["power", "phone", "on"][..],
        &["usb", "phone", "off"],
        &["status"],
        &["power", "phone", "off"],
    ] {
        bench.ok(command);
        assert!(
            !lab_file.exists(),
            "`{}` created {}",
            command.join(" "),
            lab_file.display()
        );
    }
    assert_eq!(emu.relays(), [false; 4]);

    std::fs::write(&lab_file, b"{not json").expect("a corrupt lab file");
    bench.ok(&["power", "phone", "on"]);
    bench.ok(&["usb", "phone", "on"]);
    assert!(emu.wait_for_frames(3, FRAME_WAIT));
    assert_eq!(emu.relays(), [false, true, false, false]);
    assert_eq!(fake.port_state("1-1", 3), "on");
    assert_eq!(
        std::fs::read(&lab_file).expect("still there"),
        b"{not json",
        "the corrupt file was neither read into an error nor rewritten"
    );
    bench.ok(&["power", "phone", "off"]);
}

/// `run` on a bench whose relay board cannot be opened (the Pi example
/// bench, on a machine that is no Pi) is refused before anything is
/// switched or recorded: exit 3, no run directory, the board named with
/// its fix. Before, an incomplete run was recorded and indexed.
#[test]
fn a_run_on_hardware_that_is_not_there_is_refused_before_it_starts() {
    if std::path::Path::new("/dev/gpiomem").exists()
        || std::path::Path::new("/dev/gpiomem0").exists()
    {
        return; // a real Pi: the board would open
    }
    let pi =
        std::fs::read_to_string(common::repo_root().join("fixtures/benches/pi-relay-hat.toml"))
            .expect("the Pi example bench")
            .replace("state_dir = \"/var/lib/benchctl/pi-bench\"\n", "");
    let bench = TestBench::with_bench(&pi);
    std::fs::write(
        bench.dir.path().join("s.toml"),
        "[scenario]\nname = \"s\"\nduts = [\"pixel-7\"]\nsteps = [{ phase = \"boot\" }, { do = \"power.on\" }, { wait = \"1s\" }]\n",
    )
    .expect("scenario");
    let out = bench.run(&["run", "s.toml", "--out", "runs"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("relay board \"hat\""), "{err}");
    assert!(err.contains("nothing was switched"), "{err}");
    let runs = bench.dir.path().join("runs");
    let recorded = std::fs::read_dir(&runs).map_or(0, |d| {
        d.filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
            .count()
    });
    assert_eq!(recorded, 0, "no run directory was made");
}
