//! Blind spots of issue 21 around DNS and beacons (classes 6, 9 and 10),
//! each built the way the issue says a careful implant author would: the
//! fixtures changed only in what a real phone could send.
//!
//! - 6: a forged DNS answer, sent by the phone itself from the resolver's
//!   address, must not teach the allowlist, and is a finding itself.
//! - 9: a beacon that hops ports is one beacon to one address.
//! - 10: DNS queries for an allowed name that carry data in EDNS0, and a
//!   periodic TXT poll for a name outside the allowlist through the bench's
//!   own resolver.

mod common;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use benchctl_format::PcapngWriter;
use benchctl_net::dns::{build_query, build_response, rtype};
use benchctl_net::frame::{ETHERTYPE_IPV4, ethernet, ipv4};
use common::TestBench;
use common::judged::{
    BENCH_B, BENCH_B_MAC, C2, FIXTURE_STARTED_UNIX_S, PHONE_B, PHONE_B_MAC, analyze, dut, failing,
    fixture_rewritten, udp_frame, unchanged,
};

/// phone-b's resolver in the fixtures: the bench.
const RESOLVER_B: Ipv4Addr = BENCH_B;

/// A frame phone-b sends from its own MAC to the bench.
fn from_phone_b(dst: Ipv4Addr, sport: u16, dport: u16, id: u16, payload: &[u8]) -> Vec<u8> {
    udp_frame(
        (PHONE_B_MAC, BENCH_B_MAC),
        (PHONE_B, sport),
        (dst, dport),
        id,
        payload,
    )
}

/// A copy of fixture `fixture` in `dir` whose capture holds its own frames
/// plus `extra` (interface, run time, frame), in time order. The rest of
/// the fixture is copied as it is; nothing tracked is written.
fn fixture_with(dir: &Path, fixture: &str, extra: &[(&str, f64, Vec<u8>)]) -> PathBuf {
    fixture_rewritten(dir, fixture, unchanged, extra)
}

// --- Class 6: forged DNS answers ---------------------------------------------

/// phone-b's part of class 6, from t: a lookup of the allowed
/// connectivitycheck.gstatic.com, then (if `forge`) the phone's own
/// "answer" from the resolver's address giving 203.0.113.7, then UDP to
/// 203.0.113.7.
fn forged_answer_frames(t: f64, forge: bool) -> Vec<(&'static str, f64, Vec<u8>)> {
    let name = "connectivitycheck.gstatic.com";
    let mut out = vec![(
        "phone-b",
        t,
        from_phone_b(
            RESOLVER_B,
            41_000,
            53,
            0x5001,
            &build_query(0x6006, name, rtype::A),
        ),
    )];
    if forge {
        out.push((
            "phone-b",
            t + 0.004,
            udp_frame(
                (PHONE_B_MAC, PHONE_B_MAC),
                (RESOLVER_B, 53),
                (PHONE_B, 41_000),
                0x5002,
                &build_response(0x6006, name, &[C2], 300),
            ),
        ));
    }
    for k in 0..3 {
        let at = t + 0.05 + 0.5 * f64::from(k);
        out.push((
            "phone-b",
            at,
            from_phone_b(C2, 42_000, 443, 0x5003 + k, b"exfiltrated chunk of data"),
        ));
    }
    out
}

/// Name the bench side of phone-b's link in a copied run's run.json:
/// `bench_mac` and/or `bench_ip`, as the runner records them.
fn set_bench_side(run: &Path, bench_mac: Option<&str>, bench_ip: &[&str]) {
    let path = run.join("run.json");
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("run.json")).expect("json");
    let duts = doc["duts"].as_array_mut().expect("duts");
    let b = duts
        .iter_mut()
        .find(|d| d["name"] == "phone-b")
        .expect("phone-b");
    if let Some(mac) = bench_mac {
        b["bench_mac"] = Value::from(mac);
    }
    if !bench_ip.is_empty() {
        b["bench_ip"] = Value::from(bench_ip.to_vec());
    }
    std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("json")).expect("write");
}

/// Class 6: in `honest`'s online phase, phone-b forges an answer from its
/// own MAC with the resolver's address and talks to the address it made
/// up. The answer teaches nothing (the traffic to 203.0.113.7 is denied as
/// it is without it), and the forged answer is a finding of its own
/// (`net-unexpected-destination`, the allowlist it tried to launder),
/// however the run names the bench side: not at all (the bench's MAC is
/// learned from the capture), by `bench_mac`, by `bench_ip` only (an
/// address the DUT can forge), or not at all with the learning confused
/// by a flood of frames the phone sends itself from the resolver's address.
#[test]
fn a_forged_dns_answer_does_not_launder_traffic() {
    let bench = TestBench::default_bench();
    let flood: Vec<(&str, f64, Vec<u8>)> = (0..40u16)
        .map(|k| {
            (
                "phone-b",
                3.0 + 0.01 * f64::from(k),
                udp_frame(
                    (PHONE_B_MAC, PHONE_B_MAC),
                    (RESOLVER_B, 53),
                    (PHONE_B, 50_000 + k),
                    0x4000 + k,
                    b"noise",
                ),
            )
        })
        .collect();
    let setups: [(&str, Option<&str>, &[&str], bool); 4] = [
        ("learned", None, &[], false),
        (
            "bench-mac",
            Some("02:00:00:4d:02:01"),
            &["10.77.2.1"],
            false,
        ),
        ("bench-ip-only", None, &["10.77.2.1"], false),
        ("learning-confused", None, &[], true),
    ];
    for (setup, bench_mac, bench_ip, flooded) in setups {
        for forge in [false, true] {
            let dir = bench.dir.path().join(format!("{setup}-forge-{forge}"));
            let mut extra = forged_answer_frames(8.0, forge);
            if flooded {
                extra.extend(flood.iter().cloned());
            }
            let run = fixture_with(&dir, "honest", &extra);
            set_bench_side(&run, bench_mac, bench_ip);
            let (code, doc) = analyze(&bench, &run);
            let what = format!("{setup}, forge {forge}: {doc}");
            assert_eq!(code, Some(1), "{what}");
            assert_eq!(dut(&doc, "phone-b")["verdict"], "fail", "{what}");
            assert_eq!(dut(&doc, "phone-a")["verdict"], "pass", "{what}");
            let denied = failing(&doc, "phone-b", "net-unexpected-destination");
            assert!(
                denied.iter().any(|f| f["channel"] == "203.0.113.7"),
                "{what}"
            );
            let forged: Vec<&&Value> = denied
                .iter()
                .filter(|f| f["summary"].to_string().contains("forged DNS answer"))
                .collect();
            if forge {
                assert_eq!(forged.len(), 1, "{what}");
                assert_eq!(
                    forged[0]["channel"], "10.77.2.1:53>10.77.2.2:41000/udp",
                    "{what}"
                );
                assert_eq!(forged[0]["severity"], "high", "{what}");
                assert!(
                    forged[0]["summary"].to_string().contains("203.0.113.7"),
                    "{what}"
                );
            } else {
                assert!(forged.is_empty(), "no answer, nothing forged: {what}");
            }
        }
    }
}

// --- Writing run directories ---------------------------------------------------

/// A run directory of `duration_s` with phone-a and phone-b on the links of
/// the fixtures (bench side named, as the runner records it), phases
/// `(dut, name, start, expect)` and the capture `frames` (interface, run
/// time, frame). No RF or current recording: the phases expect none.
fn write_run(
    dir: &Path,
    duration_s: f64,
    phases: &[(&str, &str, f64, Value)],
    frames: &[(&str, f64, Vec<u8>)],
) -> PathBuf {
    let run = dir.to_path_buf();
    std::fs::create_dir_all(&run).expect("run folder");
    let manifest = serde_json::json!({
        "format": "benchctl-run/1",
        "run_id": run.file_name().and_then(|n| n.to_str()).unwrap_or("run"),
        "bench": "sim-lab",
        "scenario": "blind-spots",
        "started_utc": "2026-11-26T15:30:00.000Z",
        "duration_s": duration_s,
        "complete": true,
        "duts": [
            {"name": "phone-a", "model": "sim-android", "ip": ["10.77.1.2"],
             "bench_mac": "02:00:00:4d:01:01", "bench_ip": ["10.77.1.1"]},
            {"name": "phone-b", "model": "sim-android", "ip": ["10.77.2.2"],
             "bench_mac": "02:00:00:4d:02:01", "bench_ip": ["10.77.2.1"]},
        ],
    });
    std::fs::write(
        run.join("run.json"),
        serde_json::to_string_pretty(&manifest).expect("json"),
    )
    .expect("run.json");
    let mut events = String::new();
    for (dut, name, t, expect) in phases {
        let line = serde_json::json!({"t": t, "kind": "phase", "dut": dut, "name": name, "expect": expect});
        events.push_str(&line.to_string());
        events.push('\n');
    }
    events.push_str(
        &serde_json::json!({"t": duration_s, "kind": "note", "text": "run ended (finished)"})
            .to_string(),
    );
    events.push('\n');
    std::fs::write(run.join("events.jsonl"), events).expect("events.jsonl");
    write_capture(&run.join("net.pcapng"), frames);
    run
}

/// A pcapng of interfaces phone-a and phone-b holding `frames`.
fn write_capture(path: &Path, frames: &[(&str, f64, Vec<u8>)]) {
    let names = ["phone-a", "phone-b"];
    let mut sorted: Vec<&(&str, f64, Vec<u8>)> = frames.iter().collect();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut out = PcapngWriter::create(path, &names).expect("pcapng");
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(FIXTURE_STARTED_UNIX_S);
    for (interface, t, f) in sorted {
        let i = names
            .iter()
            .position(|n| n == interface)
            .expect("interface");
        out.packet(
            i as u32,
            start + Duration::from_secs_f64(*t),
            f,
            f.len() as u32,
        )
        .expect("packet");
    }
    out.finish().expect("finish");
}

/// A small deterministic generator (SplitMix64), so the schedules are the
/// same on every run.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn index(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A TCP segment from `src`'s MAC and address to `dst` (and back, with
/// `inbound`), over the link of the DUT whose MACs are `(dut_mac, bench_mac)`.
#[allow(clippy::too_many_arguments)]
fn tcp_frame(
    (dut_mac, bench_mac): ([u8; 6], [u8; 6]),
    inbound: bool,
    (src, sport): (Ipv4Addr, u16),
    (dst, dport): (Ipv4Addr, u16),
    flags: u8,
    id: u16,
    payload: &[u8],
) -> Vec<u8> {
    use benchctl_net::frame::Tcp;
    let l4 = Tcp {
        sport,
        dport,
        seq: 0x1000_0000,
        ack: if flags & 0x10 != 0 { 0x2000_0000 } else { 0 },
        flags,
        window: 64240,
        options: &[],
    }
    .segment(src.into(), dst.into(), payload);
    let (smac, dmac) = if inbound {
        (bench_mac, dut_mac)
    } else {
        (dut_mac, bench_mac)
    };
    ethernet(dmac, smac, ETHERTYPE_IPV4, &ipv4(src, dst, 6, 64, id, &l4))
}

/// phone-a's link in [`write_run`]'s runs.
const PHONE_A_MAC: [u8; 6] = [0x02, 0xe6, 0xeb, 0xf3, 0x74, 0xef];
const BENCH_A_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x4d, 0x01, 0x01];
const PHONE_A: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);

/// One TCP check-in of `dut` (on its link `macs`, from `me`) with `server`
/// on `port` at `t`: the handshake, a request of `len` bytes, the answer.
fn tcp_check_in(
    (dut, macs, me): (&'static str, ([u8; 6], [u8; 6]), Ipv4Addr),
    t: f64,
    (server, port): (Ipv4Addr, u16),
    sport: u16,
    len: usize,
) -> Vec<(&'static str, f64, Vec<u8>)> {
    const SYN: u8 = 0x02;
    const SYN_ACK: u8 = 0x12;
    const ACK: u8 = 0x10;
    const PSH_ACK: u8 = 0x18;
    let id = sport;
    vec![
        (
            dut,
            t,
            tcp_frame(macs, false, (me, sport), (server, port), SYN, id, &[]),
        ),
        (
            dut,
            t + 0.03,
            tcp_frame(macs, true, (server, port), (me, sport), SYN_ACK, id, &[]),
        ),
        (
            dut,
            t + 0.031,
            tcp_frame(macs, false, (me, sport), (server, port), ACK, id, &[]),
        ),
        (
            dut,
            t + 0.032,
            tcp_frame(
                macs,
                false,
                (me, sport),
                (server, port),
                PSH_ACK,
                id,
                &vec![0x17; len],
            ),
        ),
        (
            dut,
            t + 0.07,
            tcp_frame(
                macs,
                true,
                (server, port),
                (me, sport),
                PSH_ACK,
                id,
                &[0x17; 120],
            ),
        ),
    ]
}

// --- Class 9: port-hopping beacons ---------------------------------------------

/// 40 minutes (2400 s): phone-b checks in with 203.0.113.7 every 30 s ±
/// 10 %, each time on `ports[k]` for a k the dice pick; phone-a, honest,
/// talks to one Google server on 443, 80 and 5228 at the irregular times
/// people and apps cause (sessions of a few connections, heavy-tailed
/// pauses).
fn forty_minutes(ports: &[u16]) -> Vec<(&'static str, f64, Vec<u8>)> {
    let b = ("phone-b", (PHONE_B_MAC, BENCH_B_MAC), PHONE_B);
    let a = ("phone-a", (PHONE_A_MAC, BENCH_A_MAC), PHONE_A);
    let google = Ipv4Addr::new(142, 250, 74, 99);
    let mut dice = Dice(21);
    let mut frames = Vec::new();
    let mut t = dice.range(5.0, 30.0);
    let mut sport = 40_000;
    while t < 2390.0 {
        let port = ports[dice.index(ports.len())];
        frames.extend(tcp_check_in(b, t, (C2, port), sport, 180 + dice.index(24)));
        sport += 1;
        t += 30.0 * dice.range(0.9, 1.1);
    }
    let mut t = 3.0;
    let mut sport = 50_000;
    while t < 2390.0 {
        for _ in 0..1 + dice.index(5) {
            let port = [443, 443, 80, 5228][dice.index(4)];
            frames.extend(tcp_check_in(
                a,
                t,
                (google, port),
                sport,
                80 + dice.index(900),
            ));
            sport += 1;
            t += dice.range(0.5, 12.0);
        }
        // Pareto pauses (x_m 20 s, alpha 1.3), at most 10 minutes.
        let u = dice.range(1e-9, 1.0);
        t += (20.0 / u.powf(1.0 / 1.3)).min(600.0);
    }
    frames
}

/// Class 9, run directory: phases with no network expectation (`{}`), 40
/// minutes; the hopping beacon fails phone-b as the one-port beacon does
/// (`net-beacon`, medium: no allowlist says 203.0.113.7 is allowed), named
/// for its address and its four ports. phone-a, honest, passes.
#[test]
fn a_beacon_that_hops_ports_fails_a_forty_minute_run() {
    let bench = TestBench::default_bench();
    for (label, ports, channel) in [
        (
            "hopping",
            &[443, 8443, 80, 8080][..],
            "10.77.2.2>203.0.113.7:80,443,8080,8443/tcp",
        ),
        ("one-port", &[443][..], "10.77.2.2>203.0.113.7:443/tcp"),
    ] {
        let phases = [
            ("phone-a", "online", 0.0, serde_json::json!({})),
            ("phone-b", "online", 0.0, serde_json::json!({})),
        ];
        let run = write_run(
            &bench.dir.path().join(label),
            2400.0,
            &phases,
            &forty_minutes(ports),
        );
        let (code, doc) = analyze(&bench, &run);
        assert_eq!(code, Some(1), "{label}: {doc}");
        assert_eq!(dut(&doc, "phone-b")["verdict"], "fail", "{label}: {doc}");
        assert_eq!(dut(&doc, "phone-a")["verdict"], "pass", "{label}: {doc}");
        let beacons = failing(&doc, "phone-b", "net-beacon");
        assert!(
            beacons
                .iter()
                .any(|f| f["channel"] == channel && f["severity"] == "medium"),
            "{label}: {doc}"
        );
    }
}

/// Class 9, bare capture: the same 40 minutes as a `.pcapng` on its own (no
/// phases; each interface a pseudo-DUT). findings.md keeps a bare
/// capture's beacon `medium` when its destination was never named (no DNS
/// answer, SNI or Host named 203.0.113.7), so the hopping beacon fails
/// its interface; phone-a's does not.
#[test]
fn a_beacon_that_hops_ports_fails_a_bare_capture() {
    let bench = TestBench::default_bench();
    let capture = bench.dir.path().join("hopping.pcapng");
    write_capture(&capture, &forty_minutes(&[443, 8443, 80, 8080]));
    let (code, doc) = analyze(&bench, &capture);
    assert_eq!(code, Some(1), "{doc}");
    assert_eq!(dut(&doc, "phone-b")["verdict"], "fail", "{doc}");
    assert_eq!(dut(&doc, "phone-a")["verdict"], "pass", "{doc}");
    let beacons = failing(&doc, "phone-b", "net-beacon");
    assert!(
        beacons
            .iter()
            .any(|f| f["channel"] == "10.77.2.2>203.0.113.7:80,443,8080,8443/tcp"),
        "{doc}"
    );
}

// --- Class 10: data riding on allowed DNS ----------------------------------------

/// A lookup of `name` with an EDNS0 OPT record carrying `option` (code,
/// data).
fn query_with_edns(id: u16, name: &str, option: Option<(u16, &[u8])>) -> Vec<u8> {
    let mut m = build_query(id, name, rtype::A);
    m[10..12].copy_from_slice(&1u16.to_be_bytes());
    m.push(0); // the root owns an OPT record
    m.extend_from_slice(&rtype::OPT.to_be_bytes());
    m.extend_from_slice(&1232u16.to_be_bytes());
    m.extend_from_slice(&0u32.to_be_bytes());
    let mut data = Vec::new();
    if let Some((code, bytes)) = option {
        data.extend_from_slice(&code.to_be_bytes());
        data.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        data.extend_from_slice(bytes);
    }
    m.extend_from_slice(&(data.len() as u16).to_be_bytes());
    m.extend_from_slice(&data);
    m
}

/// Class 10, first half: in `honest`'s online phase, phone-b looks up the
/// allowed connectivitycheck.gstatic.com at an outside resolver, each
/// query carrying 300 bytes in an EDNS0 option (private-use code 65001).
/// A query carrying data is not "a query for an allowed name": phone-b
/// fails (`net-unexpected-destination`, the resolver). The same lookups
/// with a plain OPT record (what a stub sends) still pass.
#[test]
fn data_in_edns_options_of_allowed_lookups_fails() {
    let bench = TestBench::default_bench();
    let outside = Ipv4Addr::new(198, 51, 100, 53);
    let secret: Vec<u8> = (0..300u32).map(|i| (i * 37 % 251) as u8).collect();
    for carry in [false, true] {
        // At the irregular times an app looks a name up (six lookups on a
        // timer would be a beacon to the outside resolver whatever they
        // carry).
        // Inside the online phase (8.05-13 s) after its 1 s settle window.
        let times = [9.2, 9.6, 10.4, 10.7, 11.9, 12.6];
        let frames: Vec<(&str, f64, Vec<u8>)> = (0..6u16)
            .zip(times)
            .map(|(k, t)| {
                let option = carry.then_some((65001, secret.as_slice()));
                let q = query_with_edns(0x7000 + k, "connectivitycheck.gstatic.com", option);
                (
                    "phone-b",
                    t,
                    from_phone_b(outside, 43_000 + k, 53, 0x5100 + k, &q),
                )
            })
            .collect();
        let dir = bench.dir.path().join(format!("edns-{carry}"));
        let run = fixture_with(&dir, "honest", &frames);
        let (code, doc) = analyze(&bench, &run);
        assert_eq!(dut(&doc, "phone-a")["verdict"], "pass", "{doc}");
        if !carry {
            assert_eq!(code, Some(0), "plain lookups of an allowed name: {doc}");
            continue;
        }
        assert_eq!(code, Some(1), "{doc}");
        assert_eq!(dut(&doc, "phone-b")["verdict"], "fail", "{doc}");
        let denied = failing(&doc, "phone-b", "net-unexpected-destination");
        assert_eq!(denied.len(), 1, "{doc}");
        assert_eq!(denied[0]["channel"], "198.51.100.53", "{doc}");
        assert_eq!(denied[0]["evidence"]["packets"], 6, "{doc}");
        assert!(
            denied[0]["summary"]
                .to_string()
                .contains("EDNS option 65001 carrying 300 bytes"),
            "{doc}"
        );
    }
}

/// A TXT answer for `name` carrying `text`.
fn txt_answer(id: u16, name: &str, text: &[u8]) -> Vec<u8> {
    let mut m = build_query(id, name, rtype::TXT);
    m[2..4].copy_from_slice(&0x8180u16.to_be_bytes());
    m[6..8].copy_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&[0xc0, 0x0c]);
    m.extend_from_slice(&rtype::TXT.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&60u32.to_be_bytes());
    m.extend_from_slice(&(text.len() as u16 + 1).to_be_bytes());
    m.push(text.len() as u8);
    m.extend_from_slice(text);
    m
}

/// Class 10, second half: phone-b polls TXT records of cmd.c2-updates.net,
/// a name outside the allowlist, every 20 s (± 5 %) through the bench's own
/// resolver 10.77.2.1, an allowed address (honest's `10.77.0.0/16`), for
/// five minutes of an allowlist phase with honest's list. The honest
/// fixture's online phase is 8 s, too short for the six check-ins a beacon
/// needs, so the run is written with a 300 s online phase of the same
/// list. A periodic query for a name outside `allow` is a beacon to that
/// name whichever resolver carries it: `net-beacon`, high, channel the
/// name. phone-a polls the allowed time.android.com on the same schedule:
/// a beacon to an allowed name is `low`, and it passes.
#[test]
fn a_txt_poll_for_a_name_outside_the_allowlist_is_a_beacon_to_that_name() {
    let bench = TestBench::default_bench();
    let allow = serde_json::json!({"net": "allowlist", "allow": [
        "gstatic.com", "google.com", "googleapis.com", "android.com", "youtube.com", "10.77.0.0/16"
    ]});
    let phases = [
        ("phone-a", "online", 0.0, allow.clone()),
        ("phone-b", "online", 0.0, allow),
    ];
    let resolver_a = Ipv4Addr::new(10, 77, 1, 1);
    let mut dice = Dice(10);
    let mut frames = Vec::new();
    let mut t = 2.0;
    let mut id = 0u16;
    while t < 295.0 {
        for (dut, name, (me, resolver, dut_mac, bench_mac)) in [
            (
                "phone-b",
                "cmd.c2-updates.net",
                (PHONE_B, RESOLVER_B, PHONE_B_MAC, BENCH_B_MAC),
            ),
            (
                "phone-a",
                "time.android.com",
                (PHONE_A, resolver_a, PHONE_A_MAC, BENCH_A_MAC),
            ),
        ] {
            let sport = 45_000 + id;
            let q = build_query(id, name, rtype::TXT);
            frames.push((
                dut,
                t,
                udp_frame((dut_mac, bench_mac), (me, sport), (resolver, 53), id, &q),
            ));
            let r = txt_answer(id, name, b"sleep 20");
            frames.push((
                dut,
                t + 0.015,
                udp_frame((bench_mac, dut_mac), (resolver, 53), (me, sport), id, &r),
            ));
            id += 1;
        }
        t += 20.0 * dice.range(0.95, 1.05);
    }
    let run = write_run(&bench.dir.path().join("txt-poll"), 300.0, &phases, &frames);
    let (code, doc) = analyze(&bench, &run);
    assert_eq!(code, Some(1), "{doc}");
    assert_eq!(dut(&doc, "phone-b")["verdict"], "fail", "{doc}");
    assert_eq!(dut(&doc, "phone-a")["verdict"], "pass", "{doc}");
    let beacons = failing(&doc, "phone-b", "net-beacon");
    assert_eq!(beacons.len(), 1, "{doc}");
    assert_eq!(beacons[0]["channel"], "cmd.c2-updates.net", "{doc}");
    assert_eq!(beacons[0]["severity"], "high", "{doc}");
    assert_eq!(beacons[0]["phase"], "online", "{doc}");
    // The beacon to the resolver's address is still there, and still low.
    let low: Vec<&Value> = dut(&doc, "phone-b")["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "net-beacon" && f["severity"] == "low")
        .collect();
    assert!(
        low.iter()
            .any(|f| f["channel"] == "10.77.2.2>10.77.2.1:53/udp"),
        "{doc}"
    );
    let a = dut(&doc, "phone-a")["findings"].to_string();
    assert!(
        a.contains("time.android.com"),
        "a low beacon to the allowed name: {doc}"
    );
}
