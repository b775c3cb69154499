//! Settle windows (issue 14, item 1): the analysis applies exactly the
//! `expect.settle_s` the run directory holds and no settle time of its own
//! (findings.md). What a DUT emits inside a phase's settle window is a `low`
//! finding marked `"settle": true`; the same thing with no settle window
//! fails the DUT.
//!
//! Built on the `honest` fixture (phone-b's isolated phase starts at 13 s
//! with a 1 s settle window), copied into a temporary directory with its
//! journal and capture changed there. That a draw or a carrier running on
//! past the settle window is judged after it: `power_off`'s and
//! `rf_silence`'s unit tests.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::TestBench;
use common::judged::{
    BENCH_B_MAC, C2, PHONE_B, PHONE_B_MAC, analyze, dut, failing, fixture_rewritten, udp_frame,
    unchanged,
};

/// The isolated phase's start in the `honest` fixture.
const ISOLATED_AT_S: f64 = 13.0;

/// `honest` copied into `dir` with one datagram from phone-b to the
/// implant's server 0.2 s after the isolated phase starts, and the phase
/// lines named `phase` given `settle_s` (None: the key removed).
fn one_packet_after_the_cut(dir: &Path, phase: &str, settle_s: Option<f64>) -> PathBuf {
    let packet = udp_frame(
        (PHONE_B_MAC, BENCH_B_MAC),
        (PHONE_B, 40_000),
        (C2, 443),
        0x5e77,
        b"queued",
    );
    let run = fixture_rewritten(
        dir,
        "honest",
        unchanged,
        &[("phone-b", ISOLATED_AT_S + 0.2, packet)],
    );
    with_settle(&run, phase, settle_s);
    run
}

/// Rewrite the copy's journal: the phase lines named `phase` get
/// `settle_s` (None: no key, so no settle window).
fn with_settle(run: &Path, phase: &str, settle_s: Option<f64>) {
    let path = run.join("events.jsonl");
    let text = std::fs::read_to_string(&path).expect("journal");
    let mut out = String::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).expect("journal line");
        if v["kind"] == "phase" && v["name"] == phase {
            let expect = v["expect"].as_object_mut().expect("expect");
            match settle_s {
                Some(s) => expect.insert("settle_s".into(), s.into()),
                None => expect.remove("settle_s"),
            };
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    std::fs::write(&path, out).expect("journal written");
}

/// phone-b's findings of `kind`.
fn findings<'a>(doc: &'a Value, kind: &str) -> Vec<&'a Value> {
    dut(doc, "phone-b")["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

/// The test: a packet 0.2 s after an isolation phase starts fails
/// the phone when the phase has no `settle_s`, and is a `low` finding with
/// `"settle": true` when it falls inside one.
#[test]
fn a_packet_just_after_the_cut_fails_without_a_settle_window_and_is_low_inside_one() {
    let bench = TestBench::default_bench();

    let run = one_packet_after_the_cut(&bench.dir.path().join("none"), "isolated", None);
    let (code, doc) = analyze(&bench, &run);
    assert_eq!(code, Some(1), "{doc}");
    let f = failing(&doc, "phone-b", "net-in-isolation");
    assert_eq!(f.len(), 1, "{doc}");
    assert_eq!(f[0]["start_s"], ISOLATED_AT_S + 0.2, "{doc}");
    assert!(f[0].get("settle").is_none(), "not a settle finding: {doc}");

    for settle_s in [0.5, 1.0] {
        let dir = bench.dir.path().join(format!("settle-{settle_s}"));
        let run = one_packet_after_the_cut(&dir, "isolated", Some(settle_s));
        let (code, doc) = analyze(&bench, &run);
        assert_eq!(code, Some(0), "settle_s {settle_s}: {doc}");
        assert_eq!(dut(&doc, "phone-b")["verdict"], "pass", "{doc}");
        let f = findings(&doc, "net-in-isolation");
        assert_eq!(f.len(), 1, "reported, never dropped: {doc}");
        assert_eq!(f[0]["severity"], "low", "{doc}");
        assert_eq!(f[0]["settle"], true, "{doc}");
        assert_eq!(f[0]["evidence"]["packets"], 1, "{doc}");
    }

    // A window that ends before the packet: judged as any other.
    let run = one_packet_after_the_cut(&bench.dir.path().join("short"), "isolated", Some(0.1));
    let (code, doc) = analyze(&bench, &run);
    assert_eq!(code, Some(1), "{doc}");
    assert_eq!(
        failing(&doc, "phone-b", "net-in-isolation").len(),
        1,
        "{doc}"
    );
}
