//! Stopping a command by a real signal leaves the DUTs it touched in their
//! safe state, checked through `status` afterwards, as a lab engineer would.

mod common;

use common::{TestBench, send_signal, wait_for_line};

fn interrupt_a_power_cycle(signal: &str, expected_code: i32) {
    let bench = TestBench::default_bench();
    for dut in ["phone-a", "phone-b"] {
        bench.ok(&["power", dut, "on"]);
        bench.ok(&["usb", dut, "on"]);
        bench.ok(&["isolate", dut, "off"]);
    }
    let (mut child, mut stderr) = bench.spawn(&["power", "phone-a", "cycle", "--off-time", "30s"]);
    // The relay is open and the command is in its 30 s wait.
    wait_for_line(&mut stderr, "waiting 30s");
    send_signal(&child, signal);
    let status = child.wait().expect("wait");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    assert_eq!(status.code(), Some(expected_code), "stderr:\n{rest}");
    assert!(rest.contains("returned to its safe state"), "{rest}");

    assert_eq!(
        bench.outputs("phone-a"),
        ("off".into(), "off".into(), "isolated".into()),
        "phone-a must be in its safe state"
    );
    // phone-b was not touched by the command and keeps running.
    assert_eq!(
        bench.outputs("phone-b"),
        ("on".into(), "on".into(), "open".into())
    );
}

#[test]
fn sigterm_during_power_cycle_leaves_safe_state() {
    interrupt_a_power_cycle("TERM", 143);
}

#[test]
fn ctrl_c_during_power_cycle_leaves_safe_state() {
    interrupt_a_power_cycle("INT", 130);
}

#[test]
fn sighup_during_power_cycle_leaves_safe_state() {
    interrupt_a_power_cycle("HUP", 129);
}
