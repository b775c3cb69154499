//! Packets against the phase's network expectation: `net-in-isolation` and
//! `net-unexpected-destination` (findings.md).
//!
//! The statistic is a rule, applied to every packet the DUT sends (what it
//! sends inside the phase's settle window, `expect.settle_s`, is kept apart
//! and reported at `low`: findings.md):
//!
//! - `net = "none"`: the bench cut the link, so nothing the DUT sends has a
//!   reason to exist. One packet is a finding (an implant that queues its
//!   traffic and tries while isolated shows exactly this).
//! - `net = "allowlist"`: a packet to a destination the phase's allowlist
//!   does not name. The allowlist (`benchctl_net::allowlist`) matches DNS
//!   names with their subdomains, IP addresses and CIDR ranges, and allows
//!   the addresses DNS answers to the DUT's own queries gave for allowed
//!   names (the DUT's resolver cache, kept over the whole run by
//!   `analyze::net`), so a phone that looked up `mtalk.google.com` at boot
//!   may talk to the address it got once the allowlist phase starts. Only
//!   what the DUT sends is judged.
//!
//! Every frame the DUT sends counts, not only the IP packets that parse
//! (issue 21, classes 4 and 8): in a phase that allows no packets an ARP
//! request, a frame of any other ethertype, and a frame that does not
//! parse at all (a UDP length past the datagram's end, a header cut short)
//! are each a packet sent, named in the finding's evidence (`not_ip`,
//! `malformed`). Under an allowlist, a frame that is not IP and not
//! housekeeping is one the list cannot allow, and a damaged IP packet is
//! judged by the destination its header still names. Link management the
//! switch or access point sends (spanning tree, LLDP, 802.1X, 802.11
//! management and control) is counted only when it leaves from a MAC the
//! DUT itself sends from.
//!
//! Housekeeping is what stays on the link (class 7): the allowlist sets
//! apart what is addressed to stay there ([`benchctl_net::Housekeeping`]),
//! and [`OnLink`] adds what only the analyzer knows: a DHCP renewal unicast
//! to the bench's own server, and the broadcast address of the DUT's
//! subnet. Anything else to a routable address is judged by that address.
//!
//! Findings are grouped the way a person reads them: per phase for
//! isolation (how many packets, to whom), per phase and destination for the
//! allowlist (which rule each destination broke).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Unlisted source addresses kept per group: enough to name them.
const MAX_UNLISTED: usize = 8;

use serde_json::json;

use super::{Finding, Severity, list, plural};
use benchctl_net::packet::{Frame, Network, Packet, Transport};
use benchctl_net::{
    Allowed, Allowlist, Decision, Denied, Direction, Housekeeping, ResolverCache, Salvaged,
};

/// Reasons a malformed frame did not parse, kept per group: enough to
/// name them.
const MAX_REASONS: usize = 4;

/// A DUT's phase as the rule needs it: its time span, whether it allows no
/// packets, its allowlist, and its settle window.
#[derive(Debug)]
pub struct NetPhase {
    pub start: f64,
    pub end: f64,
    pub none: bool,
    pub allow: Option<Allowlist>,
    /// The first `settle_s` seconds are the DUT's time to obey
    /// (`expect.settle_s`, 0 when the run sets none).
    pub settle_s: f64,
}

/// A packet the phase's expectation forbids.
#[derive(Debug, Clone, PartialEq)]
pub struct Offence {
    /// Index into the DUT's phase list.
    pub phase: usize,
    pub t: f64,
    pub dest: String,
    /// Why, in words (for an allowlist: which rule it broke).
    pub why: String,
    /// The source address, when it is not one run.json lists for the DUT
    /// (a second lease, a temporary or link-local address, a spoofed one).
    pub unlisted_source: Option<IpAddr>,
    /// It came inside the phase's settle window.
    pub settling: bool,
    /// The far address, when that address alone broke the list (no name
    /// allowed it yet): a DNS answer captured elsewhere may still name it
    /// ([`Offences::allow_named`]).
    pub address: Option<IpAddr>,
}

/// Forbidden packets, counted per (phase, destination) as they come:
/// memory grows with the destinations a DUT tried, not with its packets
/// (an isolated phone may retry thousands of times).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Offences(BTreeMap<(usize, bool, String), OffenceGroup>);

/// The forbidden packets of one phase to one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct OffenceGroup {
    pub packets: u64,
    pub first_t: f64,
    pub last_t: f64,
    /// Why the first one was forbidden.
    pub why: String,
    /// Source addresses run.json does not list for the DUT (a few).
    pub unlisted_sources: BTreeSet<IpAddr>,
    /// Of its frames, those that were not IP, per kind ("ARP", "LLDP",
    /// "ethertype 0x88b5").
    pub not_ip: BTreeMap<String, u64>,
    /// Of its frames, those that did not parse.
    pub malformed: u64,
    /// Why they did not (a few).
    pub malformed_reasons: BTreeSet<String>,
    /// [`Offence::address`] of the first one.
    pub address: Option<IpAddr>,
}

/// What a forbidden frame was when it was not an IP packet that parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusual {
    /// Not IP: its kind ("ARP", "LLDP", "ethertype 0x88b5", "802.3 LLC").
    NotIp(String),
    /// It did not parse: why.
    Malformed(String),
}

impl Offences {
    pub fn add(&mut self, o: Offence) {
        self.add_frame(o, None);
    }

    /// [`add`](Self::add) an offence whose frame was `unusual` (not IP, or
    /// not parsed), counted as such in its group.
    pub fn add_frame(&mut self, o: Offence, unusual: Option<&Unusual>) {
        let group = self
            .0
            .entry((o.phase, o.settling, o.dest))
            .or_insert(OffenceGroup {
                packets: 0,
                first_t: o.t,
                last_t: o.t,
                why: o.why,
                unlisted_sources: BTreeSet::new(),
                not_ip: BTreeMap::new(),
                malformed: 0,
                malformed_reasons: BTreeSet::new(),
                address: o.address,
            });
        match unusual {
            Some(Unusual::NotIp(kind)) => *group.not_ip.entry(kind.clone()).or_default() += 1,
            Some(Unusual::Malformed(why)) => {
                group.malformed += 1;
                if group.malformed_reasons.len() < MAX_REASONS {
                    group.malformed_reasons.insert(why.clone());
                }
            }
            None => {}
        }
        group.packets += 1;
        group.first_t = group.first_t.min(o.t);
        group.last_t = group.last_t.max(o.t);
        if let Some(src) = o.unlisted_source
            && group.unlisted_sources.len() < MAX_UNLISTED
        {
            group.unlisted_sources.insert(src);
        }
    }

    /// Phase `phase`'s groups, by destination: those inside its settle
    /// window (`settling`), or those after it.
    pub fn in_phase(&self, phase: usize, settling: bool) -> Vec<(&str, &OffenceGroup)> {
        self.0
            .range((phase, settling, String::new())..=(phase, settling, char::MAX.to_string()))
            .map(|((_, _, dest), g)| (dest.as_str(), g))
            .collect()
    }

    /// Take back the groups sent to an address that `named_allowed(phase,
    /// address)` says a captured DNS answer named for a name the phase
    /// allows (recording-format.md: "an address that a captured DNS answer
    /// gave for an allowed name is allowed", whoever asked and whenever).
    /// Returns the addresses so allowed.
    pub fn allow_named(&mut self, named_allowed: impl Fn(usize, IpAddr) -> bool) -> Vec<IpAddr> {
        let mut allowed = Vec::new();
        self.0.retain(|(phase, _, _), g| match g.address {
            Some(ip) if named_allowed(*phase, ip) => {
                allowed.push(ip);
                false
            }
            _ => true,
        });
        allowed
    }

    /// Whether a group is about `ip` still.
    pub fn concerns(&self, ip: IpAddr) -> bool {
        let text = ip.to_string();
        self.0
            .iter()
            .any(|((_, _, dest), g)| g.address == Some(ip) || *dest == text)
    }

    /// Every forbidden packet counted.
    pub fn packets(&self) -> u64 {
        self.0.values().map(|g| g.packets).sum()
    }
}

/// What one packet did against its phase's expectation.
#[derive(Debug, Default, PartialEq)]
pub struct Judgement {
    /// Sent while the phase allows no packets.
    pub in_isolation: Option<Offence>,
    /// Sent to a destination the allowlist denies: (remote address, when it
    /// has one, offence).
    pub denied: Option<(Option<IpAddr>, Offence)>,
    /// Sent to a destination the allowlist allows.
    pub allowed: Option<IpAddr>,
    /// The frame was not an IP packet that parsed: what it was.
    pub unusual: Option<Unusual>,
}

/// What the analyzer knows of a DUT's link that an allowlist does not:
/// what sets a unicast DHCP renewal and a subnet broadcast apart as
/// housekeeping (findings.md). Nothing here makes a routable destination
/// beyond the link housekeeping.
#[derive(Debug, Clone, Copy)]
pub struct OnLink<'a> {
    /// The DUT's listed addresses (run.json `ip`): its subnet's broadcast
    /// address stays on the link. Empty: the packet's own source stands in.
    pub dut_ips: &'a [IpAddr],
    /// The bench's DHCP servers: `bench_ip`, and the servers whose replies
    /// came from the bench side of the link (their source and server
    /// identifier).
    pub dhcp_servers: &'a BTreeSet<IpAddr>,
}

/// No servers known.
static NO_SERVERS: BTreeSet<IpAddr> = BTreeSet::new();

impl Default for OnLink<'_> {
    /// Nothing known of the link: no DHCP server, the packet's own source
    /// for the subnet.
    fn default() -> Self {
        OnLink {
            dut_ips: &[],
            dhcp_servers: &NO_SERVERS,
        }
    }
}

/// Shortest and longest IPv4 prefixes a DUT's subnet is taken to have
/// when its broadcast address is recognised: no bench link is wider than a
/// /16 or narrower than a /30, and what run.json says of the DUT's
/// addresses carries no prefix.
const SUBNET_PREFIXES: std::ops::RangeInclusive<u32> = 16..=30;

impl OnLink<'_> {
    /// The allowlist's decision on `ip` (from the DUT), with what the bench
    /// knows set apart: a DHCP request unicast to one of the bench's own
    /// servers, and a broadcast to the DUT's subnet, are housekeeping.
    pub fn refine(&self, decision: Decision, frame: &Frame<'_>, ip: &Packet<'_>) -> Decision {
        let Decision::Denied(Denied::Destination(dst)) = decision else {
            return decision;
        };
        let dhcp_request = match ip.transport {
            Transport::Udp { sport, dport } => {
                (sport, dport) == (68, 67) && dst.is_ipv4()
                    || (sport, dport) == (546, 547) && dst.is_ipv6()
            }
            _ => false,
        };
        if dhcp_request && self.dhcp_servers.contains(&dst.to_canonical()) {
            return Decision::Housekeeping(Housekeeping::Dhcp);
        }
        // A frame with a link destination must go to everyone on it: a
        // phone sends its subnet's broadcast to the broadcast MAC, and one
        // addressed to a MAC is routed like any unicast.
        let to_everyone = frame.link.dst.is_none() || frame.link.is_broadcast();
        if to_everyone && self.is_subnet_broadcast(dst, ip.src) {
            return Decision::Housekeeping(Housekeeping::Broadcast(dst));
        }
        decision
    }

    /// Whether `dst` (sent to from `src`) is an address that stays on the
    /// DUT's link: one no router forwards to
    /// (`benchctl_net::allowlist::stays_on_link`) or the broadcast address
    /// of the DUT's subnet.
    pub fn keeps(&self, dst: IpAddr, src: IpAddr) -> bool {
        benchctl_net::allowlist::stays_on_link(dst) || self.is_subnet_broadcast(dst, src)
    }

    /// Whether `dst` is the broadcast address of a subnet (a /16 to a /30)
    /// holding one of the DUT's addresses (`src` when none is listed).
    pub fn is_subnet_broadcast(&self, dst: IpAddr, src: IpAddr) -> bool {
        let IpAddr::V4(dst) = dst.to_canonical() else {
            return false;
        };
        let dst = u32::from(dst);
        let own: Vec<IpAddr> = if self.dut_ips.is_empty() {
            vec![src]
        } else {
            self.dut_ips.to_vec()
        };
        own.iter().any(|a| {
            let IpAddr::V4(a) = a.to_canonical() else {
                return false;
            };
            let a = u32::from(a);
            SUBNET_PREFIXES.clone().any(|prefix| {
                let host = u32::MAX >> prefix;
                dst & host == host && dst & !host == a & !host && a != dst
            })
        })
    }
}

/// A frame's kind when it is not IP, as findings name it.
pub fn not_ip_kind(frame: &Frame<'_>) -> String {
    match &frame.net {
        Network::Ip(_) => "IP".into(),
        Network::Arp(_) => "ARP".into(),
        Network::LinkControl => "802.11 link control".into(),
        Network::Other { ethertype, .. } => match *ethertype {
            0..=1500 => "802.3 LLC".into(),
            0x0806 => "ARP".into(),
            0x8035 => "RARP".into(),
            0x88cc => "LLDP".into(),
            0x888e => "EAPOL".into(),
            0x8863 | 0x8864 => "PPPoE".into(),
            other => format!("ethertype 0x{other:04x}"),
        },
    }
}

impl NetPhase {
    /// Whether run time `t` falls inside the phase's settle window.
    pub fn settling(&self, t: f64) -> bool {
        t < self.start + self.settle_s
    }

    /// Judge one packet of phase number `index` at run time `t`.
    /// `learned`: what DNS answers to the DUT's queries taught so far.
    #[allow(clippy::too_many_arguments)]
    pub fn judge(
        &self,
        index: usize,
        t: f64,
        (frame, ip): (&Frame<'_>, &Packet<'_>),
        dir: Direction,
        learned: &ResolverCache,
        link: &OnLink<'_>,
    ) -> Judgement {
        let mut out = Judgement::default();
        if let Some(allow) = &self.allow {
            let decision = link.refine(allow.judge_learned(frame, dir, learned), frame, ip);
            if dir == Direction::FromDut {
                match decision {
                    Decision::Denied(d) => {
                        let address = match d {
                            Denied::Destination(ip) => Some(ip),
                            _ => None,
                        };
                        out.denied = Some((
                            Some(ip.dst),
                            Offence {
                                phase: index,
                                t,
                                dest: d.destination(),
                                why: d.to_string(),
                                unlisted_source: None,
                                address,
                                settling: self.settling(t),
                            },
                        ));
                    }
                    // The destination itself is allowed, not only what
                    // was asked of it: a lookup of an allowed name may go
                    // to any resolver, and a timer querying an accomplice's
                    // resolver must not pass as an allowed keep-alive.
                    Decision::Allowed(
                        Allowed::ListedIp(_)
                        | Allowed::Cidr { .. }
                        | Allowed::LearnedFromDns { .. },
                    ) => out.allowed = Some(ip.dst),
                    _ => {}
                }
            }
        }
        if dir == Direction::FromDut && self.none {
            out.in_isolation = Some(Offence {
                phase: index,
                t,
                dest: ip.dst.to_string(),
                why: format!("{} to {}", proto_name(ip.protocol), ip.dst),
                unlisted_source: None,
                address: None,
                settling: self.settling(t),
            });
        }
        out
    }

    /// Judge a frame that parsed but carries no IP packet (ARP, another
    /// ethertype), sent in direction `dir`. In isolation it is a packet
    /// sent like any other; under an allowlist, what the list says of it
    /// (ARP is housekeeping; another protocol is one it cannot allow).
    pub fn judge_not_ip(
        &self,
        index: usize,
        t: f64,
        frame: &Frame<'_>,
        dir: Direction,
        learned: &ResolverCache,
    ) -> Judgement {
        let kind = not_ip_kind(frame);
        let to_mac = frame
            .link
            .dst
            .map_or_else(|| "the link".to_string(), |m| m.to_string());
        let (dest, why) = match &frame.net {
            Network::Arp(a) => {
                let op = match a.op {
                    1 => "request".to_string(),
                    2 => "reply".to_string(),
                    op => format!("op {op}"),
                };
                (
                    format!("{} (ARP)", a.target_ip),
                    format!(
                        "ARP {op} for {} (target MAC {}) to {to_mac}",
                        a.target_ip, a.target_mac
                    ),
                )
            }
            _ => (
                format!("{to_mac} ({kind})"),
                format!("{kind} frame to {to_mac}"),
            ),
        };
        let mut out = Judgement {
            unusual: Some(Unusual::NotIp(kind)),
            ..Judgement::default()
        };
        if dir != Direction::FromDut {
            return out;
        }
        let offence = Offence {
            phase: index,
            t,
            dest,
            why,
            unlisted_source: None,
            address: None,
            settling: self.settling(t),
        };
        if let Some(allow) = &self.allow
            && let Decision::Denied(d) = allow.judge_learned(frame, dir, learned)
        {
            out.denied = Some((
                None,
                Offence {
                    why: d.to_string(),
                    ..offence.clone()
                },
            ));
        }
        if self.none {
            out.in_isolation = Some(offence);
        }
        out
    }

    /// Judge a frame that did not parse (`error`: why), sent in direction
    /// `dir`, by what could still be read of it (`salvaged`). In isolation
    /// it is a packet sent; under an allowlist, a damaged IP packet to a
    /// routable destination the list does not allow is denied (what it
    /// carried cannot be read, where it went can).
    #[allow(clippy::too_many_arguments)]
    pub fn judge_unread(
        &self,
        index: usize,
        t: f64,
        salvaged: &Salvaged,
        error: &str,
        dir: Direction,
        learned: &ResolverCache,
        link: &OnLink<'_>,
    ) -> Judgement {
        let mut out = Judgement {
            unusual: Some(Unusual::Malformed(error.to_string())),
            ..Judgement::default()
        };
        if dir != Direction::FromDut {
            return out;
        }
        let (dest, why) = match (salvaged.ips, salvaged.dst_mac) {
            (Some((_, dst)), _) => {
                let proto = salvaged.protocol.map_or_else(|| "IP".into(), proto_name);
                (dst.to_string(), format!("malformed {proto} to {dst}"))
            }
            (None, Some(mac)) => (
                format!("{mac} (unreadable frame)"),
                format!("unreadable frame to {mac}"),
            ),
            (None, None) => ("unreadable frame".into(), "unreadable frame".into()),
        };
        let offence = Offence {
            phase: index,
            t,
            dest,
            why,
            unlisted_source: None,
            address: None,
            settling: self.settling(t),
        };
        if let (Some(allow), Some((src, dst))) = (&self.allow, salvaged.ips)
            && !link.keeps(dst, src)
            && allow.why_ip_learned(dst, learned).is_none()
        {
            out.denied = Some((
                Some(dst),
                Offence {
                    why: format!("{}: {dst} is not on the allowlist", offence.why),
                    ..offence.clone()
                },
            ));
        }
        if self.none {
            out.in_isolation = Some(offence);
        }
        out
    }
}

/// The transport's name as findings and flow labels write it.
pub(crate) fn proto_name(p: u8) -> String {
    use benchctl_net::packet::ip_proto;
    match p {
        ip_proto::TCP => "tcp".into(),
        ip_proto::UDP => "udp".into(),
        ip_proto::ICMP => "icmp".into(),
        ip_proto::ICMPV6 => "icmpv6".into(),
        other => other.to_string(),
    }
}

/// ", from 10.77.2.77, an address run.json does not list for it" (empty
/// when every source was listed).
fn unlisted_words(unlisted: &BTreeSet<IpAddr>) -> String {
    if unlisted.is_empty() {
        return String::new();
    }
    let addresses: Vec<String> = unlisted.iter().map(ToString::to_string).collect();
    let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let (one, these) = if unlisted.len() == 1 {
        ("an address", "it")
    } else {
        ("addresses", "them")
    };
    format!(
        ", from {} ({one} run.json does not list for the DUT: {these} sent from its link all the same)",
        list(&addresses, 3)
    )
}

/// ", 8 of them not IP (8 ARP); 2 of them malformed (frame ends ...)" for
/// the frames of `groups` that were not IP packets that parsed (empty when
/// all were), and the same as evidence: `not_ip` (per kind), `malformed`
/// and `malformed_reasons`.
fn unusual_words(
    groups: &[&OffenceGroup],
    evidence: &mut BTreeMap<String, serde_json::Value>,
) -> String {
    let mut not_ip: BTreeMap<&str, u64> = BTreeMap::new();
    let mut malformed = 0;
    let mut reasons: BTreeSet<&str> = BTreeSet::new();
    for g in groups {
        for (kind, n) in &g.not_ip {
            *not_ip.entry(kind).or_default() += n;
        }
        malformed += g.malformed;
        reasons.extend(g.malformed_reasons.iter().map(String::as_str));
    }
    let mut words = String::new();
    let not_ip_n: u64 = not_ip.values().sum();
    if not_ip_n > 0 {
        let kinds: Vec<String> = not_ip.iter().map(|(k, n)| format!("{n} {k}")).collect();
        words.push_str(&format!(
            "; {not_ip_n} of them not IP ({})",
            kinds.join(", ")
        ));
        evidence.insert("not_ip".into(), json!(not_ip));
    }
    if malformed > 0 {
        let reasons: Vec<&str> = reasons.into_iter().take(MAX_REASONS).collect();
        words.push_str(&format!(
            "; {malformed} of them malformed ({})",
            list(&reasons, 2)
        ));
        evidence.insert("malformed".into(), json!(malformed));
        evidence.insert("malformed_reasons".into(), json!(reasons));
    }
    words
}

/// The `net-in-isolation` finding of phase `phase` from the packets sent
/// in it (its [`Offences::in_phase`]); None when it sent none.
pub fn isolation_finding(phase: &str, sent: &[(&str, &OffenceGroup)]) -> Option<Finding> {
    if sent.is_empty() {
        return None;
    }
    let packets: u64 = sent.iter().map(|(_, g)| g.packets).sum();
    let first = sent
        .iter()
        .map(|(_, g)| g.first_t)
        .fold(f64::INFINITY, f64::min);
    let last = sent
        .iter()
        .map(|(_, g)| g.last_t)
        .fold(f64::NEG_INFINITY, f64::max);
    let dests: Vec<&str> = sent.iter().map(|(d, _)| *d).collect();
    let n = usize::try_from(packets).unwrap_or(usize::MAX);
    let unlisted: BTreeSet<IpAddr> = sent
        .iter()
        .flat_map(|(_, g)| g.unlisted_sources.iter().copied())
        .collect();
    let mut evidence = BTreeMap::new();
    evidence.insert("packets".into(), json!(packets));
    evidence.insert("destinations".into(), json!(dests));
    if !unlisted.is_empty() {
        evidence.insert("unlisted_sources".into(), json!(unlisted));
    }
    let groups: Vec<&OffenceGroup> = sent.iter().map(|(_, g)| *g).collect();
    let unusual = unusual_words(&groups, &mut evidence);
    Some(Finding {
        kind: "net-in-isolation",
        severity: Severity::High,
        phase: Some(phase.to_string()),
        start_s: first,
        end_s: last,
        channel: None,
        score: 1.0,
        summary: format!(
            "sent {packets} packet{} (to {}) during phase \"{phase}\", which allows none{}{unusual}",
            plural(n),
            list(&dests, 3),
            unlisted_words(&unlisted),
        ),
        evidence,
        settle: false,
    })
}

/// The `net-unexpected-destination` findings of phase `phase`, one per
/// destination, from the denied packets sent in it (its
/// [`Offences::in_phase`]). `allow` is the phase's allowlist as the
/// scenario wrote it (evidence).
pub fn destination_findings(
    phase: &str,
    allow: &[String],
    denied: &[(&str, &OffenceGroup)],
) -> Vec<Finding> {
    denied
        .iter()
        .map(|(dest, g)| {
            let mut evidence = BTreeMap::new();
            evidence.insert("packets".into(), json!(g.packets));
            evidence.insert("allow".into(), json!(allow));
            if !g.unlisted_sources.is_empty() {
                evidence.insert("unlisted_sources".into(), json!(g.unlisted_sources));
            }
            let unusual = unusual_words(&[g], &mut evidence);
            Finding {
                kind: "net-unexpected-destination",
                severity: Severity::High,
                phase: Some(phase.to_string()),
                start_s: g.first_t,
                end_s: g.last_t,
                channel: Some(dest.to_string()),
                score: 1.0,
                summary: format!(
                    "{} packet{} during phase \"{phase}\": {}{}{unusual}",
                    g.packets,
                    plural(usize::try_from(g.packets).unwrap_or(usize::MAX)),
                    g.why,
                    unlisted_words(&g.unlisted_sources),
                ),
                evidence,
                settle: false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use benchctl_net::packet::build::v4_udp;
    use benchctl_net::packet::parse_ethernet;

    const DUT: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);
    const C2: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 17);
    const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

    /// `settled`: at 5 s into the phase, past its 1 s settle window; else
    /// half a second in, inside it.
    fn judge(phase: &mut NetPhase, settled: bool, bytes: &[u8], dir: Direction) -> Judgement {
        let frame = parse_ethernet(bytes).expect("frame");
        let ip = frame.ip().expect("ip");
        phase.judge(
            0,
            if settled { 5.0 } else { 0.5 },
            (&frame, ip),
            dir,
            &ResolverCache::default(),
            &OnLink::default(),
        )
    }

    #[test]
    fn an_isolated_phase_forbids_what_the_dut_sends_once_settled() {
        let mut p = NetPhase {
            start: 0.0,
            end: 10.0,
            none: true,
            allow: None,
            settle_s: 1.0,
        };
        let out = v4_udp(true, DUT, C2, 5000, 53, b"q");
        let back = v4_udp(false, C2, DUT, 53, 5000, b"a");
        // Inside the settle window it is an offence too, marked as such.
        let early = judge(&mut p, false, &out, Direction::FromDut)
            .in_isolation
            .expect("an offence while settling");
        assert!(early.settling);
        assert!(
            judge(&mut p, true, &back, Direction::ToDut)
                .in_isolation
                .is_none()
        );
        let o = judge(&mut p, true, &out, Direction::FromDut)
            .in_isolation
            .expect("an offence");
        assert_eq!(o.dest, "198.51.100.17");
        assert_eq!(o.why, "udp to 198.51.100.17");
    }

    #[test]
    fn an_allowlist_denies_by_rule_and_allows_the_rest() {
        let allow = Allowlist::parse(&["10.77.0.0/16".to_string()]).expect("list");
        let mut p = NetPhase {
            start: 0.0,
            end: 10.0,
            none: false,
            allow: Some(allow),
            settle_s: 1.0,
        };
        let ok = judge(
            &mut p,
            true,
            &v4_udp(true, DUT, GATEWAY, 1, 443, b""),
            Direction::FromDut,
        );
        assert_eq!(ok.allowed, Some(IpAddr::V4(GATEWAY)));
        assert!(ok.denied.is_none());
        let bad = judge(
            &mut p,
            true,
            &v4_udp(true, DUT, C2, 1, 443, b""),
            Direction::FromDut,
        );
        let (remote, o) = bad.denied.expect("denied");
        assert_eq!(remote, Some(IpAddr::V4(C2)));
        assert!(o.why.contains("not on the allowlist"), "{}", o.why);
        assert!(!o.settling);
        // Inside the settle window, the same packet is denied as settling.
        let early = judge(
            &mut p,
            false,
            &v4_udp(true, DUT, C2, 1, 443, b""),
            Direction::FromDut,
        );
        assert!(early.denied.expect("denied while settling").1.settling);
    }

    /// A lookup of an allowed name to a resolver the list does not name is
    /// allowed (the spec's rule), but the resolver is not an allowed
    /// destination: a timer querying it is a beacon of medium severity, not
    /// a keep-alive to an allowed host.
    #[test]
    fn a_lookup_allowed_by_name_does_not_make_its_resolver_allowed() {
        let allow = Allowlist::parse(&["android.com".to_string()]).expect("list");
        let mut p = NetPhase {
            start: 0.0,
            end: 10.0,
            none: false,
            allow: Some(allow),
            settle_s: 1.0,
        };
        let mut query = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in ["android", "com"] {
            query.push(label.len() as u8);
            query.extend_from_slice(label.as_bytes());
        }
        query.extend_from_slice(&[0, 0, 1, 0, 1]);
        let out = judge(
            &mut p,
            true,
            &v4_udp(true, DUT, C2, 5353, 53, &query),
            Direction::FromDut,
        );
        assert_eq!(out, Judgement::default(), "allowed, and no destination");
    }

    #[test]
    fn findings_group_per_phase_and_per_destination() {
        let o = |phase: usize, t: f64, dest: &str| Offence {
            phase,
            t,
            dest: dest.to_string(),
            why: format!("udp to {dest}"),
            unlisted_source: None,
            address: None,
            settling: false,
        };
        let mut sent = Offences::default();
        for off in [
            o(0, 2.0, "b"),
            o(0, 3.0, "a"),
            o(0, 4.0, "b"),
            o(1, 9.0, "a"),
        ] {
            sent.add(off);
        }
        assert_eq!(sent.packets(), 4);
        let f = isolation_finding("isolated", &sent.in_phase(0, false)).expect("finding");
        assert_eq!((f.start_s, f.end_s), (2.0, 4.0));
        assert_eq!(
            f.summary,
            "sent 3 packets (to a, b) during phase \"isolated\", which allows none"
        );
        assert!(isolation_finding("isolated", &sent.in_phase(2, false)).is_none());
        let per_dest = destination_findings("online", &[], &sent.in_phase(0, false));
        let counts: Vec<(Option<&str>, u64)> = per_dest
            .iter()
            .map(|f| {
                (
                    f.channel.as_deref(),
                    f.evidence["packets"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(counts, [(Some("a"), 1), (Some("b"), 2)]);
        assert_eq!(per_dest[1].start_s, 2.0);
        assert_eq!(
            per_dest[1].summary,
            "2 packets during phase \"online\": udp to b"
        );
    }
}
