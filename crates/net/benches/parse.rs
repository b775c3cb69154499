//! Header parsing throughput: ours (`benchctl_net::parse_frame`) against
//! etherparse's zero-copy slicer on the same frames, the traffic mix of a
//! phone's capture (TCP with options, UDP/DNS, QUIC-sized UDP, IPv6, ARP).
//! Not a timed test: it prints ns per frame, the numbers the packet
//! module's documentation quotes for keeping its own parser.
//!
//! Run: `cargo bench -p benchctl-net --bench parse`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use benchctl_net::frame::{ETHERTYPE_IPV4, ETHERTYPE_IPV6, ethernet, ipv4, ipv6, udp};
use benchctl_net::packet::build;
use benchctl_net::{LinkType, Transport, parse_frame};

const FRAMES: usize = 1 << 20;
const RUNS: usize = 5;

fn mix() -> Vec<Vec<u8>> {
    let dut = Ipv4Addr::new(10, 77, 1, 2);
    let far = Ipv4Addr::new(142, 250, 74, 74);
    let v6 = |s: &str| s.parse::<Ipv6Addr>().unwrap_or(Ipv6Addr::LOCALHOST);
    let (a6, b6) = (v6("2001:db8::2"), v6("2001:db8::99"));
    let dns_query = vec![
        0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'w', b'w', b'w', 7, b'e', b'x', b'a', b'm',
        b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, 0, 1, 0, 1,
    ];
    let mac = [2, 0, 0, 0x4d, 1, 2];
    let gw = [2, 0, 0, 0x4d, 1, 1];
    vec![
        build::v4_tcp(true, dut, far, 40000, 443, 0x02, &[]),
        build::v4_tcp(false, far, dut, 443, 40000, 0x18, &[0x17; 1200]),
        build::v4_udp(
            true,
            dut,
            Ipv4Addr::new(10, 77, 1, 1),
            50000,
            53,
            &dns_query,
        ),
        build::v4_udp(true, dut, far, 50001, 443, &[0x40; 1250]),
        ethernet(
            gw,
            mac,
            ETHERTYPE_IPV6,
            &ipv6(
                a6,
                b6,
                17,
                64,
                &udp(IpAddr::V6(a6), IpAddr::V6(b6), 5353, 5353, &[0; 60]),
            ),
        ),
        ethernet(
            gw,
            mac,
            ETHERTYPE_IPV4,
            &ipv4(
                dut,
                far,
                17,
                64,
                1,
                &udp(dut.into(), far.into(), 123, 123, &[0; 48]),
            ),
        ),
        build::arp_request(dut, Ipv4Addr::new(10, 77, 1, 1)),
    ]
}

fn ours(frames: &[Vec<u8>]) -> u64 {
    let mut sum = 0u64;
    for i in 0..FRAMES {
        if let Ok(f) = parse_frame(LinkType::Ethernet, &frames[i % frames.len()])
            && let Some(ip) = f.ip()
        {
            sum += match ip.transport {
                Transport::Tcp { dport, .. } | Transport::Udp { dport, .. } => u64::from(dport),
                _ => 1,
            } + ip.payload.len() as u64;
        }
    }
    sum
}

fn theirs(frames: &[Vec<u8>]) -> u64 {
    use etherparse::{SlicedPacket, TransportSlice};
    let mut sum = 0u64;
    for i in 0..FRAMES {
        if let Ok(p) = SlicedPacket::from_ethernet(&frames[i % frames.len()])
            && p.net.is_some()
        {
            sum += match &p.transport {
                Some(TransportSlice::Tcp(t)) => {
                    u64::from(t.destination_port()) + t.payload().len() as u64
                }
                Some(TransportSlice::Udp(u)) => {
                    u64::from(u.destination_port()) + u.payload().len() as u64
                }
                _ => 1,
            };
        }
    }
    sum
}

fn best_ns_per_frame(f: impl Fn() -> u64) -> f64 {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_nanos() as f64 / FRAMES as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let frames = mix();
    let a = best_ns_per_frame(|| ours(black_box(&frames)));
    let b = best_ns_per_frame(|| theirs(black_box(&frames)));
    println!("{FRAMES} frames of a phone's traffic mix, best of {RUNS}:");
    println!("  benchctl-net parse_frame   {a:6.1} ns/frame");
    println!("  etherparse SlicedPacket    {b:6.1} ns/frame");
}
