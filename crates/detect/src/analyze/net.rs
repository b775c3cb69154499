//! Packets: one pass over the capture, in time order, sorting what each DUT
//! sent into what the detectors need: packets its phases forbid (judged by
//! `detect::net_policy`), the DNS names it asked for, per-flow timing
//! (timing channels), per-destination connections (beacons) and packet and
//! byte counts (the run history).
//!
//! Memory does not grow with the number of packets: the frames are dropped
//! as soon as they are read, a flow's timing is judged as it goes
//! (`detect::timing::Stream` keeps a few hundred recent times per flow) and
//! packets and bytes are counted, not kept. What does grow, and honestly
//! so: a few kilobytes per flow (source, destination, protocol and port),
//! one entry per connection (a TCP SYN, a UDP exchange after a second of
//! silence, data on an open TCP connection after 4 s of silence) and per
//! DNS query the DUT sent, and one per (phase, destination) a phase
//! forbids, however many packets went there. A busy day of one phone is
//! tens of thousands of those, not the millions of packets.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::net_policy::proto_name;
pub use crate::net_policy::{NetPhase, Offence, Offences};
use crate::timing;
use benchctl_net::packet::{self, Transport, ip_proto};
use benchctl_net::{Direction, ResolverCache, dns};

/// Where a DUT's packet went, as the detectors group traffic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dest {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// "tcp", "udp", "icmp", or the IP protocol number.
    pub proto: String,
    pub dport: u16,
}

impl Dest {
    /// findings.md's `channel` for a flow, without the source port (a
    /// destination groups all of the DUT's connections to it):
    /// `10.77.1.2>203.0.113.9:443/tcp`, `2001:db8::10>[2001:db8::99]:6000/udp`.
    /// An IPv6 address followed by a port is bracketed (RFC 3986 §3.2.2),
    /// or its last group could be read as the port.
    pub fn label(&self) -> String {
        match self.dst {
            IpAddr::V4(dst) => format!("{}>{dst}:{}/{}", self.src, self.dport, self.proto),
            IpAddr::V6(dst) => format!("{}>[{dst}]:{}/{}", self.src, self.dport, self.proto),
        }
    }
}

/// What one DUT's traffic holds for the detectors.
#[derive(Debug, Clone, Default)]
pub struct DutTraffic {
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Packets sent in a phase with `net = "none"`.
    pub in_isolation: Offences,
    /// Packets sent to destinations the phase's allowlist denies.
    pub denied: Offences,
    /// Destinations some allowlist phase denied / allowed.
    pub denied_dests: BTreeSet<IpAddr>,
    pub allowed_dests: BTreeSet<IpAddr>,
    /// Whether any of the DUT's phases had an allowlist.
    pub had_allowlist: bool,
    /// (t, name) of every DNS query sent.
    pub dns_queries: Vec<(f64, String)>,
    /// Per destination, its send times judged as they come (timing
    /// channels).
    pub flows: BTreeMap<Dest, timing::Stream>,
    /// Per destination, packets and bytes sent in each of the sorter's
    /// tally windows, in their order (the run history's destinations per
    /// phase; empty without tally windows).
    pub tallies: BTreeMap<Dest, Vec<Tally>>,
    /// (start t, bytes) of each connection per destination (beacons).
    pub connections: BTreeMap<Dest, Vec<(f64, u64)>>,
}

/// Packets sent to a destination in one tally window, and their frame
/// bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub packets: u64,
    pub bytes: u64,
}

/// A UDP exchange counts as a new connection after this much silence on
/// its (destination, port): what a connection tracker's timeout does.
const UDP_IDLE_S: f64 = 1.0;

/// Data the DUT sends over TCP after this much silence on the same
/// destination is a new check-in, SYN or not: an implant (or a push client)
/// that keeps one connection open and speaks on a timer beacons as surely
/// as one that reconnects each time, and RITA-style tools read a long-lived
/// connection's periodic sends as its heartbeat. 4 s is longer than the
/// pauses inside one exchange (delayed ACKs, a request waiting for its
/// response, TCP's first retransmissions after 1 s and 2 s, RFC 6298 §5.5)
/// and shorter than the shortest period the beacon detector is tuned for
/// (5 s).
const TCP_IDLE_S: f64 = 4.0;

/// Sorts one DUT's packets as they come.
#[derive(Debug)]
pub struct DutSorter {
    /// The DUT's addresses; empty: a pseudo-DUT of a bare capture, whose
    /// every packet counts as sent (both directions are judged).
    pub ips: Vec<IpAddr>,
    pub phases: Vec<NetPhase>,
    /// Ignore the first moments of a phase: the bench is still switching.
    pub settle_s: f64,
    /// `[from, to)` intervals in which packets and bytes are counted per
    /// destination (`DutTraffic::tallies`).
    pub tally_windows: Vec<(f64, f64)>,
    pub traffic: DutTraffic,
    /// Per destination: time of the last packet.
    last_seen: BTreeMap<Dest, f64>,
    /// Per destination: the source port of the last TCP SYN. A SYN from the
    /// same port again is the same connection retransmitting its SYN (no
    /// answer came), not a new check-in.
    last_syn_port: BTreeMap<Dest, u16>,
    /// What DNS answers to the DUT's own queries taught it, over the whole
    /// run: every allowlist phase judges addresses by the names they were
    /// learned for, whenever the lookup happened.
    dns: ResolverCache,
}

impl DutSorter {
    pub fn new(ips: Vec<IpAddr>, phases: Vec<NetPhase>, settle_s: f64) -> Self {
        let had_allowlist = phases.iter().any(|p| p.allow.is_some());
        DutSorter {
            ips,
            phases,
            settle_s,
            tally_windows: Vec::new(),
            traffic: DutTraffic {
                had_allowlist,
                ..DutTraffic::default()
            },
            last_seen: BTreeMap::new(),
            last_syn_port: BTreeMap::new(),
            dns: ResolverCache::default(),
        }
    }

    /// Also count packets and bytes per destination in each of `windows`
    /// (`[from, to)` in run time).
    pub fn with_tally_windows(mut self, windows: Vec<(f64, f64)>) -> Self {
        self.tally_windows = windows;
        self
    }

    /// The names answers to the DUT's own queries gave `ip` for: what the
    /// run history calls a destination by (`history::profile`). Only such
    /// answers, as for the allowlist: an answer nobody asked for must not
    /// name a new destination after a familiar service.
    pub fn dns_names(&self, ip: IpAddr) -> Vec<String> {
        self.dns.names(ip).map(str::to_string).collect()
    }

    /// One captured Ethernet frame at run time `t`.
    pub fn frame(&mut self, t: f64, bytes: &[u8]) {
        // Frames that are not IP (ARP) or do not parse carry no address to
        // tell who sent them; the detectors judge IP traffic.
        let Ok(frame) = packet::parse_ethernet(bytes) else {
            return;
        };
        let Some(ip) = frame.ip() else {
            return;
        };
        let dir = if self.ips.is_empty() || self.ips.contains(&ip.src.to_canonical()) {
            Direction::FromDut
        } else if self.ips.contains(&ip.dst.to_canonical()) {
            Direction::ToDut
        } else {
            // Neither end is the DUT (a broadcast it overheard): not its doing.
            return;
        };
        // Learned before judging: an answer is never judged (only what the
        // DUT sends is), and a query teaches nothing until its answer.
        self.dns.observe(t, ip, dir);
        let phase = self.phases.iter().position(|p| p.start <= t && t < p.end);
        if let Some(i) = phase {
            let settled = t >= self.phases[i].start + self.settle_s;
            let judged = self.phases[i].judge(i, t, settled, (&frame, ip), dir, &self.dns);
            if let Some((remote, offence)) = judged.denied {
                self.traffic.denied_dests.insert(remote);
                self.traffic.denied.add(offence);
            }
            if let Some(remote) = judged.allowed {
                self.traffic.allowed_dests.insert(remote);
            }
            if let Some(offence) = judged.in_isolation {
                self.traffic.in_isolation.add(offence);
            }
        }
        if dir == Direction::ToDut {
            self.traffic.packets_received += 1;
            return;
        }
        self.traffic.packets_sent += 1;
        if let Some(Ok(m)) = dns::parse_packet(ip)
            && !m.is_response()
        {
            for q in &m.questions {
                self.traffic.dns_queries.push((t, q.name.clone()));
            }
        }
        let (sport, dport, syn) = match ip.transport {
            Transport::Tcp {
                sport,
                dport,
                flags,
                ..
            } => (
                sport,
                dport,
                flags.contains(packet::TcpFlags::SYN) && !flags.contains(packet::TcpFlags::ACK),
            ),
            Transport::Udp { sport, dport } => (sport, dport, false),
            _ => (0, 0, false),
        };
        let dest = Dest {
            src: ip.src,
            dst: ip.dst,
            proto: proto_name(ip.protocol),
            dport,
        };
        self.traffic.flows.entry(dest.clone()).or_default().push(t);
        let bytes = bytes.len() as u64;
        if !self.tally_windows.is_empty() {
            let tallies = self
                .traffic
                .tallies
                .entry(dest.clone())
                .or_insert_with(|| vec![Tally::default(); self.tally_windows.len()]);
            for (tally, (from, to)) in tallies.iter_mut().zip(&self.tally_windows) {
                if *from <= t && t < *to {
                    tally.packets += 1;
                    tally.bytes += bytes;
                }
            }
        }
        if ip.protocol == ip_proto::TCP && !syn {
            // The handshake went on: a later SYN from the same port is a
            // new connection (an implant reconnecting from a fixed port),
            // not this one's SYN again.
            self.last_syn_port.remove(&dest);
        }
        let new_connection = match ip.protocol {
            ip_proto::TCP if syn => self.last_syn_port.insert(dest.clone(), sport) != Some(sport),
            // Data after a silence: the connection's next heartbeat. Bare
            // ACKs answer what the far end sent, so they start nothing.
            ip_proto::TCP => {
                !ip.payload.is_empty()
                    && self
                        .last_seen
                        .get(&dest)
                        .is_none_or(|last| t - last >= TCP_IDLE_S)
            }
            _ => self
                .last_seen
                .get(&dest)
                .is_none_or(|last| t - last >= UDP_IDLE_S),
        };
        self.last_seen.insert(dest.clone(), t);
        let conns = self.traffic.connections.entry(dest).or_default();
        match conns.last_mut() {
            Some(c) if !new_connection => c.1 += bytes,
            _ if new_connection => conns.push((t, bytes)),
            // A bare ACK of a connection whose SYN came before the capture.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use benchctl_net::dns::{build_query, build_response, rtype};
    use benchctl_net::packet::build::{v4_tcp, v4_udp};

    const DUT: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);
    const C2: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 17);
    const SYN: u8 = 0x02;

    /// When each connection (check-in) the sorter saw began, over every
    /// destination.
    fn check_ins(s: &DutSorter) -> Vec<f64> {
        s.traffic
            .connections
            .values()
            .flatten()
            .map(|c| c.0)
            .collect()
    }

    fn sorter(phases: Vec<NetPhase>) -> DutSorter {
        DutSorter::new(vec![IpAddr::V4(DUT)], phases, 1.0)
    }

    #[test]
    fn a_retransmitted_syn_is_the_same_connection() {
        let mut s = sorter(Vec::new());
        for (t, sport) in [
            (10.0, 40_000),
            (11.0, 40_000),
            (13.0, 40_000),
            (30.0, 40_001),
        ] {
            s.frame(t, &v4_tcp(true, DUT, C2, sport, 80, SYN, &[]));
        }
        let conns = check_ins(&s);
        assert_eq!(conns, [10.0, 30.0]);
        // Every packet still counts for the flow's timing.
        let events: u64 = s.traffic.flows.values().map(timing::Stream::events).sum();
        assert_eq!(events, 4);
    }

    /// An implant that reconnects from one fixed source port: each SYN
    /// after a finished exchange is a new check-in, not a retransmission.
    #[test]
    fn a_reconnect_from_the_same_port_is_a_new_connection() {
        const ACK: u8 = 0x10;
        let mut s = sorter(Vec::new());
        for k in 0..3 {
            let t = 60.0 * f64::from(k);
            s.frame(t, &v4_tcp(true, DUT, C2, 40_000, 443, SYN, &[]));
            s.frame(t + 0.1, &v4_tcp(true, DUT, C2, 40_000, 443, ACK, b"report"));
        }
        let conns = check_ins(&s);
        assert_eq!(conns, [0.0, 60.0, 120.0]);
    }

    #[test]
    fn a_flow_of_many_packets_keeps_a_bounded_number_of_times() {
        // A busy flow: 20 000 packets 20-60 ms apart. What the sorter holds
        // for its timing must not grow with them (it held every send time).
        let mut s = sorter(Vec::new()).with_tally_windows(vec![(0.0, 100.0), (100.0, 1e9)]);
        let frame = v4_udp(true, DUT, C2, 5000, 443, b"0123456789");
        let mut t = 0.0;
        for i in 0..20_000 {
            t += [0.02, 0.06][i % 3 % 2];
            s.frame(t, &frame);
        }
        let flow = s.traffic.flows.values().next().expect("one flow");
        assert_eq!(flow.events(), 20_000);
        assert!(
            flow.held() <= timing::WINDOW + 1 + timing::REORDER_MAX,
            "{} times held",
            flow.held()
        );
        // Packets and bytes are counted per tally window instead of kept.
        let tallies = s.traffic.tallies.values().next().expect("one flow");
        let packets: u64 = tallies.iter().map(|t| t.packets).sum();
        assert_eq!(packets, 20_000);
        assert_eq!(tallies[0].bytes, tallies[0].packets * frame.len() as u64);
        assert!(tallies[0].packets > 2000 && tallies[0].packets < 3000);
    }

    #[test]
    fn udp_exchanges_split_on_silence() {
        let mut s = sorter(Vec::new());
        for t in [1.0, 1.2, 1.4, 5.0, 5.1, 9.0] {
            s.frame(t, &v4_udp(true, DUT, C2, 5000, 53, b"x"));
        }
        let conns = check_ins(&s);
        assert_eq!(conns, [1.0, 5.0, 9.0]);
    }

    #[test]
    fn isolation_and_allowlists_are_judged_after_the_settling_second() {
        let allow = benchctl_net::Allowlist::parse(&["10.77.0.0/16".to_string()]).expect("list");
        let mut s = sorter(vec![
            NetPhase {
                start: 0.0,
                end: 10.0,
                none: true,
                allow: None,
            },
            NetPhase {
                start: 10.0,
                end: 20.0,
                none: false,
                allow: Some(allow),
            },
        ]);
        s.frame(0.5, &v4_udp(true, DUT, C2, 1, 2, b"")); // settling: not counted
        s.frame(2.0, &v4_udp(true, DUT, C2, 1, 2, b""));
        s.frame(2.5, &v4_udp(false, C2, DUT, 2, 1, b"")); // to the DUT: not its doing
        s.frame(
            12.0,
            &v4_udp(true, DUT, Ipv4Addr::new(10, 77, 0, 1), 1, 443, b""),
        );
        s.frame(13.0, &v4_udp(true, DUT, C2, 1, 443, b""));
        let isolated = s.traffic.in_isolation.in_phase(0);
        assert_eq!(s.traffic.in_isolation.packets(), 1);
        assert_eq!(isolated[0].1.first_t, 2.0);
        let denied = s.traffic.denied.in_phase(1);
        assert_eq!(s.traffic.denied.packets(), 1);
        assert_eq!(denied[0].0, "198.51.100.17");
        assert!(
            denied[0].1.why.contains("not on the allowlist"),
            "{}",
            denied[0].1.why
        );
        assert_eq!(s.traffic.packets_received, 1);
    }

    #[test]
    fn a_long_lived_connection_checks_in_with_each_send_after_silence() {
        const PSH_ACK: u8 = 0x18;
        const ACK: u8 = 0x10;
        let mut s = sorter(Vec::new());
        // No SYN in the capture: the connection was open before it began.
        for k in 0..8 {
            let t = 60.0 * f64::from(k);
            s.frame(t, &v4_tcp(true, DUT, C2, 40_000, 443, PSH_ACK, &[7; 120]));
            // Its own exchange: more data and bare ACKs right after.
            s.frame(
                t + 0.3,
                &v4_tcp(true, DUT, C2, 40_000, 443, PSH_ACK, &[7; 40]),
            );
            s.frame(t + 2.5, &v4_tcp(true, DUT, C2, 40_000, 443, ACK, &[]));
        }
        // A bare ACK after silence answers the far end: no check-in.
        s.frame(600.0, &v4_tcp(true, DUT, C2, 40_000, 443, ACK, &[]));
        let conns = &s.traffic.connections.values().next().expect("connections");
        let starts: Vec<f64> = conns.iter().map(|c| c.0).collect();
        assert_eq!(
            starts,
            (0..8).map(|k| 60.0 * f64::from(k)).collect::<Vec<_>>()
        );
        let a = crate::beacon::assess(conns).expect("enough check-ins");
        assert!(a.score >= crate::beacon::THRESHOLD, "{a:?}");
    }

    #[test]
    fn ipv6_destinations_are_bracketed_before_their_port() {
        let d = |dst: &str, proto: &str, dport: u16| Dest {
            src: "2001:db8::10".parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto: proto.into(),
            dport,
        };
        assert_eq!(
            d("2001:db8::99", "udp", 6000).label(),
            "2001:db8::10>[2001:db8::99]:6000/udp"
        );
        let v4 = Dest {
            src: IpAddr::V4(DUT),
            ..d("203.0.113.9", "tcp", 443)
        };
        assert_eq!(v4.label(), "10.77.1.2>203.0.113.9:443/tcp");
    }

    #[test]
    fn names_learned_in_any_phase_serve_every_allowlist_phase() {
        let resolver = Ipv4Addr::new(10, 77, 1, 1);
        let mtalk = Ipv4Addr::new(142, 250, 102, 188);
        let forged = Ipv4Addr::new(198, 51, 100, 4);
        let allow = |e: &[&str]| {
            let e: Vec<String> = e.iter().map(|s| s.to_string()).collect();
            Some(benchctl_net::Allowlist::parse(&e).expect("list"))
        };
        let phase = |start: f64, end: f64, allow| NetPhase {
            start,
            end,
            none: false,
            allow,
        };
        let mut s = sorter(vec![
            phase(0.0, 5.0, None),
            phase(5.0, 13.0, allow(&["google.com", "android.com"])),
            phase(13.0, 20.0, allow(&["android.com"])),
        ]);
        // Boot: the phone looks up mtalk.google.com and gets an answer.
        let q = build_query(3, "mtalk.google.com", rtype::A);
        s.frame(2.0, &v4_udp(true, DUT, resolver, 40_003, 53, &q));
        let r = build_response(3, "mtalk.google.com", &[mtalk], 300);
        s.frame(2.02, &v4_udp(false, resolver, DUT, 53, 40_003, &r));
        // An answer nobody asked for gives an allowed name another address.
        let r = build_response(9, "android.com", &[forged], 300);
        s.frame(3.0, &v4_udp(false, resolver, DUT, 53, 40_010, &r));
        // Online: the phone talks to both.
        s.frame(8.0, &v4_tcp(true, DUT, mtalk, 40_100, 5228, SYN, &[]));
        s.frame(9.0, &v4_tcp(true, DUT, forged, 40_101, 443, SYN, &[]));
        // A stricter phase judges the same learned address by its own rules.
        s.frame(15.0, &v4_tcp(true, DUT, mtalk, 40_102, 5228, SYN, &[]));
        let denied: Vec<(usize, &str)> = (0..3)
            .flat_map(|phase| {
                s.traffic
                    .denied
                    .in_phase(phase)
                    .into_iter()
                    .map(move |(dest, _)| (phase, dest))
            })
            .collect();
        assert_eq!(denied, [(1, "198.51.100.4"), (2, "142.250.102.188")]);
        assert!(s.traffic.allowed_dests.contains(&IpAddr::V4(mtalk)));
        // The history names destinations by the same answers only.
        assert_eq!(s.dns_names(IpAddr::V4(mtalk)), ["mtalk.google.com"]);
        assert!(s.dns_names(IpAddr::V4(forged)).is_empty());
    }
}
