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

use crate::net_policy::{Judgement, OnLink, proto_name};
pub use crate::net_policy::{NetPhase, Offence, Offences};
use crate::timing;
use benchctl_format::run_json::DutEntry;
use benchctl_net::packet::{self, Transport, ip_proto};
use benchctl_net::{
    Direction, Frame, FrameError, LinkType, MacAddr, Network, NotRead, ResolverCache, Salvaged, dns,
};

/// One captured frame as the capture holds it.
#[derive(Debug, Clone, Copy)]
pub struct Captured<'a> {
    /// The link type of its interface.
    pub link: LinkType,
    /// The bytes the capture kept.
    pub data: &'a [u8],
    /// Its length on the wire: more than `data` when the snap length cut it.
    pub original_len: u32,
    /// On an interface named after the DUT: every frame there is its
    /// link's traffic. Otherwise it was found on a shared interface by
    /// the DUT's addresses.
    pub own_interface: bool,
}

impl<'a> Captured<'a> {
    /// An Ethernet frame found by address (what the simulated bench's tests
    /// and the history's tests feed).
    pub fn ethernet(data: &'a [u8]) -> Self {
        Captured {
            link: LinkType::Ethernet,
            data,
            original_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            own_interface: false,
        }
    }

    /// Parsed by its link type, headers whole even when the capture cut it.
    pub fn parse(&self) -> Result<Frame<'a>, FrameError> {
        benchctl_net::parse_captured(self.link, self.data, self.original_len as usize)
    }

    /// The snap length cut it.
    pub fn cut(&self) -> bool {
        self.data.len() < self.original_len as usize
    }
}

/// The two ends of a DUT's link (recording-format.md, "Whose packet is
/// it"): every frame on the DUT's own interface is its link's traffic; it
/// was sent *to* the DUT when it comes from the bench side (`bench_mac`, or
/// a source address in `bench_ip`), and *by* the DUT otherwise, whatever
/// source address it carries. A phone chooses its addresses; the bench
/// does not, so an address run.json does not list never makes a frame
/// "not the DUT's doing".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkSides {
    /// The DUT's listed addresses; empty: a bare capture's pseudo-DUT,
    /// whose every frame counts as sent (both ends are judged).
    pub dut_ips: Vec<IpAddr>,
    /// The bench side's MACs: `bench_mac`, or learned from the capture.
    pub bench_macs: BTreeSet<MacAddr>,
    /// The bench side's addresses (`bench_ip`).
    pub bench_ips: Vec<IpAddr>,
}

impl LinkSides {
    /// What run.json says of a DUT's link.
    pub fn of(entry: &DutEntry) -> Self {
        LinkSides {
            dut_ips: entry.addresses(),
            bench_macs: entry.bench_mac().into_iter().collect(),
            bench_ips: entry.bench_addresses(),
        }
    }

    /// A bare capture's pseudo-DUT: nothing known, every frame judged.
    pub fn unknown() -> Self {
        LinkSides::default()
    }

    /// run.json names the DUT's addresses but not the bench side: the
    /// bench's MAC must be learned from the capture ([`learn_bench_macs`]).
    pub fn needs_learning(&self) -> bool {
        !self.dut_ips.is_empty() && self.bench_macs.is_empty() && self.bench_ips.is_empty()
    }

    /// Which way a frame went; None when it is not the DUT's at all (a
    /// frame on a shared interface that carries none of its addresses).
    pub fn direction(&self, frame: &Frame<'_>, own_interface: bool) -> Option<Direction> {
        self.side(frame.link.src, ends(frame), own_interface)
    }

    /// [`direction`](Self::direction) of a frame that did not parse, by
    /// what could still be read of it: its source MAC, its IP addresses.
    pub fn direction_salvaged(&self, s: &Salvaged, own_interface: bool) -> Option<Direction> {
        self.side(
            s.src_mac,
            s.ips.map(|(a, b)| (a.to_canonical(), b.to_canonical())),
            own_interface,
        )
    }

    /// Which way a frame from link address `src_mac` between `ends` went.
    fn side(
        &self,
        src_mac: Option<MacAddr>,
        ends: Option<(IpAddr, IpAddr)>,
        own_interface: bool,
    ) -> Option<Direction> {
        if self.dut_ips.is_empty() {
            return Some(Direction::FromDut);
        }
        if !own_interface {
            // A shared interface: only the DUT's addresses say it is its.
            let (src, dst) = ends?;
            return if self.dut_ips.contains(&src) {
                Some(Direction::FromDut)
            } else if self.dut_ips.contains(&dst) {
                Some(Direction::ToDut)
            } else {
                None
            };
        }
        if let Some(src) = src_mac
            && !self.bench_macs.is_empty()
        {
            return Some(if self.bench_macs.contains(&src) {
                Direction::ToDut
            } else {
                Direction::FromDut
            });
        }
        // No link address to go by (raw IP, loopback), or no bench MAC
        // known: the bench's addresses, else what is addressed to the DUT
        // from elsewhere.
        Some(match ends {
            Some((src, _)) if self.bench_ips.contains(&src) => Direction::ToDut,
            Some((src, dst)) if self.dut_ips.contains(&dst) && !self.dut_ips.contains(&src) => {
                Direction::ToDut
            }
            _ => Direction::FromDut,
        })
    }
}

/// A frame's (source, destination) addresses: IP, or ARP's sender and
/// target. Canonical, as run.json's are.
fn ends(frame: &Frame<'_>) -> Option<(IpAddr, IpAddr)> {
    match &frame.net {
        Network::Ip(p) => Some((p.src.to_canonical(), p.dst.to_canonical())),
        Network::Arp(a) => Some((a.sender_ip.into(), a.target_ip.into())),
        _ => None,
    }
}

/// The server identifier (DHCP option 54, RFC 2132 §9.7) of a DHCP
/// message's options (after the 236-byte BOOTP header and the magic
/// cookie): where a client sends its unicast renewals.
fn dhcp_server_identifier(bootp: &[u8]) -> Option<IpAddr> {
    if bootp.get(236..240)? != [99, 130, 83, 99] {
        return None;
    }
    let mut at = 240;
    loop {
        match *bootp.get(at)? {
            0 => at += 1,
            255 => return None,
            code => {
                let len = usize::from(*bootp.get(at + 1)?);
                let value = bootp.get(at + 2..at + 2 + len)?;
                if code == 54 && len == 4 {
                    return Some(IpAddr::from([value[0], value[1], value[2], value[3]]));
                }
                at += 2 + len;
            }
        }
    }
}

/// For each DUT whose run names no bench side ([`LinkSides::needs_learning`]):
/// the MAC most of the frames addressed to its listed addresses came from,
/// on its own interface, is the bench's (recording-format.md). Most, not
/// the first: a DUT that sends itself a frame from a made-up MAC must not
/// make its own frames the bench's. A MAC that also sends from the DUT's
/// listed addresses tells the two sides apart from nothing (a capture
/// written with one MAC pair for every frame): then no MAC is taken, and
/// the addresses decide. One counter per MAC seen, never the frames.
#[derive(Debug)]
pub struct BenchMacLearner {
    /// Per DUT: per source MAC, frames to the DUT's addresses from
    /// elsewhere, and frames from its addresses.
    seen: Vec<BTreeMap<MacAddr, (u64, u64)>>,
}

impl BenchMacLearner {
    pub fn new(duts: usize) -> Self {
        BenchMacLearner {
            seen: vec![BTreeMap::new(); duts],
        }
    }

    /// A frame on DUT `i`'s own interface.
    pub fn observe(&mut self, sides: &[LinkSides], i: usize, captured: &Captured<'_>) {
        let Some(side) = sides.get(i).filter(|s| s.needs_learning()) else {
            return;
        };
        let Ok(frame) = captured.parse() else { return };
        let (Some(mac), Some((src, dst))) = (frame.link.src, ends(&frame)) else {
            return;
        };
        let counts = self.seen[i].entry(mac).or_default();
        if side.dut_ips.contains(&src) {
            counts.1 += 1;
        } else if side.dut_ips.contains(&dst) {
            counts.0 += 1;
        }
    }

    /// Give each DUT that needed it the MAC(s) seen most.
    pub fn finish(self, sides: &mut [LinkSides]) {
        for (side, seen) in sides.iter_mut().zip(self.seen) {
            let most = seen.values().map(|c| c.0).max().unwrap_or(0);
            let chosen: BTreeSet<MacAddr> = seen
                .iter()
                .filter(|(_, c)| most > 0 && c.0 == most)
                .map(|(mac, _)| *mac)
                .collect();
            if chosen.iter().all(|mac| seen[mac].1 == 0) {
                side.bench_macs = chosen;
            }
        }
    }
}

/// What a DUT's frames were, read or not: what `findings.json` reports per
/// DUT, and what makes it incomplete.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FrameCounts {
    /// Every frame of the DUT's link (both directions).
    pub frames: u64,
    /// Read down to what the detectors judge (IP, ARP, link control).
    pub read: u64,
    /// Of a link type or protocol benchctl does not read (or encrypted).
    pub not_read: u64,
    /// Damaged: the bytes contradict their own headers.
    pub malformed: u64,
    /// Cut by the capture's snap length (whether or not their headers
    /// were whole).
    pub cut: u64,
    /// What was not read, in words, with counts.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub not_read_kinds: BTreeMap<String, u64>,
    /// Frames not read (not read, malformed, or cut before their headers
    /// ended) in a phase with `net = "none"`.
    #[serde(skip)]
    pub unread_in_isolation: u64,
    /// DNS messages the snap length cut, so their names were not read.
    #[serde(skip_serializing_if = "is_zero")]
    pub dns_cut: u64,
    /// The smallest number of bytes a cut frame kept.
    #[serde(skip)]
    pub snap_length: Option<usize>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// More than this share of a DUT's frames unread and what they carried
/// could hide what it sent: the DUT is incomplete.
pub const MAX_UNREAD_SHARE: f64 = 0.01;

impl FrameCounts {
    /// Frames whose content was not judged at all.
    pub fn unread(&self) -> u64 {
        self.not_read + self.malformed + self.cut_unparsed()
    }

    fn cut_unparsed(&self) -> u64 {
        self.frames - self.read - self.not_read - self.malformed
    }

    /// Why these counts make the DUT incomplete, in words (empty: they do not).
    pub fn problems(&self, file: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let unread = self.unread();
        let share = unread as f64 / self.frames.max(1) as f64;
        if unread > 0 && (share > MAX_UNREAD_SHARE || self.read == 0) {
            problems.push(format!(
                "{file}: {unread} of its {} frames ({:.1}%) were not read ({}): more than {}% of its traffic unread could hide what it sent",
                self.frames,
                share * 100.0,
                self.unread_words(),
                MAX_UNREAD_SHARE * 100.0
            ));
        }
        if self.unread_in_isolation > 0 {
            problems.push(format!(
                "{file}: {} frame{} in a phase that allows no packets could not be read ({}): whether it sent something there is not known",
                self.unread_in_isolation,
                crate::plural(usize::try_from(self.unread_in_isolation).unwrap_or(usize::MAX)),
                self.unread_words()
            ));
        }
        if self.dns_cut > 0 {
            problems.push(format!(
                "{file}: {} DNS message{} cut by the capture's snap length ({} bytes per frame kept): the names were not read, so dns-exfiltration could not judge them",
                self.dns_cut,
                crate::plural(usize::try_from(self.dns_cut).unwrap_or(usize::MAX)),
                self.snap_length.map_or("?".into(), |s| s.to_string())
            ));
        }
        problems
    }

    fn unread_words(&self) -> String {
        let mut words: Vec<String> = self
            .not_read_kinds
            .iter()
            .map(|(what, n)| format!("{n} {what}"))
            .collect();
        if self.malformed > 0 {
            words.push(format!("{} malformed", self.malformed));
        }
        let cut = self.cut_unparsed();
        if cut > 0 {
            words.push(format!("{cut} cut before their headers ended"));
        }
        words.join(", ")
    }
}

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
    /// Every frame of the DUT's link, read or not.
    pub frames: FrameCounts,
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
    /// Per destination address, the host names the DUT itself put in what
    /// it sent there (TLS SNI, HTTP Host: `benchctl_net::sent_names`), a
    /// few.
    pub sent_names: BTreeMap<IpAddr, BTreeSet<String>>,
    /// (t, name) of every DNS query sent, but those that stay on the link.
    pub dns_queries: Vec<(f64, String)>,
    /// (t, name) of the queries that stay on the link (mDNS, LLMNR, NBNS
    /// to the subnet): link housekeeping, never a covert pattern above
    /// `low` (findings.md).
    pub link_dns_queries: Vec<(f64, String)>,
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
    /// Who is who on the DUT's link.
    pub sides: LinkSides,
    pub phases: Vec<NetPhase>,
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
    /// The MACs the DUT sent its own listed addresses from (a few): link
    /// management frames (LLDP, spanning tree) from one of them are the
    /// DUT's doing, not the switch's.
    dut_macs: BTreeSet<MacAddr>,
    /// The bench's DHCP servers: `bench_ip`, and those whose replies came
    /// from the bench side (a few). A renewal unicast to one stays on the
    /// link.
    dhcp_servers: BTreeSet<IpAddr>,
}

/// Allow what a captured DNS answer named for an allowed name, whoever
/// asked and whenever (recording-format.md, `allow`): each sorter judged
/// its DUT's packets by the answers to its own queries so far, and a phone
/// that talks to an address its cache held from before the capture, or
/// that another phone on the bench looked up, was denied. Once every
/// packet is in, the answers of all DUTs take those denials back. Forged
/// answers taught nothing (`ResolverCache::observe_frame`), so they allow
/// nothing here either.
pub fn allow_named_anywhere(sorters: &mut [DutSorter]) {
    let mut named: BTreeMap<IpAddr, BTreeSet<String>> = BTreeMap::new();
    for s in sorters.iter() {
        for (ip, name) in s.dns.learned() {
            named.entry(ip).or_default().insert(name.to_string());
        }
    }
    for s in sorters.iter_mut() {
        let phases = &s.phases;
        let allowed = s.traffic.denied.allow_named(|phase, ip| {
            let Some(allow) = phases.get(phase).and_then(|p| p.allow.as_ref()) else {
                return false;
            };
            named
                .get(&ip.to_canonical())
                .is_some_and(|names| names.iter().any(|n| allow.allows_name(n)))
        });
        for ip in allowed {
            s.traffic.allowed_dests.insert(ip);
            if !s.traffic.denied.concerns(ip) {
                s.traffic.denied_dests.remove(&ip);
            }
        }
    }
}

impl DutSorter {
    /// Whether what the DUT sent to `dest` is link housekeeping, which is
    /// never a covert pattern above `low` (findings.md): to a group or
    /// broadcast that stays on the link (mDNS, LLMNR), local discovery
    /// (SSDP, WS-Discovery to their group), or the DUT's subnet broadcast
    /// (NBNS name queries, which only the analyzer can tell: it knows the
    /// DUT's addresses).
    /// Every name the capture gives `ip`: DNS answers to the DUT's own
    /// queries, and the SNI and Host the DUT itself sent to it.
    pub fn names_of(&self, ip: IpAddr) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.dns.names(ip).map(str::to_string).collect();
        if let Some(sent) = self.traffic.sent_names.get(&ip.to_canonical()) {
            names.extend(sent.iter().cloned());
        }
        names
    }

    pub fn link_housekeeping(&self, dest: &Dest) -> bool {
        self.on_link().keeps(dest.dst, dest.src)
            || (dest.proto == "udp"
                && benchctl_net::allowlist::is_local_discovery_udp(dest.dst, dest.dport))
    }

    /// What the sorter knows of the DUT's link, for the phase rules.
    fn on_link(&self) -> OnLink<'_> {
        OnLink {
            dut_ips: &self.sides.dut_ips,
            dhcp_servers: &self.dhcp_servers,
        }
    }
}

/// Host names kept per destination from what the DUT sent there: enough
/// to name it (a CDN address serves a few).
const MAX_SENT_NAMES: usize = 4;

/// MACs and DHCP servers a sorter learns, at most: a phone has one MAC per
/// link (two with MAC randomisation), a link one or two DHCP servers.
const MAX_LEARNED_LINK: usize = 16;

impl DutSorter {
    pub fn new(sides: LinkSides, phases: Vec<NetPhase>) -> Self {
        let had_allowlist = phases.iter().any(|p| p.allow.is_some());
        DutSorter {
            phases,
            tally_windows: Vec::new(),
            traffic: DutTraffic {
                had_allowlist,
                ..DutTraffic::default()
            },
            last_seen: BTreeMap::new(),
            last_syn_port: BTreeMap::new(),
            dns: ResolverCache::default(),
            dut_macs: BTreeSet::new(),
            dhcp_servers: sides.bench_ips.iter().map(|ip| ip.to_canonical()).collect(),
            sides,
        }
    }

    /// Also count packets and bytes per destination in each of `windows`
    /// (`[from, to)` in run time).
    pub fn with_tally_windows(mut self, windows: Vec<(f64, f64)>) -> Self {
        self.tally_windows = windows;
        self
    }

    /// A frame that did not parse: counted against the DUT, in words. Who
    /// sent it and where it went are told from what can still be read of
    /// it ([`benchctl_net::salvage`]): one the DUT sent is judged like any
    /// packet, so in a phase that allows none it is one sent (parsed or
    /// not), named as malformed.
    fn unread(&mut self, t: f64, c: &Captured<'_>, e: &FrameError, phase: Option<usize>) {
        let salvaged = benchctl_net::salvage(c.link, c.data);
        let Some(dir) = self.sides.direction_salvaged(&salvaged, c.own_interface) else {
            return;
        };
        let counts = &mut self.traffic.frames;
        counts.frames += 1;
        match e {
            FrameError::NotRead(why) => {
                counts.not_read += 1;
                let what = match why {
                    NotRead::LinkType(link) => {
                        format!("frames of {}, which benchctl does not read", link.name())
                    }
                    NotRead::Encrypted => "encrypted 802.11 frames".to_string(),
                };
                *counts.not_read_kinds.entry(what).or_default() += 1;
            }
            // Cut before its headers ended: counted as cut, not damaged.
            FrameError::Malformed(_) if c.cut() => {}
            FrameError::Malformed(_) => counts.malformed += 1,
        }
        if c.cut() {
            counts.cut += 1;
            counts.snap_length = Some(
                counts
                    .snap_length
                    .map_or(c.data.len(), |s| s.min(c.data.len())),
            );
        }
        let why = match e {
            FrameError::Malformed(_) if c.cut() => {
                format!("cut by the capture's snap length before its headers ended ({e})")
            }
            _ => e.to_string(),
        };
        let mut sent = false;
        if let Some(i) = phase {
            let link = self.on_link();
            let judged = self.phases[i].judge_unread(i, t, &salvaged, &why, dir, &self.dns, &link);
            let unlisted = salvaged
                .ips
                .map(|(src, _)| src)
                .filter(|src| self.unlisted(*src, dir));
            sent = self.record(judged, unlisted);
        }
        if !sent && phase.is_some_and(|i| self.phases[i].none) {
            self.traffic.frames.unread_in_isolation += 1;
        }
    }

    /// Whether `src`, the source of a frame that went `dir`, is an address
    /// run.json does not list for the DUT (named in findings).
    fn unlisted(&self, src: IpAddr, dir: Direction) -> bool {
        !self.sides.dut_ips.is_empty()
            && dir == Direction::FromDut
            && !self.sides.dut_ips.contains(&src.to_canonical())
    }

    /// Keep what a phase's judgement of one frame found; true when it was
    /// a packet sent in isolation.
    fn record(&mut self, judged: Judgement, unlisted_source: Option<IpAddr>) -> bool {
        let unusual = judged.unusual.as_ref();
        if let Some((remote, mut offence)) = judged.denied {
            offence.unlisted_source = unlisted_source;
            if let Some(remote) = remote {
                self.traffic.denied_dests.insert(remote);
            }
            self.traffic.denied.add_frame(offence, unusual);
        }
        if let Some(remote) = judged.allowed {
            self.traffic.allowed_dests.insert(remote);
        }
        match judged.in_isolation {
            Some(mut offence) => {
                offence.unlisted_source = unlisted_source;
                self.traffic.in_isolation.add_frame(offence, unusual);
                true
            }
            None => false,
        }
    }

    /// Learn from a frame of the DUT's link what only the link says: the
    /// MACs the DUT sends its listed addresses from, and the bench's DHCP
    /// servers (the source and server identifier of a DHCP reply from the
    /// bench side: its MAC or `bench_ip`, never the fallback by address,
    /// which a DUT could feign).
    fn learn_link(&mut self, frame: &Frame<'_>, dir: Direction) {
        let src = ends(frame).map(|(src, _)| src);
        if dir == Direction::FromDut
            && let (Some(mac), Some(src)) = (frame.link.src, src)
            && self.sides.dut_ips.contains(&src)
            && self.dut_macs.len() < MAX_LEARNED_LINK
        {
            self.dut_macs.insert(mac);
        }
        let Network::Ip(ip) = &frame.net else { return };
        let from_bench = frame
            .link
            .src
            .is_some_and(|m| self.sides.bench_macs.contains(&m))
            || self.sides.bench_ips.contains(&ip.src.to_canonical());
        if dir != Direction::ToDut || !from_bench {
            return;
        }
        let server = match ip.transport {
            Transport::Udp {
                sport: 67,
                dport: 68,
            } => Some(ip.src),
            Transport::Udp {
                sport: 547,
                dport: 546,
            } => Some(ip.src),
            _ => None,
        };
        let Some(server) = server else { return };
        for s in std::iter::once(server).chain(dhcp_server_identifier(ip.payload)) {
            if self.dhcp_servers.len() < MAX_LEARNED_LINK {
                self.dhcp_servers.insert(s.to_canonical());
            }
        }
    }

    /// The names answers to the DUT's own queries gave `ip` for: what the
    /// run history calls a destination by (`history::profile`). Only such
    /// answers, as for the allowlist: an answer nobody asked for must not
    /// name a new destination after a familiar service.
    pub fn dns_names(&self, ip: IpAddr) -> Vec<String> {
        self.dns.names(ip).map(str::to_string).collect()
    }

    /// One Ethernet frame at run time `t`, found by the DUT's addresses.
    pub fn frame(&mut self, t: f64, bytes: &[u8]) {
        self.captured(t, &Captured::ethernet(bytes));
    }

    /// One captured frame at run time `t`: counted, then, if it is read
    /// and IP, judged and sorted.
    pub fn captured(&mut self, t: f64, c: &Captured<'_>) {
        let phase = self.phases.iter().position(|p| p.start <= t && t < p.end);
        let frame = match c.parse() {
            Ok(frame) => frame,
            Err(e) => {
                // Whose it is is told from what can still be read of it:
                // on a DUT's own interface it is its link's either way.
                self.unread(t, c, &e, phase);
                return;
            }
        };
        let Some(dir) = self.sides.direction(&frame, c.own_interface) else {
            return;
        };
        let counts = &mut self.traffic.frames;
        counts.frames += 1;
        if c.cut() {
            counts.cut += 1;
            counts.snap_length = Some(
                counts
                    .snap_length
                    .map_or(c.data.len(), |s| s.min(c.data.len())),
            );
        }
        self.learn_link(&frame, dir);
        let counts = &mut self.traffic.frames;
        let ip = match &frame.net {
            Network::Ip(ip) => ip,
            // 802.11 management, control and null frames: the radio link
            // itself, not a packet.
            Network::LinkControl => {
                counts.read += 1;
                return;
            }
            // Link management (spanning tree, LLDP, CDP, XID) is the
            // switch's or the access point's, unless it leaves from a MAC
            // the DUT sends its own addresses from; 802.1X is the DUT
            // authenticating to the link, whoever sends it.
            Network::Other { ethertype, .. } if frame.is_link_management() => {
                counts.read += 1;
                let dut_sent = frame.link.src.is_some_and(|m| self.dut_macs.contains(&m))
                    && *ethertype != 0x888e;
                // Counted in isolation only: under an allowlist, what the
                // DUT says to its switch is not traffic to a destination.
                if dut_sent && let Some(i) = phase.filter(|&i| self.phases[i].none) {
                    let judged = self.phases[i].judge_not_ip(i, t, &frame, dir, &self.dns);
                    self.record(
                        Judgement {
                            denied: None,
                            ..judged
                        },
                        None,
                    );
                }
                return;
            }
            // Not IP: ARP is read (housekeeping under an allowlist), other
            // protocols are not; in isolation either is a packet sent.
            Network::Arp(_) | Network::Other { .. } => {
                let arp = matches!(frame.net, Network::Arp(_));
                if arp {
                    counts.read += 1;
                } else if let Network::Other { ethertype, .. } = &frame.net {
                    counts.not_read += 1;
                    let what = if *ethertype <= 1500 {
                        "802.3 LLC frames".to_string()
                    } else {
                        format!("frames of ethertype 0x{ethertype:04x}")
                    };
                    *counts.not_read_kinds.entry(what).or_default() += 1;
                }
                let mut sent = false;
                if let Some(i) = phase {
                    let judged = self.phases[i].judge_not_ip(i, t, &frame, dir, &self.dns);
                    let unlisted = match &frame.net {
                        Network::Arp(a) => Some(IpAddr::V4(a.sender_ip))
                            .filter(|src| !src.is_unspecified() && self.unlisted(*src, dir)),
                        _ => None,
                    };
                    sent = self.record(judged, unlisted);
                }
                if !arp
                    && !sent
                    && dir == Direction::FromDut
                    && phase.is_some_and(|i| self.phases[i].none)
                {
                    self.traffic.frames.unread_in_isolation += 1;
                }
                return;
            }
        };
        counts.read += 1;
        let src_unlisted = !self.sides.dut_ips.is_empty()
            && dir == Direction::FromDut
            && !self.sides.dut_ips.contains(&ip.src.to_canonical());
        let unlisted_source = src_unlisted.then_some(ip.src);
        // Learned before judging: an answer is never judged (only what the
        // DUT sends is), and a query teaches nothing until its answer. Only
        // answers from the bench side teach; one from the DUT's side is
        // forged, and a finding in any phase (in isolation it is already
        // one, as every packet is).
        let sender = match dir {
            _ if self.sides.dut_ips.is_empty() => benchctl_net::allowlist::Sender::Unknown,
            dir => dir.into(),
        };
        if let benchctl_net::allowlist::Observed::Forged(forged) =
            self.dns.observe_frame(t, &frame, sender)
            && let Some(i) = phase.filter(|&i| !self.phases[i].none)
        {
            self.traffic.denied.add(Offence {
                phase: i,
                t,
                dest: ip.flow().to_string(),
                why: forged.to_string(),
                unlisted_source: None,
                address: None,
                settling: self.phases[i].settling(t),
            });
        }
        if let Some(i) = phase {
            let link = self.on_link();
            let judged = self.phases[i].judge(i, t, (&frame, ip), dir, &self.dns, &link);
            self.record(judged, unlisted_source);
        }
        if dir == Direction::ToDut {
            self.traffic.packets_received += 1;
            return;
        }
        self.traffic.packets_sent += 1;
        if matches!(ip.transport, Transport::Tcp { .. }) {
            let named = match ip.payload.first() {
                Some(22) => benchctl_net::sent_names::tls_server_name(ip.payload),
                Some(b'A'..=b'Z') => benchctl_net::sent_names::http_host(ip.payload),
                _ => None,
            };
            if let Some(name) = named {
                let names = self
                    .traffic
                    .sent_names
                    .entry(ip.dst.to_canonical())
                    .or_default();
                if names.len() < MAX_SENT_NAMES {
                    names.insert(name);
                }
            }
        }
        match dns::parse_packet(ip) {
            Some(Ok(m)) if !m.is_response() => {
                let queries = if self.on_link().keeps(ip.dst, ip.src) {
                    &mut self.traffic.link_dns_queries
                } else {
                    &mut self.traffic.dns_queries
                };
                for q in &m.questions {
                    queries.push((t, q.name.clone()));
                }
            }
            // A lookup whose name the snap length cut off: not read.
            Some(Err(_)) if ip.cut => self.traffic.frames.dns_cut += 1,
            _ => {}
        }
        // `fin`: any of FIN, RST, SYN (a segment that opens or closes).
        let (sport, dport, syn, fin) = match ip.transport {
            Transport::Tcp {
                sport,
                dport,
                flags,
                ..
            } => (
                sport,
                dport,
                flags.contains(packet::TcpFlags::SYN) && !flags.contains(packet::TcpFlags::ACK),
                flags.0
                    & (packet::TcpFlags::FIN.0 | packet::TcpFlags::RST.0 | packet::TcpFlags::SYN.0)
                    != 0,
            ),
            Transport::Udp { sport, dport } => (sport, dport, false, false),
            _ => (0, 0, false, false),
        };
        let dest = Dest {
            src: ip.src,
            dst: ip.dst,
            proto: proto_name(ip.protocol),
            dport,
        };
        // A flow's timing is the DUT's own sends: a bare TCP ACK answers
        // what the far end sent, when its data arrived (a round trip after
        // the DUT's own send, when the push service replies), and between
        // two sends it splits a gap the DUT chose into two it did not
        // (issue 14's misses in long TCP flows to a push service). Its
        // stretches of activity end at the DUT's phase starts.
        let bare_ack = ip.protocol == ip_proto::TCP && ip.payload.is_empty() && !fin;
        if !bare_ack {
            let phases = &self.phases;
            self.traffic
                .flows
                .entry(dest.clone())
                .or_insert_with(|| timing::Stream::new().with_cuts(phases.iter().map(|p| p.start)))
                .push(t);
        }
        // What crossed the link, whatever the capture kept of it.
        let bytes = u64::from(c.original_len);
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
        let sides = LinkSides {
            dut_ips: vec![IpAddr::V4(DUT)],
            ..LinkSides::default()
        };
        DutSorter::new(sides, phases)
    }

    /// One long TCP connection to an allowed push service carrying a timing
    /// channel in the DUT's sends (50 / 80 ms, 4 % jitter, messages of 40
    /// symbols with pauses): the service answers each send a round trip
    /// later (25-60 ms) and the DUT acknowledges at once, and the service
    /// pushes now and then. Every gap the DUT chose was split by its own
    /// ACK when bare ACKs were timed with its sends: found never. Timed on
    /// its sends alone: found, and only the DUT's flow is judged.
    #[test]
    fn a_timing_channel_in_a_long_tcp_flow_is_timed_on_the_dut_s_sends() {
        use benchctl_rng::SimRng;
        const PSH_ACK: u8 = 0x18;
        const ACK: u8 = 0x10;
        let phases = || {
            vec![NetPhase {
                start: 0.0,
                end: 1e6,
                none: false,
                allow: None,
                settle_s: 0.0,
            }]
        };
        let mut found = 0;
        for seed in 0..10 {
            let mut rng = SimRng::new(seed);
            let mut s = sorter(phases());
            let mut t = 5.0;
            s.frame(t, &v4_tcp(true, DUT, C2, 40_000, 443, SYN, &[]));
            let mut events = Vec::new();
            for i in 0..600 {
                let level = if rng.below(2) == 0 { 0.05 } else { 0.08 };
                t += level * (1.0 + rng.range(-0.04, 0.04));
                if i % 40 == 0 {
                    t += rng.range(0.5, 3.0);
                }
                events.push((t, true, PSH_ACK, 32));
                let reply = t + rng.range(0.025, 0.06);
                events.push((reply, false, PSH_ACK, 16));
                events.push((reply + 0.0002, true, ACK, 0));
            }
            events.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (at, from_dut, flags, len) in events {
                let payload = vec![0u8; len];
                let frame = if from_dut {
                    v4_tcp(true, DUT, C2, 40_000, 443, flags, &payload)
                } else {
                    v4_tcp(false, C2, DUT, 443, 40_000, flags, &payload)
                };
                s.frame(at, &frame);
            }
            let flows: Vec<_> = s
                .traffic
                .flows
                .values()
                .filter_map(timing::Stream::finish)
                .collect();
            assert_eq!(flows.len(), 1, "only what the DUT sends is timed");
            found += usize::from(flows[0].covert);
        }
        assert_eq!(found, 10);
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
    fn isolation_and_allowlists_are_judged_apart_inside_the_settle_window() {
        let allow = benchctl_net::Allowlist::parse(&["10.77.0.0/16".to_string()]).expect("list");
        let mut s = sorter(vec![
            NetPhase {
                start: 0.0,
                end: 10.0,
                none: true,
                allow: None,
                settle_s: 1.0,
            },
            NetPhase {
                start: 10.0,
                end: 20.0,
                none: false,
                allow: Some(allow),
                settle_s: 1.0,
            },
        ]);
        s.frame(0.5, &v4_udp(true, DUT, C2, 1, 2, b"")); // settling: counted apart
        s.frame(2.0, &v4_udp(true, DUT, C2, 1, 2, b""));
        s.frame(2.5, &v4_udp(false, C2, DUT, 2, 1, b"")); // to the DUT: not its doing
        s.frame(
            12.0,
            &v4_udp(true, DUT, Ipv4Addr::new(10, 77, 0, 1), 1, 443, b""),
        );
        s.frame(13.0, &v4_udp(true, DUT, C2, 1, 443, b""));
        let isolated = s.traffic.in_isolation.in_phase(0, false);
        assert_eq!(s.traffic.in_isolation.packets(), 2);
        assert_eq!(isolated[0].1.first_t, 2.0);
        let settling = s.traffic.in_isolation.in_phase(0, true);
        assert_eq!((settling[0].1.first_t, settling[0].1.packets), (0.5, 1));
        let denied = s.traffic.denied.in_phase(1, false);
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

    /// Lookups asked of the link (to a link-scope group or the subnet's
    /// broadcast) are kept apart from lookups that leave it: the former
    /// are housekeeping, judged at `low` at most (findings.md). mDNS (5353)
    /// and LLMNR (5355) are not read as lookups at all.
    #[test]
    fn names_asked_of_the_link_are_kept_apart() {
        let mut s = sorter(Vec::new());
        let group = Ipv4Addr::new(224, 0, 0, 251);
        let subnet = Ipv4Addr::new(10, 77, 1, 255);
        let resolver = Ipv4Addr::new(10, 77, 1, 1);
        let q = build_query(0, "a3f9c2d1e8b7.local", rtype::A);
        s.frame(1.0, &v4_udp(true, DUT, group, 40_001, 53, &q));
        let q = build_query(1, "workgroup", rtype::A);
        s.frame(2.0, &v4_udp(true, DUT, subnet, 40_002, 53, &q));
        let q = build_query(2, "x7k2.example.org", rtype::A);
        s.frame(3.0, &v4_udp(true, DUT, resolver, 40_000, 53, &q));
        let q = build_query(3, "printer.local", rtype::A);
        s.frame(4.0, &v4_udp(true, DUT, group, 5353, 5353, &q));
        let names = |v: &Vec<(f64, String)>| v.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&s.traffic.link_dns_queries),
            ["a3f9c2d1e8b7.local", "workgroup"]
        );
        assert_eq!(names(&s.traffic.dns_queries), ["x7k2.example.org"]);
    }

    /// An address a captured answer named for an allowed name is allowed
    /// to every DUT, whoever asked and whenever: another phone's lookup,
    /// or the DUT's own lookup after it first talked there (its cache held
    /// the name from before the capture). Only for phases that allow the
    /// name, and never by a forged answer.
    #[test]
    fn an_answer_captured_anywhere_allows_its_address() {
        let resolver = Ipv4Addr::new(10, 77, 1, 1);
        let cdn = Ipv4Addr::new(157, 240, 1, 10);
        let late = Ipv4Addr::new(142, 250, 1, 20);
        let forged = Ipv4Addr::new(198, 51, 100, 4);
        let allow = |e: &[&str]| {
            let e: Vec<String> = e.iter().map(|s| s.to_string()).collect();
            Some(benchctl_net::Allowlist::parse(&e).expect("list"))
        };
        let phases = || {
            vec![
                NetPhase {
                    start: 0.0,
                    end: 10.0,
                    none: false,
                    allow: allow(&["whatsapp.net", "google.com"]),
                    settle_s: 0.0,
                },
                NetPhase {
                    start: 10.0,
                    end: 20.0,
                    none: false,
                    allow: allow(&["example.org"]),
                    settle_s: 0.0,
                },
            ]
        };
        let mut asker = sorter(phases());
        let mut other = sorter(phases());
        // The first phone looks up g.whatsapp.net.
        let q = build_query(3, "g.whatsapp.net", rtype::A);
        asker.frame(1.0, &v4_udp(true, DUT, resolver, 40_003, 53, &q));
        let r = build_response(3, "g.whatsapp.net", &[cdn], 300);
        asker.frame(1.02, &v4_udp(false, resolver, DUT, 53, 40_003, &r));
        // The other talks to it from its cache, to an address it looks up
        // only later, and to one an unasked answer named.
        other.frame(2.0, &v4_udp(true, DUT, cdn, 40_100, 3478, b"stun"));
        other.frame(3.0, &v4_tcp(true, DUT, late, 40_101, 443, SYN, &[]));
        let bogus = build_response(9, "google.com", &[forged], 300);
        other.frame(3.5, &v4_udp(false, resolver, DUT, 53, 40_010, &bogus));
        other.frame(4.0, &v4_tcp(true, DUT, forged, 40_102, 443, SYN, &[]));
        let q = build_query(4, "www.google.com", rtype::A);
        other.frame(6.0, &v4_udp(true, DUT, resolver, 40_004, 53, &q));
        let r = build_response(4, "www.google.com", &[late], 300);
        other.frame(6.02, &v4_udp(false, resolver, DUT, 53, 40_004, &r));
        // A phase that allows neither name.
        other.frame(12.0, &v4_udp(true, DUT, cdn, 40_100, 3478, b"stun"));
        let mut sorters = [asker, other];
        allow_named_anywhere(&mut sorters);
        let denied = |phase| -> Vec<String> {
            sorters[1]
                .traffic
                .denied
                .in_phase(phase, false)
                .into_iter()
                .map(|(d, _)| d.to_string())
                .collect()
        };
        assert_eq!(denied(0), ["198.51.100.4"]);
        assert_eq!(denied(1), ["157.240.1.10"]);
        assert!(sorters[1].traffic.allowed_dests.contains(&IpAddr::V4(late)));
        assert!(sorters[1].traffic.denied_dests.contains(&IpAddr::V4(cdn)));
        assert!(!sorters[1].traffic.denied_dests.contains(&IpAddr::V4(late)));
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
            settle_s: 1.0,
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
                    .in_phase(phase, false)
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
