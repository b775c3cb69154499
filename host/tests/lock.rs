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
    // It died mid-cycle: phone-a, which it was switching, went safe first.
    assert!(
        err.contains(&format!("the last holder (pid {} ", holder.id()))
            && err.contains(
                "ended without finishing; phone-a it was switching went to the safe state"
            ),
        "{err}"
    );
}

/// A holder with neither $USER nor $LOGNAME (a service, some CI runners) is
/// named by its uid's name, not "?".
#[test]
fn the_holder_is_named_without_user_in_the_environment() {
    use std::io::BufRead;
    let bench = TestBench::default_bench();
    let mut holder = bench
        .cmd(&["power", "phone-a", "cycle", "--off-time", "30s"])
        .env_remove("USER")
        .env_remove("LOGNAME")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("holder starts");
    let mut stderr = std::io::BufReader::new(holder.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("waiting 30s") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).expect("read") > 0,
            "holder ended"
        );
    }
    let out = bench.run(&["usb", "phone-b", "on"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("(user ?)"), "{err}");
    let me = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id");
    let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
    assert!(err.contains(&format!("(user {me})")), "{err}");
    send_signal(&holder, "TERM");
    holder.wait().expect("wait");
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
