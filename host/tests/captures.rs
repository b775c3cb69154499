//! Captures as labs hold them: every link type benchctl reads gives the
//! findings the same traffic gives over Ethernet, what it cannot read is
//! never a pass, and every frame on a DUT's link is the DUT's whatever
//! source address it carries.
//!
//! The link-type copies are written by scapy (an outside tool) from a real
//! capture and checked by tshark before benchctl reads them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use common::judged::analyze;
use common::outside::tshark;
use common::{TestBench, repo_root};

fn real(name: &str) -> PathBuf {
    repo_root().join("../shared/data/real").join(name)
}

/// A bare capture's one pseudo-DUT: (findings as kind/severity/channel,
/// frame counts).
fn only_dut(doc: &Value) -> (Vec<(String, String, String)>, Value) {
    let duts = doc["duts"].as_array().expect("duts");
    assert_eq!(duts.len(), 1, "{doc}");
    let findings = duts[0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (s("kind"), s("severity"), s("channel"))
        })
        .collect();
    (findings, duts[0]["frames"].clone())
}

/// Writes copies of an Ethernet capture (argv[1]) into folder argv[2], one
/// per link type, with the same IP packets and times.
const LINK_TYPES: &str = r#"
import os, struct, sys
from scapy.all import rdpcap, raw, IP, IPv6, Ether
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, LLC, SNAP
from scapy.layers.dot11 import RadioTap, Dot11
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
packets = rdpcap(src)
BSSID = '02:00:00:4d:ff:01'
def copy(name, linktype, make):
    # Classic pcap, microseconds: the container is simple; scapy builds
    # every link-layer header.
    with open(os.path.join(out, name), 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, linktype))
        for p in packets:
            data = make(p)
            us = int(round(float(p.time) * 1e6))
            f.write(struct.pack('<IIII', us // 1000000, us % 1000000, len(data), len(data)))
            f.write(data)
def ip(p):
    return raw(p[IP] if IP in p else p[IPv6])
def family(p, order):
    return struct.pack(order + 'I', 2 if IP in p else 30)
def mac(p):
    return bytes.fromhex(p[Ether].src.replace(':', '')) + b'\0\0'
copy('raw.pcap', 101, ip)
copy('ipv4.pcap', 228, ip)
copy('null.pcap', 0, lambda p: family(p, '<') + ip(p))
copy('loop.pcap', 108, lambda p: family(p, '>') + ip(p))
copy('sll.pcap', 113, lambda p: raw(CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6,
     src=mac(p), proto=p[Ether].type)) + ip(p))
copy('sll2.pcap', 276, lambda p: raw(CookedLinuxV2(proto=p[Ether].type, ifindex=2,
     lladdrtype=1, pkttype=0, lladdrlen=6, src=mac(p))) + ip(p))
def wifi(p):
    # QoS data to the access point, then LLC/SNAP.
    return raw(Dot11(type=2, subtype=8, FCfield=0x01, addr1=BSSID, addr2=p[Ether].src,
                     addr3=p[Ether].dst)) + b'\0\0' + raw(LLC(dsap=0xaa, ssap=0xaa, ctrl=3)
                     / SNAP(OUI=0, code=p[Ether].type)) + ip(p)
copy('radiotap.pcap', 127, lambda p: raw(RadioTap()) + wifi(p))
copy('wlan.pcap', 105, wifi)
copy('unknown.pcap', 147, ip)
"#;

/// tshark's count of IP packets in `file`: an outside reader agrees the
/// copies hold the traffic they should.
fn ip_packets_per_tshark(file: &Path) -> usize {
    let out = Command::new(tshark())
        .args([
            "-r",
            file.to_str().expect("utf-8"),
            "-Y",
            "ip or ipv6",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .output()
        .expect("tshark runs");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// Run a Python script of the test venv with `args`.
fn python(script: &str, args: &[&Path]) {
    let out = Command::new(common::outside::venv_python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python: {}\n(run scripts/install-test-deps if scapy is missing)",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// editcap (Wireshark's, installed with tshark) with `args`.
fn editcap(args: &[&str]) {
    let out = Command::new("editcap")
        .args(args)
        .output()
        .expect("editcap runs");
    assert!(
        out.status.success(),
        "editcap {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every link-type copy of the Ethernet capture `original` (which must
/// fail with a `net-beacon`) gives its findings, its exit code and its
/// count of frames read; a link type benchctl does not read is incomplete.
fn link_types_match(bench: &TestBench, original: &Path) {
    let copies = bench.dir.path().join("copies");
    python(LINK_TYPES, &[original, &copies]);
    let modified = copies.join("modified.pcap");
    editcap(&[
        "-F",
        "modpcap",
        original.to_str().expect("utf-8"),
        modified.to_str().expect("utf-8"),
    ]);

    let (code, doc) = analyze(bench, original);
    assert_eq!(code, Some(1), "the check-ins fail it: {doc}");
    let (findings, frames) = only_dut(&doc);
    assert!(findings.iter().any(|f| f.0 == "net-beacon"), "{doc}");
    let packets = ip_packets_per_tshark(original);
    assert_eq!(frames["read"], packets as u64, "{doc}");

    for name in [
        "raw.pcap",
        "ipv4.pcap",
        "null.pcap",
        "loop.pcap",
        "sll.pcap",
        "sll2.pcap",
        "radiotap.pcap",
        "wlan.pcap",
        "modified.pcap",
    ] {
        let copy = copies.join(name);
        assert_eq!(
            ip_packets_per_tshark(&copy),
            packets,
            "tshark reads {name} as IP"
        );
        let (copy_code, copy_doc) = analyze(bench, &copy);
        let (copy_findings, copy_frames) = only_dut(&copy_doc);
        assert_eq!(copy_code, code, "{name}: {copy_doc}");
        assert_eq!(copy_findings, findings, "{name}");
        assert_eq!(copy_frames["read"], packets as u64, "{name}: {copy_doc}");
        assert_eq!(copy_frames["not_read"], 0, "{name}: {copy_doc}");
    }

    // A link type benchctl does not read is never a pass.
    let (code, doc) = analyze(bench, &copies.join("unknown.pcap"));
    assert_eq!(code, Some(3), "{doc}");
    assert_eq!(doc["verdict"], "incomplete", "{doc}");
    let problems = doc["duts"][0]["problems"].to_string();
    assert!(problems.contains("link type 147"), "{problems}");
}

/// A bot's check-ins to a bare address, from a real network (Slips IDS
/// test data).
#[test]
#[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
fn every_link_type_of_a_real_capture_gives_the_findings_of_the_ethernet_original() {
    let bench = TestBench::default_bench();
    link_types_match(&bench, &real("slips_test-cc-capture-2.pcap"));
}

/// Writes (argv[1]) an Ethernet capture of a host checking in with
/// 198.51.100.17:8443 every 30 s for ten minutes, a TCP handshake and a
/// small request each time, among DNS lookups of its own.
const CHECK_INS: &str = r#"
import struct, sys, socket
out = sys.argv[1]
H, C2, GW = '10.0.0.23', '198.51.100.17', '10.0.0.1'
HM, GM = b'\x02\x00\x00\x00\x00\x17', b'\x02\x00\x00\x00\x00\x01'
def frame(src, dst, proto, l4, out_bound):
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    macs = GM + HM if out_bound else HM + GM
    return macs + b'\x08\x00' + ip + l4
def tcp(src, dst, sp, dp, flags, data=b''):
    return frame(src, dst, 6, struct.pack('!HHIIBBHHH', sp, dp, 1, 1, 0x50, flags, 64240, 0, 0) + data, src == H)
def udp(src, dst, sp, dp, data):
    return frame(src, dst, 17, struct.pack('!HHHH', sp, dp, 8 + len(data), 0) + data, src == H)
packets = []
t0 = 1795707000.0
for i in range(20):
    t = t0 + 30.0 * i + (0.2 if i % 2 else 0.0)
    sp = 40000 + i
    packets += [(t, tcp(H, C2, sp, 8443, 0x02)), (t + 0.05, tcp(C2, H, 8443, sp, 0x12)),
                (t + 0.06, tcp(H, C2, sp, 8443, 0x10)), (t + 0.07, tcp(H, C2, sp, 8443, 0x18, b'GET /cmd HTTP/1.1\r\n\r\n')),
                (t + 0.12, tcp(C2, H, 8443, sp, 0x18, b'HTTP/1.1 204 No Content\r\n\r\n'))]
    packets.append((t + 7.0, udp(H, GW, 50000 + i, 53, b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03org\x00\x00\x01\x00\x01')))
packets.sort()
with open(out, 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for t, data in packets:
        us = int(round(t * 1e6))
        f.write(struct.pack('<IIII', us // 1000000, us % 1000000, len(data), len(data)) + data)
"#;

/// The same on a capture written here (runs without the shared data).
#[test]
fn every_link_type_gives_the_findings_of_the_ethernet_original() {
    let bench = TestBench::default_bench();
    let original = bench.dir.path().join("check-ins.pcap");
    python(CHECK_INS, &[&original]);
    link_types_match(&bench, &original);
}

/// A real Linux cooked capture: every frame read.
#[test]
#[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
fn a_real_linux_cooked_capture_is_read_whole() {
    let bench = TestBench::default_bench();
    let (_, doc) = analyze(&bench, &real("ndpi_KakaoTalk_talk.pcap"));
    let (_, frames) = only_dut(&doc);
    assert_eq!(frames["frames"], 3203, "{doc}");
    assert_eq!(frames["read"], 3203, "{doc}");
    assert_eq!(frames["not_read"], 0, "{doc}");
    assert_eq!(frames["malformed"], 0, "{doc}");
}

/// A DNS tunnel cut to a 60-byte snap length (`editcap -s 60`): the names
/// are gone, so the DUT cannot pass on them.
#[test]
#[cfg_attr(not(shared_data), ignore = "needs ../shared/data next to the checkout")]
fn a_dns_tunnel_cut_by_the_snap_length_does_not_pass() {
    let bench = TestBench::default_bench();
    let original = real("ndpi_dns_exfiltration.pcap");
    let (code, _) = analyze(&bench, &original);
    assert_eq!(code, Some(1), "fails at full length");
    let cut = bench.dir.path().join("cut.pcap");
    editcap(&[
        "-s",
        "60",
        original.to_str().expect("utf-8"),
        cut.to_str().expect("utf-8"),
    ]);
    let (code, doc) = analyze(&bench, &cut);
    assert_ne!(code, Some(0), "{doc}");
    assert_ne!(doc["verdict"], "pass", "{doc}");
    let (_, frames) = only_dut(&doc);
    assert!(frames["cut"].as_u64().is_some_and(|n| n > 0), "{doc}");
    let problems = doc["duts"][0]["problems"].to_string();
    assert!(problems.contains("snap length"), "{problems}");
}

/// Rewrite a fixture's capture into `dir`: every frame through `edit`
/// (interface name, run time, frame) -> the frames to write in its place,
/// plus `extra` frames (interface, run time, frame) at their times. The
/// rest of the fixture is copied as it is.
/// What a rewrite does with one frame: (interface, run time, bytes) -> the
/// frames in its place.
type Edit<'a> = &'a dyn Fn(&str, f64, &[u8]) -> Vec<Vec<u8>>;

fn rewritten_fixture(
    dir: &Path,
    fixture: &str,
    edit: Edit<'_>,
    extra: &[(&str, f64, Vec<u8>)],
) -> PathBuf {
    common::judged::fixture_rewritten(
        dir,
        fixture,
        |name, t, f| edit(name, t, f).into_iter().map(|f| (t, f)).collect(),
        extra,
    )
}

/// phone-b's packet to 203.0.113.7 (the fixture's implant) with its source
/// address replaced: IPv4 by `v4`, or the whole packet as IPv6 from `v6`
/// to 2001:db8::7.
fn from_elsewhere(
    frame: &[u8],
    v4: Option<std::net::Ipv4Addr>,
    v6: Option<std::net::Ipv6Addr>,
) -> Vec<u8> {
    use benchctl_net::frame::{ETHERTYPE_IPV4, ETHERTYPE_IPV6, ethernet, ipv4, ipv6, udp};
    let parsed = benchctl_net::parse_ethernet(frame).expect("a fixture frame");
    let ip = parsed.ip().expect("IP");
    let (sport, dport) = ip.ports().expect("UDP");
    let (dst, src) = (
        parsed.link.dst.expect("dst").0,
        parsed.link.src.expect("src").0,
    );
    match (v4, v6) {
        (Some(from), _) => {
            let to = match ip.dst {
                std::net::IpAddr::V4(a) => a,
                other => panic!("IPv4 expected, got {other}"),
            };
            let l4 = udp(from.into(), to.into(), sport, dport, ip.payload);
            ethernet(dst, src, ETHERTYPE_IPV4, &ipv4(from, to, 17, 64, 7, &l4))
        }
        (None, Some(from)) => {
            let to: std::net::Ipv6Addr = "2001:db8::7".parse().expect("address");
            let l4 = udp(from.into(), to.into(), sport, dport, ip.payload);
            ethernet(dst, src, ETHERTYPE_IPV6, &ipv6(from, to, 17, 64, &l4))
        }
        (None, None) => frame.to_vec(),
    }
}

/// The isolated-talker fixture with phone-b's two packets sent from an
/// address run.json does not list (a second lease, IPv6 link-local, an
/// IPv6 temporary address, a spoofed source): phone-b still fails for
/// them, and the finding names the address. Before, "neither end is the
/// DUT" dropped them and the run passed.
#[test]
fn a_dut_that_sends_from_an_unlisted_address_is_still_caught() {
    let bench = TestBench::default_bench();
    let v4 = |s: &str| Some(s.parse::<std::net::Ipv4Addr>().expect("v4"));
    let v6 = |s: &str| Some(s.parse::<std::net::Ipv6Addr>().expect("v6"));
    let cases = [
        ("second-lease", v4("10.77.2.77"), None, "10.77.2.77"),
        ("spoofed", v4("198.51.100.200"), None, "198.51.100.200"),
        (
            "link-local",
            None,
            v6("fe80::1c2:3ff:fe04:506"),
            "fe80::1c2:3ff:fe04:506",
        ),
        (
            "temporary",
            None,
            v6("2001:db8:2::4d2:77"),
            "2001:db8:2::4d2:77",
        ),
    ];
    for (name, new_v4, new_v6, shown) in cases {
        let dir = bench.dir.path().join(name);
        let edit = |interface: &str, _t: f64, frame: &[u8]| -> Vec<Vec<u8>> {
            let to_c2 = benchctl_net::parse_ethernet(frame)
                .ok()
                .and_then(|f| f.ip().map(|ip| ip.dst.to_string() == "203.0.113.7"))
                .unwrap_or(false);
            if interface == "phone-b" && to_c2 {
                vec![from_elsewhere(frame, new_v4, new_v6)]
            } else {
                vec![frame.to_vec()]
            }
        };
        let run = rewritten_fixture(&dir, "isolated-talker", &edit, &[]);
        let (code, doc) = analyze(&bench, &run);
        assert_eq!(code, Some(1), "{name}: {doc}");
        let b = doc["duts"]
            .as_array()
            .expect("duts")
            .iter()
            .find(|d| d["dut"] == "phone-b")
            .expect("phone-b");
        let isolation: Vec<&Value> = b["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["kind"] == "net-in-isolation")
            .collect();
        assert_eq!(isolation.len(), 1, "{name}: {b}");
        assert_eq!(isolation[0]["evidence"]["packets"], 2, "{name}: {b}");
        assert_eq!(
            isolation[0]["evidence"]["unlisted_sources"],
            serde_json::json!([shown]),
            "{name}: {b}"
        );
        assert!(
            isolation[0]["summary"]
                .as_str()
                .expect("summary")
                .contains(shown),
            "{name}: {b}"
        );
    }
}

/// The gateway's own link housekeeping during an isolated phase (an ARP
/// request, an IPv6 router advertisement, a DHCP offer, all from the
/// bench's MAC) is the bench's, not the phone's: the honest phone passes.
#[test]
fn the_gateways_broadcasts_stay_the_benchs() {
    use benchctl_net::frame::{
        ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ethernet, icmp, ipv4, ipv6, udp,
    };
    let bench = TestBench::default_bench();
    let gateway_mac = [0x02, 0, 0, 0x4d, 0x01, 0x01];
    let gateway: std::net::Ipv4Addr = "10.77.1.1".parse().expect("v4");
    let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
    arp.extend(gateway_mac);
    arp.extend(gateway.octets());
    arp.extend([0; 6]);
    arp.extend([10, 77, 1, 99]);
    let arp = ethernet([0xff; 6], gateway_mac, ETHERTYPE_ARP, &arp);
    let fe80: std::net::Ipv6Addr = "fe80::1".parse().expect("v6");
    let all_nodes: std::net::Ipv6Addr = "ff02::1".parse().expect("v6");
    let ra = ethernet(
        [0x33, 0x33, 0, 0, 0, 1],
        gateway_mac,
        ETHERTYPE_IPV6,
        &ipv6(
            fe80,
            all_nodes,
            58,
            255,
            &icmp(
                fe80.into(),
                all_nodes.into(),
                134,
                0,
                &[64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
        ),
    );
    let broadcast: std::net::Ipv4Addr = "255.255.255.255".parse().expect("v4");
    let offer = ethernet(
        [0xff; 6],
        gateway_mac,
        ETHERTYPE_IPV4,
        &ipv4(
            gateway,
            broadcast,
            17,
            64,
            9,
            &udp(gateway.into(), broadcast.into(), 67, 68, &[2, 1, 6, 0]),
        ),
    );
    let extra = [
        ("phone-a", 14.0, arp),
        ("phone-a", 14.5, ra),
        ("phone-a", 15.0, offer),
    ];
    let keep = |_: &str, _: f64, frame: &[u8]| vec![frame.to_vec()];
    let run = rewritten_fixture(bench.dir.path(), "honest", &keep, &extra);
    let (code, doc) = analyze(&bench, &run);
    assert_eq!(code, Some(0), "{doc}");
    let a = &doc["duts"][0];
    assert_eq!(a["dut"], "phone-a");
    assert_eq!(a["findings"], serde_json::json!([]), "{a}");
    assert_eq!(a["frames"]["not_read"], 0, "{a}");
}

/// A DNS tunnel from the simulated lab (phone-b's `dns-exfil` implant,
/// 32-character labels every 5 s), recorded in virtual time: it fails
/// whole, and once `editcap -s 60` has cut the names off the lookups the
/// phone is not passed on what could not be read.
#[test]
fn a_simulated_dns_tunnel_cut_to_60_bytes_is_not_a_pass() {
    let bench = TestBench::default_bench();
    let default_bench =
        std::fs::read_to_string(repo_root().join("bench.toml")).expect("bench.toml");
    let start = default_bench
        .find("implants = [")
        .expect("phone-b has implants");
    let end = start + default_bench[start..].find("]\n").expect("the list ends") + 2;
    let text = format!(
        "{}implants = [{{ kind = \"dns-exfil\", every_s = 5, label_len = 32 }}]\n{}",
        &default_bench[..start],
        &default_bench[end..]
    );
    let config = benchctl::config::parse(Path::new("bench.toml"), &text).expect("bench");
    let scenario = benchctl::scenario::parse(
        Path::new("online.toml"),
        r#"[scenario]
name = "online"
duts = ["phone-b"]
steps = [
  { phase = "boot" }, { do = "net.open" }, { do = "power.on" }, { wait = "10s" },
  { phase = "online" }, { wait = "90s" },
]
"#,
        &config,
    )
    .expect("scenario");
    let run = bench.dir.path().join("tunnel");
    benchctl::runner::record_in_virtual_time(
        &config,
        &scenario,
        &run,
        &benchctl::bench::VirtualOptions::new(3),
    )
    .expect("recorded");
    let (code, doc) = analyze(&bench, &run);
    assert_eq!(code, Some(1), "{doc}");
    assert!(doc.to_string().contains("dns-exfiltration"), "{doc}");

    let whole = run.join("whole.pcapng");
    std::fs::rename(run.join("net.pcapng"), &whole).expect("move");
    editcap(&[
        "-s",
        "60",
        whole.to_str().expect("utf-8"),
        run.join("net.pcapng").to_str().expect("utf-8"),
    ]);
    std::fs::remove_file(&whole).expect("remove");
    let (code, doc) = analyze(&bench, &run);
    assert_ne!(code, Some(0), "{doc}");
    let b = &doc["duts"][0];
    assert_eq!(b["dut"], "phone-b");
    assert_ne!(b["verdict"], "pass", "{doc}");
    assert!(
        b["frames"]["dns_cut"].as_u64().is_some_and(|n| n >= 10),
        "{b}"
    );
    assert!(b["frames"]["cut"].as_u64().is_some_and(|n| n > 100), "{b}");
    assert_eq!(
        b["frames"]["read"], b["frames"]["frames"],
        "headers whole in every cut frame, so every frame read: {b}"
    );
    assert!(
        b["problems"].to_string().contains("snap length (60 bytes"),
        "{b}"
    );
}
