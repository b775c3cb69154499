//! One process controls a bench at a time, with real processes.

mod common;

use common::{TestBench, send_signal, wait_for_line};

#[test]
fn second_command_is_refused_naming_the_holder() {
    let bench = TestBench::default_bench();
    let (mut holder, mut stderr) = bench.spawn(&["power", "phone-a", "cycle", "--off-time", "30s"]);
    wait_for_line(&mut stderr, "waiting 30s");

    let out = bench.run(&["usb", "phone-b", "on"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "bench \"sim-lab\" is in use by pid {}",
            holder.id()
        )),
        "{err}"
    );
    assert!(err.contains("power phone-a cycle --off-time 30s"), "{err}");
    assert!(err.contains(" since "), "{err}");
    // The refused command switched nothing.
    assert_eq!(bench.outputs("phone-b").1, "off");

    send_signal(&holder, "TERM");
    holder.wait().expect("wait");
    bench.ok(&["usb", "phone-b", "on"]);
}

#[test]
fn a_killed_holder_does_not_leave_a_stale_lock() {
    let bench = TestBench::default_bench();
    let (mut holder, mut stderr) = bench.spawn(&["power", "phone-a", "cycle", "--off-time", "30s"]);
    wait_for_line(&mut stderr, "waiting 30s");
    send_signal(&holder, "KILL");
    holder.wait().expect("wait");

    let out = bench.run(&["power", "phone-a", "off"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("took over the bench from pid {}", holder.id())),
        "{err}"
    );
}

#[test]
fn wait_queues_behind_the_holder() {
    let bench = TestBench::default_bench();
    let (mut holder, mut stderr) = bench.spawn(&["power", "phone-a", "cycle", "--off-time", "1s"]);
    wait_for_line(&mut stderr, "waiting 1s");
    let (mut queued, mut queued_err) = bench.spawn(&["--wait", "1m", "usb", "phone-b", "on"]);
    wait_for_line(&mut queued_err, "waiting up to 1m");
    assert!(holder.wait().expect("holder").success());
    assert!(queued.wait().expect("queued").success());
    assert_eq!(bench.outputs("phone-a").0, "on");
    assert_eq!(bench.outputs("phone-b").1, "on");
}

#[test]
fn status_needs_no_lock() {
    let bench = TestBench::default_bench();
    let (mut holder, mut stderr) = bench.spawn(&["power", "phone-a", "cycle", "--off-time", "30s"]);
    wait_for_line(&mut stderr, "waiting 30s");
    assert_eq!(bench.outputs("phone-a").0, "off");
    send_signal(&holder, "TERM");
    holder.wait().expect("wait");
}
