//! Blind spots of issue 21 in what the network rules count (classes 4, 7
//! and 8), each built the way the issue says: a fixture copied into a
//! temporary directory and its `net.pcapng` rewritten there with frames a
//! real phone could send.
//!
//! - 4: frames that are not IP (ARP with data in the target MAC, other
//!   ethertypes, frames that do not parse, Q-in-Q tagged packets) count in
//!   isolation.
//! - 7: "housekeeping" that leaves the link (DHCP unicast to a routable
//!   address, a routable multicast group) is judged by its destination;
//!   what stays on the link still passes.
//! - 8: a packet whose transport header does not parse counts in
//!   isolation, and is named malformed.

mod common;

use std::net::Ipv4Addr;
use std::path::Path;

use serde_json::Value;

use benchctl_net::frame::{ETHERTYPE_ARP, ETHERTYPE_IPV4, ethernet, ipv4, udp};
use common::TestBench;
use common::judged::{
    BENCH_B, BENCH_B_MAC, C2, PHONE_B, PHONE_B_MAC, analyze, dut, failing, fixture_rewritten,
    udp_frame, unchanged,
};

/// Whether `f` is one of the implant's datagrams of `isolated-talker`:
/// phone-b's UDP to 203.0.113.7 in the isolated phase (13-18 s).
fn implant_datagram(interface: &str, t: f64, f: &[u8]) -> bool {
    interface == "phone-b"
        && (13.0..18.0).contains(&t)
        && f.get(12..14) == Some(&[0x08, 0x00][..])
        && f.get(23) == Some(&17)
        && f.get(30..34) == Some(&C2.octets()[..])
}

/// The run fails on phone-b alone (exit 1), with a `kind` finding: the
/// first one.
fn fails_phone_b_with<'a>(code: Option<i32>, doc: &'a Value, kind: &str, what: &str) -> &'a Value {
    assert_eq!(code, Some(1), "{what}: {doc}");
    assert_eq!(doc["verdict"], "fail", "{what}: {doc}");
    assert_eq!(dut(doc, "phone-b")["verdict"], "fail", "{what}: {doc}");
    assert_eq!(dut(doc, "phone-a")["verdict"], "pass", "{what}: {doc}");
    failing(doc, "phone-b", kind)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("{what}: no {kind} finding: {doc}"))
}

/// Ethernet/IPv4/UDP from phone-b's MAC and address.
fn from_phone_b(dst_mac: [u8; 6], dst: Ipv4Addr, ports: (u16, u16), payload: &[u8]) -> Vec<u8> {
    udp_frame(
        (PHONE_B_MAC, dst_mac),
        (PHONE_B, ports.0),
        (dst, ports.1),
        0x7001,
        payload,
    )
}

// --- Class 4: frames that are not IP ----------------------------------------

/// An ARP request from phone-b for the bench's address whose target MAC,
/// which a request leaves empty, carries six bytes of data.
fn arp_with_data(chunk: [u8; 6]) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend_from_slice(&PHONE_B_MAC);
    a.extend_from_slice(&PHONE_B.octets());
    a.extend_from_slice(&chunk);
    a.extend_from_slice(&BENCH_B.octets());
    let mut f = ethernet([0xff; 6], PHONE_B_MAC, ETHERTYPE_ARP, &a);
    f.resize(60, 0);
    f
}

/// Class 4, the example: in `isolated-talker`, phone-b's two UDP
/// packets replaced with eight ARP requests carrying data in the target
/// MAC field fail phone-b (`net-in-isolation`, the ARP counted and named),
/// where without them phone-b passes.
#[test]
fn arp_requests_carrying_data_fail_an_isolated_phone() {
    let bench = TestBench::default_bench();
    let silent = fixture_rewritten(
        &bench.dir.path().join("silent"),
        "isolated-talker",
        |i, t, f| {
            if implant_datagram(i, t, f) {
                Vec::new()
            } else {
                unchanged(i, t, f)
            }
        },
        &[],
    );
    let (code, doc) = analyze(&bench, &silent);
    assert_eq!(code, Some(0), "without the implant's packets: {doc}");

    let secret = b"exfiltrated-data-in-arp-target-mac";
    let mut datagrams = 0;
    let run = fixture_rewritten(
        &bench.dir.path().join("arp"),
        "isolated-talker",
        |i, t, f| {
            if !implant_datagram(i, t, f) {
                return unchanged(i, t, f);
            }
            // Each datagram becomes four requests, 0.3 s apart.
            let first = datagrams * 4;
            datagrams += 1;
            (0..4)
                .map(|k| {
                    let n = first + k;
                    let chunk: [u8; 6] =
                        std::array::from_fn(|j| secret[(n * 6 + j) % secret.len()]);
                    (t + 0.3 * k as f64, arp_with_data(chunk))
                })
                .collect()
        },
        &[],
    );
    assert_eq!(datagrams, 2, "the fixture's two datagrams were replaced");
    let (code, doc) = analyze(&bench, &run);
    let f = fails_phone_b_with(code, &doc, "net-in-isolation", "eight ARP requests");
    assert_eq!(f["severity"], "high", "{f}");
    assert_eq!(f["phase"], "isolated", "{f}");
    assert_eq!(f["evidence"]["packets"], 8, "{f}");
    assert_eq!(f["evidence"]["not_ip"]["ARP"], 8, "{f}");
    let summary = f["summary"].as_str().expect("summary");
    assert!(summary.contains("10.77.2.1 (ARP)"), "{summary}");
    assert!(summary.contains("8 of them not IP (8 ARP)"), "{summary}");
}

/// Class 4 beyond ARP: in `isolated-talker`, phone-b's two datagrams
/// replaced with frames of another ethertype, 802.3 LLC frames, LLDP from
/// its own MAC, frames that do not parse at all, or the datagrams
/// themselves behind two VLAN tags (802.1ad + 802.1Q, read as tshark reads
/// them): each fails phone-b, the frames counted and named. LLDP from the
/// switch's MAC is the switch's, and phone-b still passes.
#[test]
fn every_frame_an_isolated_phone_sends_counts() {
    let bench = TestBench::default_bench();
    let data = b"0123456789abcdef-exfiltrated-record".to_vec();
    type Rewrite = Box<dyn Fn(&[u8]) -> Vec<u8>>;
    /// How the finding names the frames.
    enum Named {
        NotIp(&'static str),
        Malformed,
        Ip,
    }
    let lldp = |src: [u8; 6], data: &[u8]| {
        // Chassis ID, port ID, TTL, then an organisational TLV of data.
        let mut tlvs = vec![0x02, 0x07, 0x04];
        tlvs.extend_from_slice(&src);
        tlvs.extend_from_slice(&[0x04, 0x02, 0x07, 0x31, 0x06, 0x02, 0x00, 0x78]);
        tlvs.push(0xfe);
        tlvs.push(u8::try_from(data.len() + 4).expect("short"));
        tlvs.extend_from_slice(&[0x00, 0x12, 0x0f, 0x01]);
        tlvs.extend_from_slice(data);
        tlvs.extend_from_slice(&[0, 0]);
        ethernet([0x01, 0x80, 0xc2, 0, 0, 0x0e], src, 0x88cc, &tlvs)
    };
    let switch_mac = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01];
    let d = data.clone();
    let variants: Vec<(&str, Rewrite, Named)> = vec![
        (
            "another ethertype",
            Box::new(move |_| ethernet(BENCH_B_MAC, PHONE_B_MAC, 0x88b5, &d)),
            Named::NotIp("ethertype 0x88b5"),
        ),
        (
            "802.3 LLC",
            Box::new({
                let d = data.clone();
                move |_| {
                    let mut llc = vec![0x42, 0x42, 0x03];
                    llc.extend_from_slice(&d);
                    let len = u16::try_from(llc.len()).expect("short");
                    ethernet(BENCH_B_MAC, PHONE_B_MAC, len, &llc)
                }
            }),
            Named::NotIp("802.3 LLC"),
        ),
        (
            "LLDP from the phone's own MAC",
            Box::new({
                let d = data.clone();
                move |_| lldp(PHONE_B_MAC, &d)
            }),
            Named::NotIp("LLDP"),
        ),
        (
            "frames that do not parse",
            Box::new(|f: &[u8]| {
                // IP version 7: nothing past the Ethernet header reads.
                let mut f = f.to_vec();
                f[14] = 0x75;
                f
            }),
            Named::Malformed,
        ),
        (
            "two VLAN tags (802.1ad outside 802.1Q)",
            Box::new(|f: &[u8]| {
                let mut tagged = f[..12].to_vec();
                tagged.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8]);
                tagged.extend_from_slice(&f[12..]);
                tagged
            }),
            Named::Ip,
        ),
    ];
    for (what, rewrite, named) in variants {
        let dir = bench
            .dir
            .path()
            .join(what.replace([' ', '(', ')', '\''], "-"));
        let run = fixture_rewritten(
            &dir,
            "isolated-talker",
            |i, t, f| {
                if implant_datagram(i, t, f) {
                    vec![(t, rewrite(f))]
                } else {
                    unchanged(i, t, f)
                }
            },
            &[],
        );
        let (code, doc) = analyze(&bench, &run);
        let f = fails_phone_b_with(code, &doc, "net-in-isolation", what);
        assert_eq!(f["evidence"]["packets"], 2, "{what}: {f}");
        match named {
            Named::NotIp(kind) => {
                assert_eq!(f["evidence"]["not_ip"][kind], 2, "{what}: {f}");
            }
            Named::Malformed => {
                assert_eq!(f["evidence"]["malformed"], 2, "{what}: {f}");
                let reasons = f["evidence"]["malformed_reasons"].to_string();
                assert!(reasons.contains("IP version 7"), "{what}: {reasons}");
            }
            Named::Ip => {
                assert_eq!(
                    f["evidence"]["destinations"],
                    serde_json::json!(["203.0.113.7"]),
                    "{what}: {f}"
                );
                assert!(f["evidence"].get("not_ip").is_none(), "{what}: {f}");
                assert!(f["evidence"].get("malformed").is_none(), "{what}: {f}");
            }
        }
    }

    // The switch's own LLDP on phone-b's link is not phone-b's doing.
    let run = fixture_rewritten(
        &bench.dir.path().join("switch-lldp"),
        "isolated-talker",
        |i, t, f| {
            if implant_datagram(i, t, f) {
                vec![(t, lldp(switch_mac, b"switch"))]
            } else {
                unchanged(i, t, f)
            }
        },
        &[],
    );
    let (code, doc) = analyze(&bench, &run);
    assert_eq!(code, Some(0), "the switch's LLDP: {doc}");
}

// --- Class 8: a transport header that does not parse --------------------------

/// `f` (Ethernet/IPv4/UDP) with its UDP length `extra` bytes past the
/// datagram's end.
fn udp_length_past_the_end(f: &[u8], extra: u16) -> Vec<u8> {
    let mut f = f.to_vec();
    let at = 14 + usize::from(f[14] & 0x0f) * 4 + 4;
    let len = u16::from_be_bytes([f[at], f[at + 1]]) + extra;
    f[at..at + 2].copy_from_slice(&len.to_be_bytes());
    f
}

/// Class 8, the example: in `isolated-talker`, phone-b's two
/// datagrams with a UDP length 64 bytes past their end fail phone-b
/// (`net-in-isolation`, to 203.0.113.7, named malformed with why).
#[test]
fn a_malformed_transport_header_does_not_hide_a_packet_in_isolation() {
    let bench = TestBench::default_bench();
    let run = fixture_rewritten(
        bench.dir.path(),
        "isolated-talker",
        |i, t, f| {
            if implant_datagram(i, t, f) {
                vec![(t, udp_length_past_the_end(f, 64))]
            } else {
                unchanged(i, t, f)
            }
        },
        &[],
    );
    let (code, doc) = analyze(&bench, &run);
    let f = fails_phone_b_with(code, &doc, "net-in-isolation", "UDP length + 64");
    assert_eq!(f["severity"], "high", "{f}");
    assert_eq!(f["evidence"]["packets"], 2, "{f}");
    assert_eq!(f["evidence"]["malformed"], 2, "{f}");
    assert_eq!(
        f["evidence"]["destinations"],
        serde_json::json!(["203.0.113.7"]),
        "{f}"
    );
    let reasons = f["evidence"]["malformed_reasons"].to_string();
    assert!(reasons.contains("UDP header"), "{reasons}");
    let summary = f["summary"].as_str().expect("summary");
    assert!(summary.contains("2 of them malformed"), "{summary}");
}

/// Class 8 under an allowlist: damaged datagrams to a destination the list
/// does not allow are judged by the destination their IP header names.
#[test]
fn a_malformed_packet_to_a_denied_destination_is_denied() {
    let bench = TestBench::default_bench();
    let extra: Vec<(&str, f64, Vec<u8>)> = (0..3)
        .map(|k| {
            let f = from_phone_b(BENCH_B_MAC, C2, (40_100, 443), b"report");
            (
                "phone-b",
                11.0 + 0.5 * f64::from(k),
                udp_length_past_the_end(&f, 64),
            )
        })
        .collect();
    let run = fixture_rewritten(bench.dir.path(), "honest", unchanged, &extra);
    let (code, doc) = analyze(&bench, &run);
    let f = fails_phone_b_with(
        code,
        &doc,
        "net-unexpected-destination",
        "malformed, online",
    );
    assert_eq!(f["channel"], "203.0.113.7", "{f}");
    assert_eq!(f["phase"], "online", "{f}");
    assert_eq!(f["evidence"]["malformed"], 3, "{f}");
}

// --- Class 7: "housekeeping" that leaves the link -----------------------------

/// A DHCP message from phone-b (RFC 2131 §2): `op` 1, client address
/// `ciaddr`, message type `kind` (3 DHCPREQUEST, 1 DHCPDISCOVER), and
/// `hostname` and `vendor` in options 12 and 60.
fn dhcp_message(kind: u8, ciaddr: Ipv4Addr, hostname: &[u8], vendor: &[u8]) -> Vec<u8> {
    let mut m = vec![1, 1, 6, 0];
    m.extend_from_slice(&0x3903_f326u32.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&ciaddr.octets());
    m.extend_from_slice(&[0; 12]);
    m.extend_from_slice(&PHONE_B_MAC);
    m.extend_from_slice(&[0; 10 + 64 + 128]);
    m.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind]);
    for (code, value) in [(12u8, hostname), (60, vendor)] {
        m.push(code);
        m.push(u8::try_from(value.len()).expect("option fits"));
        m.extend_from_slice(value);
    }
    m.push(255);
    m
}

/// A DHCPACK from the bench side of phone-b's link: from its MAC and
/// address, server identifier (option 54) its address.
fn bench_dhcp_ack() -> Vec<u8> {
    let mut m = vec![2, 1, 6, 0];
    m.extend_from_slice(&0x3903_f326u32.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&PHONE_B.octets());
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(&PHONE_B_MAC);
    m.extend_from_slice(&[0; 10 + 64 + 128]);
    m.extend_from_slice(&[99, 130, 83, 99, 53, 1, 5, 54, 4]);
    m.extend_from_slice(&BENCH_B.octets());
    m.extend_from_slice(&[1, 4, 255, 255, 255, 0, 255]);
    let l4 = udp(BENCH_B.into(), PHONE_B.into(), 67, 68, &m);
    ethernet(
        PHONE_B_MAC,
        BENCH_B_MAC,
        ETHERTYPE_IPV4,
        &ipv4(BENCH_B, PHONE_B, 17, 64, 0x0101, &l4),
    )
}

/// Class 7, the examples: in `honest`'s online phase, phone-b's
/// four DHCPREQUESTs unicast to 203.0.113.7:67 with data in the hostname
/// and vendor-class options, and four datagrams to the routable group
/// 233.252.0.7:5000, and a datagram to 203.0.113.7 in an Ethernet
/// broadcast frame: each fails phone-b (`net-unexpected-destination`, the
/// address it went to).
#[test]
fn housekeeping_that_leaves_the_link_is_judged_by_its_destination() {
    let bench = TestBench::default_bench();
    let secret = b"c2VjcmV0IGRhdGEgZnJvbSB0aGUgcGhvbmU";
    let multicast_mac = [0x01, 0x00, 0x5e, 0x7c, 0x00, 0x07];
    let group = Ipv4Addr::new(233, 252, 0, 7);
    type Frame = Box<dyn Fn(u8) -> Vec<u8>>;
    let cases: [(&str, Frame, &str); 3] = [
        (
            "DHCPREQUEST unicast to 203.0.113.7",
            Box::new(|k| {
                let host = [&b"pixel-"[..], &secret[usize::from(k) * 8..][..8]].concat();
                let vendor = [&b"android-dhcp-14:"[..], &secret[..]].concat();
                from_phone_b(
                    BENCH_B_MAC,
                    C2,
                    (68, 67),
                    &dhcp_message(3, PHONE_B, &host, &vendor),
                )
            }),
            "203.0.113.7",
        ),
        (
            "UDP to the routable group 233.252.0.7",
            Box::new(move |k| {
                from_phone_b(
                    multicast_mac,
                    group,
                    (5000, 5000),
                    &secret[usize::from(k)..],
                )
            }),
            "233.252.0.7",
        ),
        (
            "UDP to 203.0.113.7 in an Ethernet broadcast frame",
            Box::new(|k| from_phone_b([0xff; 6], C2, (5000, 5000), &secret[usize::from(k)..])),
            "203.0.113.7",
        ),
    ];
    for (what, frame, channel) in cases {
        let extra: Vec<(&str, f64, Vec<u8>)> = (0..4u8)
            .map(|k| ("phone-b", 11.0 + 0.4 * f64::from(k), frame(k)))
            .collect();
        let dir = bench.dir.path().join(channel).join(what.len().to_string());
        let run = fixture_rewritten(&dir, "honest", unchanged, &extra);
        let (code, doc) = analyze(&bench, &run);
        let denied = failing(&doc, "phone-b", "net-unexpected-destination");
        let f = fails_phone_b_with(code, &doc, "net-unexpected-destination", what);
        assert!(
            denied.iter().any(|f| f["channel"] == channel
                && f["phase"] == "online"
                && f["severity"] == "high"
                && f["evidence"]["packets"] == 4),
            "{what}: {f} {doc}"
        );
    }
}

/// `honest` with phone-b's online allowlist narrowed to names (no
/// 10.77.0.0/16), so the bench's own addresses are not allowed by the list.
fn narrow_online_allowlist(run: &Path) {
    let path = run.join("events.jsonl");
    let text = std::fs::read_to_string(&path).expect("events");
    let mut out = String::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).expect("json line");
        if v["kind"] == "phase" && v["dut"] == "phone-b" && v["name"] == "online" {
            let allow = v["expect"]["allow"].as_array_mut().expect("allow");
            allow.retain(|e| e != "10.77.0.0/16");
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    std::fs::write(&path, out).expect("write events");
}

/// Name the bench side of phone-b's link in a copied run's run.json.
fn set_bench_ip(run: &Path, bench_ip: &[&str]) {
    let path = run.join("run.json");
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("run.json")).expect("json");
    let b = doc["duts"]
        .as_array_mut()
        .expect("duts")
        .iter_mut()
        .find(|d| d["name"] == "phone-b")
        .expect("phone-b");
    b["bench_ip"] = Value::from(bench_ip.to_vec());
    std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("json")).expect("write");
}

/// Class 7, what an honest phone does on its link still passes, under an
/// allowlist of names only: DHCP to the broadcast address and renewals
/// unicast to the bench's own server (named by `bench_ip`, or known from
/// the DHCPACK the bench sent), NetBIOS to the subnet's broadcast address,
/// mDNS, SSDP and its IGMP join.
#[test]
fn housekeeping_that_stays_on_the_link_still_passes() {
    let bench = TestBench::default_bench();
    let mdns_mac = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb];
    let ssdp_mac = [0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa];
    let ssdp = Ipv4Addr::new(239, 255, 255, 250);
    let igmp_join = ethernet(
        ssdp_mac,
        PHONE_B_MAC,
        ETHERTYPE_IPV4,
        &ipv4(
            PHONE_B,
            ssdp,
            2,
            1,
            0x0303,
            &[0x16, 0, 0xfa, 0x04, 239, 255, 255, 250],
        ),
    );
    let mut stays: Vec<(&str, f64, Vec<u8>)> = vec![
        ("phone-b", 11.0, {
            let l4 = udp(
                Ipv4Addr::UNSPECIFIED.into(),
                Ipv4Addr::BROADCAST.into(),
                68,
                67,
                &dhcp_message(1, Ipv4Addr::UNSPECIFIED, b"pixel", b"android-dhcp-14"),
            );
            ethernet(
                [0xff; 6],
                PHONE_B_MAC,
                ETHERTYPE_IPV4,
                &ipv4(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, 17, 64, 1, &l4),
            )
        }),
        (
            "phone-b",
            11.2,
            from_phone_b(
                [0xff; 6],
                Ipv4Addr::new(10, 77, 2, 255),
                (137, 137),
                b"NBNS",
            ),
        ),
        (
            "phone-b",
            11.4,
            from_phone_b(
                mdns_mac,
                Ipv4Addr::new(224, 0, 0, 251),
                (5353, 5353),
                b"mDNS",
            ),
        ),
        ("phone-b", 11.5, igmp_join),
        (
            "phone-b",
            11.6,
            from_phone_b(ssdp_mac, ssdp, (50_000, 1900), b"M-SEARCH * HTTP/1.1\r\n"),
        ),
    ];
    for k in 0..4u8 {
        stays.push((
            "phone-b",
            12.0 + 0.2 * f64::from(k),
            from_phone_b(
                BENCH_B_MAC,
                BENCH_B,
                (68, 67),
                &dhcp_message(3, PHONE_B, b"pixel", b"android-dhcp-14"),
            ),
        ));
    }
    // Named by bench_ip; known from the bench's DHCPACK at boot; and, as a
    // control, the same allowlist with neither (nothing extra sent).
    let mut with_ack = stays.clone();
    with_ack.push(("phone-b", 1.0, bench_dhcp_ack()));
    for (what, extra, bench_ip) in [
        ("nothing extra", Vec::new(), None),
        ("bench_ip names the server", stays, Some("10.77.2.1")),
        ("the bench's DHCPACK names it", with_ack, None),
    ] {
        let dir = bench.dir.path().join(what.replace(' ', "-"));
        let run = fixture_rewritten(&dir, "honest", unchanged, &extra);
        narrow_online_allowlist(&run);
        if let Some(ip) = bench_ip {
            set_bench_ip(&run, &[ip]);
        }
        let (code, doc) = analyze(&bench, &run);
        assert_eq!(code, Some(0), "{what}: {doc}");
        assert_eq!(dut(&doc, "phone-b")["verdict"], "pass", "{what}: {doc}");
    }
}
