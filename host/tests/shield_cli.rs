//! `benchctl shield` on the simulated shield, through a real pty, as a user
//! runs it; and what happens to the shield when its host dies mid-stream.

mod common;

use std::time::{Duration, Instant};

use common::{TestBench, send_signal, wait_for_line};

#[test]
fn info_names_the_board_and_the_channels() {
    let bench = TestBench::default_bench();
    let out = bench.ok(&["shield", "info"]);
    assert!(out.contains("board sim"), "{out}");
    assert!(out.contains("protocol 1.0"), "{out}");
    assert!(out.contains("serial SIM-0001"), "{out}");
    assert!(
        out.contains("a-lte-ul   phone-a    0         1747.5MHz"),
        "{out}"
    );

    let v: serde_json::Value =
        serde_json::from_str(&bench.ok(&["shield", "info", "--json"])).expect("json");
    assert_eq!(v["board"], "sim");
    assert_eq!(v["detectors"].as_array().map(Vec::len), Some(12));
    assert_eq!(v["channels"].as_array().map(Vec::len), Some(11));
}

#[test]
fn stream_json_delivers_every_block_at_the_configured_rate() {
    let bench = TestBench::default_bench();
    bench.ok(&["power", "phone-a", "on"]);
    let out = bench.ok(&["shield", "stream", "--seconds", "1.5", "--json"]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let (summary, blocks) = lines.split_last().expect("lines");
    let summary = &summary["summary"];
    assert_eq!(summary["stats"]["blocks_lost"], 0, "{summary}");
    assert_eq!(summary["stats"]["decoder"]["bad_frames"], 0, "{summary}");

    // Consecutive sequence numbers, 1 ms apart, 11 channels each.
    let seqs: Vec<u64> = blocks
        .iter()
        .map(|b| b["seq"].as_u64().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert!(blocks.iter().all(|b| b["period_s"] == 0.001));
    let samples: usize = blocks
        .iter()
        .map(|b| b["values"][0].as_array().expect("values").len())
        .sum();
    // 1.5 s at 1 kHz; the stream starts and stops within tens of ms of the window.
    assert!(
        (1300..=1600).contains(&samples),
        "{samples} samples per channel"
    );

    // phone-a is powered and draws its idle current; phone-b is off.
    let channels = blocks[0]["channels"].as_array().expect("channels");
    let col = |name: &str| channels.iter().position(|c| c == name).expect("channel");
    let mean = |name: &str| {
        let c = col(name);
        let v: Vec<f64> = blocks
            .iter()
            .flat_map(|b| b["values"][c].as_array().expect("col").clone())
            .map(|x| x.as_f64().expect("a reading"))
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(
        (0.13..0.17).contains(&mean("a-current")),
        "{}",
        mean("a-current")
    );
    assert!(mean("b-current") < 0.001, "{}", mean("b-current"));
    assert!(
        (-96.0..-94.0).contains(&mean("ambient")),
        "{}",
        mean("ambient")
    );
}

#[test]
fn selftest_passes_on_the_sim() {
    let bench = TestBench::default_bench();
    let out = bench.ok(&["shield", "selftest"]);
    assert!(out.contains("ok"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn doctor_includes_the_shield() {
    let bench = TestBench::default_bench();
    let out = bench.ok(&["doctor"]);
    assert!(out.contains("shield (sim)"), "{out}");
    assert!(
        out.contains("11 channels of bench.toml match its detectors"),
        "{out}"
    );
}

#[test]
fn wrong_detector_wiring_is_caught_before_streaming() {
    let good = std::fs::read_to_string(common::repo_root().join("bench.toml")).expect("read");
    let bad = good.replace(
        "a-current = { dut = \"phone-a\", detector = 8,",
        "a-current = { dut = \"phone-a\", detector = 3,",
    );
    assert_ne!(good, bad);
    let bench = TestBench::with_bench(&bad);
    let out = bench.run(&["shield", "stream", "--seconds", "1"]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("shield channel \"a-current\": detector 3 measures RF power (dBm), but bench.toml says quantity = \"current\""),
        "{err}"
    );
}

#[test]
fn a_host_killed_mid_stream_stops_the_shield_within_its_watchdog() {
    // The simulated shield on its own, as a board would be.
    let server = TestBench::default_bench();
    let (mut shield, mut shield_log) = server.spawn_piped(&["shield", "sim", "--json"]);
    let mut port_line = String::new();
    {
        use std::io::BufRead;
        let stdout = shield.stdout.take().expect("stdout");
        let mut reader = std::io::BufReader::new(stdout);
        // `--json` prints {"port": "..."} first.
        reader.read_line(&mut port_line).expect("port line");
    }
    let port: serde_json::Value = serde_json::from_str(&port_line).expect("port JSON");
    let port = port["port"].as_str().expect("port").to_string();

    let good = std::fs::read_to_string(common::repo_root().join("bench.toml")).expect("read");
    let serial = good
        .replace(
            "kind = \"sim\"\nsample_rate_hz",
            &format!("kind = \"serial\"\nport = \"{port}\"\nsample_rate_hz"),
        )
        .replace("watchdog = \"3s\"", "watchdog = \"1s\"")
        // The room is the simulated shield's business, not the host's.
        .replace("room_interference = \"20s\"", "");
    assert_ne!(good, serial);
    // A bench file the host refuses would leave this test waiting forever.
    TestBench::with_bench(&serial).ok(&["check"]);
    let host = TestBench::with_bench(&serial);
    let (mut streamer, _streamer_log) = host.spawn(&["shield", "stream"]);
    wait_for_line(&mut shield_log, "simulated shield streaming");

    send_signal(&streamer, "KILL");
    streamer.wait().expect("wait");
    let killed = Instant::now();
    wait_for_line(&mut shield_log, "simulated shield stopped streaming");
    let took = killed.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "the shield streamed on for {took:?} after its host died (watchdog 1s)"
    );
    send_signal(&shield, "TERM");
    shield.wait().expect("wait");
}

/// The link dies mid-stream (the board unplugged: here the simulated
/// shield's process is killed): `shield stream --json` still ends with its
/// summary line, saying what came and that the link was lost, and exits 3.
#[test]
fn a_link_that_dies_mid_stream_still_gets_its_summary() {
    let server = TestBench::default_bench();
    let (mut shield, mut shield_log) = server.spawn_piped(&["shield", "sim", "--json"]);
    let mut port_line = String::new();
    {
        use std::io::BufRead;
        let stdout = shield.stdout.take().expect("stdout");
        let mut reader = std::io::BufReader::new(stdout);
        reader.read_line(&mut port_line).expect("port line");
    }
    let port: serde_json::Value = serde_json::from_str(&port_line).expect("port JSON");
    let port = port["port"].as_str().expect("port").to_string();
    let good = std::fs::read_to_string(common::repo_root().join("bench.toml")).expect("read");
    let serial = good
        .replace(
            "kind = \"sim\"\nsample_rate_hz",
            &format!("kind = \"serial\"\nport = \"{port}\"\nsample_rate_hz"),
        )
        .replace("room_interference = \"20s\"", "");
    let host = TestBench::with_bench(&serial);
    let streamer = host
        .cmd(&["--json", "shield", "stream", "--seconds", "30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("stream starts");
    wait_for_line(&mut shield_log, "simulated shield streaming");
    std::thread::sleep(Duration::from_millis(300));
    send_signal(&shield, "KILL");
    shield.wait().expect("wait");
    let out = streamer.wait_with_output().expect("stream ends");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("some output");
    let last: serde_json::Value = serde_json::from_str(last).expect("a JSON line");
    assert!(
        last["summary"]["blocks"].as_u64().is_some_and(|n| n > 0),
        "{last}"
    );
    assert!(
        last["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{last}"
    );
}
