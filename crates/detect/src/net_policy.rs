//! Packets against the phase's network expectation: `net-in-isolation` and
//! `net-unexpected-destination` (findings.md).
//!
//! The statistic is a rule, applied to every packet the DUT sends once the
//! phase has settled:
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
//! Findings are grouped the way a person reads them: per phase for
//! isolation (how many packets, to whom), per phase and destination for the
//! allowlist (which rule each destination broke).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Unlisted source addresses kept per group: enough to name them.
const MAX_UNLISTED: usize = 8;

use serde_json::json;

use super::{Finding, Severity, list, plural};
use benchctl_net::packet::{Frame, Packet};
use benchctl_net::{Allowed, Allowlist, Decision, Direction, ResolverCache};

/// A DUT's phase as the rule needs it: its time span, whether it allows no
/// packets, and its allowlist.
#[derive(Debug)]
pub struct NetPhase {
    pub start: f64,
    pub end: f64,
    pub none: bool,
    pub allow: Option<Allowlist>,
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
}

/// Forbidden packets, counted per (phase, destination) as they come:
/// memory grows with the destinations a DUT tried, not with its packets
/// (an isolated phone may retry thousands of times).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Offences(BTreeMap<(usize, String), OffenceGroup>);

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
}

impl Offences {
    pub fn add(&mut self, o: Offence) {
        let group = self.0.entry((o.phase, o.dest)).or_insert(OffenceGroup {
            packets: 0,
            first_t: o.t,
            last_t: o.t,
            why: o.why,
            unlisted_sources: BTreeSet::new(),
        });
        group.packets += 1;
        group.first_t = group.first_t.min(o.t);
        group.last_t = group.last_t.max(o.t);
        if let Some(src) = o.unlisted_source
            && group.unlisted_sources.len() < MAX_UNLISTED
        {
            group.unlisted_sources.insert(src);
        }
    }

    /// Phase `phase`'s groups, by destination.
    pub fn in_phase(&self, phase: usize) -> Vec<(&str, &OffenceGroup)> {
        self.0
            .range((phase, String::new())..(phase + 1, String::new()))
            .map(|((_, dest), g)| (dest.as_str(), g))
            .collect()
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
    /// Sent to a destination the allowlist denies: (remote address, offence).
    pub denied: Option<(IpAddr, Offence)>,
    /// Sent to a destination the allowlist allows.
    pub allowed: Option<IpAddr>,
}

impl NetPhase {
    /// Judge one packet of phase number `index` at run time `t`. `settled`:
    /// the phase's first moments (the bench still switching) are over.
    /// `learned`: what DNS answers to the DUT's queries taught so far.
    pub fn judge(
        &self,
        index: usize,
        t: f64,
        settled: bool,
        (frame, ip): (&Frame<'_>, &Packet<'_>),
        dir: Direction,
        learned: &ResolverCache,
    ) -> Judgement {
        let mut out = Judgement::default();
        if let Some(allow) = &self.allow {
            let decision = allow.judge_learned(frame, dir, learned);
            if dir == Direction::FromDut {
                match decision {
                    Decision::Denied(d) if settled => {
                        out.denied = Some((
                            ip.dst,
                            Offence {
                                phase: index,
                                t,
                                dest: d.destination(),
                                why: d.to_string(),
                                unlisted_source: None,
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
        if dir == Direction::FromDut && self.none && settled {
            out.in_isolation = Some(Offence {
                phase: index,
                t,
                dest: ip.dst.to_string(),
                why: format!("{} to {}", proto_name(ip.protocol), ip.dst),
                unlisted_source: None,
            });
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
    Some(Finding {
        kind: "net-in-isolation",
        severity: Severity::High,
        phase: Some(phase.to_string()),
        start_s: first,
        end_s: last,
        channel: None,
        score: 1.0,
        summary: format!(
            "sent {packets} packet{} (to {}) during phase \"{phase}\", which allows none{}",
            plural(n),
            list(&dests, 3),
            unlisted_words(&unlisted),
        ),
        evidence,
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
            Finding {
                kind: "net-unexpected-destination",
                severity: Severity::High,
                phase: Some(phase.to_string()),
                start_s: g.first_t,
                end_s: g.last_t,
                channel: Some(dest.to_string()),
                score: 1.0,
                summary: format!(
                    "{} packet{} during phase \"{phase}\": {}{}",
                    g.packets,
                    plural(usize::try_from(g.packets).unwrap_or(usize::MAX)),
                    g.why,
                    unlisted_words(&g.unlisted_sources),
                ),
                evidence,
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

    fn judge(phase: &mut NetPhase, settled: bool, bytes: &[u8], dir: Direction) -> Judgement {
        let frame = parse_ethernet(bytes).expect("frame");
        let ip = frame.ip().expect("ip");
        phase.judge(
            0,
            5.0,
            settled,
            (&frame, ip),
            dir,
            &ResolverCache::default(),
        )
    }

    #[test]
    fn an_isolated_phase_forbids_what_the_dut_sends_once_settled() {
        let mut p = NetPhase {
            start: 0.0,
            end: 10.0,
            none: true,
            allow: None,
        };
        let out = v4_udp(true, DUT, C2, 5000, 53, b"q");
        let back = v4_udp(false, C2, DUT, 53, 5000, b"a");
        assert!(
            judge(&mut p, false, &out, Direction::FromDut)
                .in_isolation
                .is_none()
        );
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
        assert_eq!(remote, IpAddr::V4(C2));
        assert!(o.why.contains("not on the allowlist"), "{}", o.why);
        // Before the phase settled, the same packet is the bench's moment.
        let early = judge(
            &mut p,
            false,
            &v4_udp(true, DUT, C2, 1, 443, b""),
            Direction::FromDut,
        );
        assert!(early.denied.is_none());
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
        let f = isolation_finding("isolated", &sent.in_phase(0)).expect("finding");
        assert_eq!((f.start_s, f.end_s), (2.0, 4.0));
        assert_eq!(
            f.summary,
            "sent 3 packets (to a, b) during phase \"isolated\", which allows none"
        );
        assert!(isolation_finding("isolated", &sent.in_phase(2)).is_none());
        let per_dest = destination_findings("online", &[], &sent.in_phase(0));
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
