//! Periodic check-ins (`net-beacon`): a phone contacting one destination
//! on a timer.
//!
//! Implants call home on a schedule (with a little jitter to look less
//! mechanical) and send about the same amount each time. People do not:
//! what they cause comes in bursts, at irregular times, in all sizes. The
//! score is RITA's (Active Countermeasures, github.com/activecm/rita, beacon
//! analysis), which scores exactly those two properties, each 0..1:
//!
//! ```text
//! intervals  = gaps between check-ins, sorted; Q1, Q2, Q3 their quartiles
//! bowley     = (Q1 + Q3 − 2·Q2) / (Q3 − Q1)      (0 when the IQR is tiny)
//! timing     = mean of  1 − |bowley(intervals)|             symmetric jitter
//!                       max(0, 1 − MAD(intervals) / Q2)      tight around the median
//!                       min(1, intervals · Q2 / span)        no missing check-ins
//! sizes      = mean of  1 − |bowley(sizes)|
//!                       max(0, 1 − MAD(sizes) / median)
//!                       1 − (distinct sizes − 1) / (n − 1)   sizes to 32 bytes
//! rita       = (timing + sizes) / 2
//! score      = rita · clamp((0.35 − MAD(intervals) / Q2) / 0.10)
//! ```
//!
//! Where this follows RITA and where it adapts it:
//! - Bowley skew and the MAD relative to the median are RITA's v5 timestamp
//!   and data-size statistics (`calculateBowleySkewness`,
//!   `calculateMedianAbsoluteDeviation`), including the rule that skew is 0
//!   when the quartile spread is too small to mean anything (RITA: under
//!   10 s or 10 bytes at one-second resolution; here under 2% of the median
//!   interval, or under 32 bytes).
//! - The connection-count score is RITA-legacy's "connections relative to
//!   the observation span" (it divided the span into 10 s slots). A fixed
//!   slot punishes slow beacons, so here the slot is the beacon's own median
//!   interval: 1.0 when every expected check-in happened, ~0.7 for Poisson
//!   arrivals, near 0 for bursts separated by long silences.
//! - The third size statistic is the number of distinct sizes (to 32 bytes,
//!   RITA-legacy's data-jitter tolerance) instead of RITA-legacy's
//!   "smallness", which called every small packet a beacon.
//!
//! - The last line is this bench's addition. RITA's timing half leans on
//!   Bowley skew, which is noisy over a few dozen intervals, so Poisson
//!   arrivals reach a timing score of 0.8 now and then; and the size half
//!   alone lifts any flow of constant-size connections halfway. Together,
//!   without the fade, they called 88 of 200 generated Poisson flows with
//!   constant sizes (DNS lookups to a resolver, the same API call at random
//!   times) a beacon. The MAD relative to the median separates cleanly
//!   (timers with up to ±20% jitter: ≤ 0.12; Poisson: ≥ 0.30), so the score
//!   fades out between 0.25 (±50% uniform jitter, still a timer) and 0.35.
//!   Below 0.25 the score is RITA's, unchanged.
//!
//! Connections starting less than [`SAME_CHECKIN_S`] apart count as one
//! check-in for the timing (RITA works on one-second timestamps and sees
//! them as one); every connection's size counts.
//!
//! This statistic cannot tell an implant from an honest push keep-alive
//! (Firebase Cloud Messaging every 28 min is as periodic as any beacon):
//! both score high. Telling them apart is the analyzer's job, which lowers
//! the severity to `low` when the destination is allowed (findings.md).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde_json::json;

use super::{Finding, Severity, round};
use crate::analyze::net::{Dest, DutSorter, NetPhase};

/// Score at or above which the connections are a beacon. Fixed on the
/// generated sequences with seeds 0..100: periodic check-ins (5-600 s,
/// jitter up to 20%) scored at least 0.86, bursty app traffic at most 0.63,
/// Poisson connections (of varied sizes or of one size) 0. 0.8 sits above
/// the middle of that gap because a false beacon on an honest phone costs
/// more than a weak one missed. Checked on seeds 1000..1100; see the tests.
pub const THRESHOLD: f64 = 0.8;

/// Fewest check-ins to judge. Five intervals is the least that gives three
/// quartiles a meaning; a push keep-alive every 28 min shows 7 check-ins in
/// 3 hours.
pub const MIN_CHECKINS: usize = 6;

/// Connections this close after a check-in's first are part of it.
pub const SAME_CHECKIN_S: f64 = 1.0;

/// Size differences below this are one size: TLS and HTTP headers wobble
/// by a few bytes between otherwise identical check-ins (RITA-legacy
/// tolerated 32 bytes of data-size dispersion).
const SIZE_BUCKET_BYTES: u64 = 32;

/// Intervals whose MAD is at most this share of the median are a timer's
/// (±50% uniform jitter gives 0.25); the score fades to 0 at
/// [`JITTER_NONE`].
const JITTER_FULL: f64 = 0.25;
const JITTER_NONE: f64 = 0.35;

/// Bowley skew is only computed when the interquartile range is at least
/// this share of the median interval: below it the jitter is too small for
/// its shape to matter.
const MIN_RELATIVE_IQR: f64 = 0.02;

/// What [`assess`] found for one (source, destination, port) tuple.
#[derive(Debug, Clone, PartialEq)]
pub struct BeaconAssessment {
    /// 0..1: the mean of `timing_score` and `size_score`, faded out when
    /// the intervals are too spread for a timer (`jitter` above 0.25).
    pub score: f64,
    /// Timing half (RITA's ts score).
    pub timing_score: f64,
    /// Size half (RITA's ds score).
    pub size_score: f64,
    /// Connections judged (with a finite time).
    pub connections: usize,
    /// Check-ins (connections less than [`SAME_CHECKIN_S`] apart merged).
    pub checkins: usize,
    /// Median interval between check-ins.
    pub period_s: f64,
    /// MAD / median of the intervals: 0.1 for a period with ±20% uniform
    /// jitter.
    pub jitter: f64,
    /// Bowley skew of the intervals, −1..1 (0 = symmetric).
    pub skew: f64,
    /// MAD / median of the connection sizes.
    pub size_dispersion: f64,
    pub start_s: f64,
    pub end_s: f64,
    /// One sentence for the lab, written to follow the destination's name.
    pub summary: String,
}

impl BeaconAssessment {
    /// The `net-beacon` finding for the flow labelled `channel`. `severity`
    /// depends on where it goes ([`severity`]).
    pub fn finding(&self, channel: String, severity: Severity, phase: Option<String>) -> Finding {
        let mut evidence = BTreeMap::new();
        evidence.insert("connections".into(), json!(self.connections));
        evidence.insert("period_s".into(), json!(round(self.period_s, 2)));
        evidence.insert("jitter".into(), json!(round(self.jitter, 3)));
        evidence.insert("skew".into(), json!(round(self.skew, 3)));
        evidence.insert(
            "size_dispersion".into(),
            json!(round(self.size_dispersion, 3)),
        );
        Finding {
            kind: "net-beacon",
            severity,
            phase,
            start_s: self.start_s,
            end_s: self.end_s,
            channel: Some(channel),
            score: self.score,
            summary: self.summary.clone(),
            evidence,
            settle: false,
        }
    }
}

/// How much a beacon matters, by where it goes (findings.md): to a
/// destination an allowlist denied, high; to one an allowlist allowed, low
/// (a push keep-alive to an allowed service is normal); with no allowlist
/// to say, medium.
pub fn severity(denied: bool, allowed: bool) -> Severity {
    if denied {
        Severity::High
    } else if allowed {
        Severity::Low
    } else {
        Severity::Medium
    }
}

/// A DUT's `net-beacon` findings: its check-ins grouped by destination
/// and judged by [`assess`]. A destination is one address, whatever the
/// port, protocol or source address (an implant that hops over 443, 8443,
/// 80 and 8080 calls the same server), and one name where DNS named it
/// (round-robin addresses of one host, a name asked for again and again
/// whichever resolver carries the lookup). The groups, finest first; a
/// coarser group is reported when it is a beacon and scores above every
/// finer beacon in it (a steady beacon on one port is not reported again
/// for its address; a hopping one whose port 80 looks regular by chance is
/// reported for its address too):
///
/// 1. each (source, address, port, protocol): the flows as before, so a
///    steady beacon on one port is named by its port;
/// 2. each address over all its ports and protocols, and over the DUT's
///    source addresses (a second lease, a temporary address) when run.json
///    says which end is the DUT; in a bare capture, whose every packet is
///    judged as sent, per (source, address): the servers that answer one
///    host are not one destination;
/// 3. each DNS name over the addresses answers to the DUT's own queries
///    gave for it (the only answers `analyze::net` learns from);
/// 4. each name the DUT looked up, over its lookups: a TXT poll for a
///    command every 20 s is a beacon to that name even through the bench's
///    own resolver, whose address is allowed. Its severity is the name's:
///    high where an allowlist phase's list does not name it.
///
/// `phase_of` names the phase at a run time.
pub fn findings(sorter: &DutSorter, phase_of: &dyn Fn(f64) -> Option<String>) -> Vec<Finding> {
    let traffic = &sorter.traffic;
    let bare = sorter.sides.dut_ips.is_empty();
    let address_severity = |dests: &[&Dest], addresses: &BTreeSet<IpAddr>| {
        // Link housekeeping is never a covert pattern above low
        // (findings.md): mDNS every 20 s is discovery, not a check-in.
        if dests.iter().all(|d| sorter.link_housekeeping(d)) {
            return Severity::Low;
        }
        if bare {
            let names: BTreeSet<String> =
                addresses.iter().flat_map(|a| sorter.names_of(*a)).collect();
            return bare_severity(&names);
        }
        severity(
            addresses.iter().any(|a| traffic.denied_dests.contains(a)),
            addresses.iter().any(|a| traffic.allowed_dests.contains(a)),
        )
    };
    // A destination address, with its source only in a bare capture.
    let key = |d: &Dest| (bare.then_some(d.src), d.dst);
    let mut out = Vec::new();
    // Per destination: the best score of a beacon reported for it so far.
    let mut best: BTreeMap<(Option<IpAddr>, IpAddr), f64> = BTreeMap::new();
    let mut per_address: BTreeMap<(Option<IpAddr>, IpAddr), Vec<&Dest>> = BTreeMap::new();
    for (dest, conns) in &traffic.connections {
        per_address.entry(key(dest)).or_default().push(dest);
        let Some(a) = assess(conns).filter(|a| a.score >= THRESHOLD) else {
            continue;
        };
        let b = best.entry(key(dest)).or_default();
        *b = b.max(a.score);
        let severity = address_severity(&[dest], &BTreeSet::from([dest.dst]));
        out.push(a.finding(dest.label(), severity, phase_of(a.start_s)));
    }
    let merged = |dests: &[&Dest], finer: f64| {
        let conns: Vec<(f64, u64)> = dests
            .iter()
            .flat_map(|d| traffic.connections[*d].iter().copied())
            .collect();
        assess(&conns).filter(|a| a.score >= THRESHOLD && a.score > finer)
    };
    for (k, dests) in &per_address {
        let finer = best.get(k).copied().unwrap_or(0.0);
        if dests.len() < 2 {
            continue;
        }
        let Some(a) = merged(dests, finer) else {
            continue;
        };
        best.insert(*k, a.score);
        let mut f = a.finding(
            group_label(dests, None),
            address_severity(dests, &BTreeSet::from([k.1])),
            phase_of(a.start_s),
        );
        let ports = ports(dests);
        f.summary = format!(
            "{}; one address on {} ports ({})",
            f.summary,
            ports.len(),
            shown(&ports)
        );
        f.evidence.insert("port_count".into(), json!(ports.len()));
        f.evidence.insert(
            "ports".into(),
            json!(ports.iter().take(MAX_EVIDENCE).collect::<Vec<_>>()),
        );
        out.push(f);
    }
    // Addresses by the names answers gave them for (none in a bare
    // capture: no answer there is known to be the bench's).
    let mut per_name: BTreeMap<String, BTreeSet<IpAddr>> = BTreeMap::new();
    for (_, address) in per_address.keys() {
        for name in sorter.dns_names(*address) {
            per_name.entry(name).or_default().insert(*address);
        }
    }
    let mut judged: BTreeSet<BTreeSet<IpAddr>> = BTreeSet::new();
    for (name, addresses) in &per_name {
        if addresses.len() < 2 || !judged.insert(addresses.clone()) {
            continue;
        }
        let keys: Vec<(Option<IpAddr>, IpAddr)> = per_address
            .keys()
            .filter(|(_, a)| addresses.contains(a))
            .copied()
            .collect();
        let finer = keys
            .iter()
            .filter_map(|k| best.get(k))
            .fold(0.0, |m: f64, s| m.max(*s));
        let dests: Vec<&Dest> = keys
            .iter()
            .flat_map(|k| per_address[k].iter().copied())
            .collect();
        let Some(a) = merged(&dests, finer) else {
            continue;
        };
        let mut f = a.finding(
            group_label(&dests, Some(name)),
            address_severity(&dests, addresses),
            phase_of(a.start_s),
        );
        let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        f.summary = format!(
            "{}; one name, {name}, on {} addresses ({})",
            f.summary,
            addresses.len(),
            shown(&list)
        );
        f.evidence.insert("name".into(), json!(name));
        f.evidence.insert("addresses".into(), json!(list));
        out.push(f);
    }
    let mut lookups = lookup_findings(&traffic.dns_queries, &sorter.phases, phase_of);
    if bare {
        // The name looked up is the destination, named by the lookup.
        for f in &mut lookups {
            let name = f.channel.clone().unwrap_or_default();
            f.severity = bare_severity(&BTreeSet::from([name]));
        }
    }
    out.extend(lookups);
    out
}

/// A beacon's severity in a bare capture, which carries no expectations
/// (findings.md): `medium` when nothing in the capture named its
/// destination (`names`: DNS answers to the DUT's queries, the SNI and
/// Host it sent) or a name it has looks generated
/// ([`crate::dns_exfil::looks_generated`]); else `low`.
fn bare_severity(names: &BTreeSet<String>) -> Severity {
    if names.is_empty() || names.iter().any(|n| crate::dns_exfil::looks_generated(n)) {
        Severity::Medium
    } else {
        Severity::Low
    }
}

/// Ports or addresses to show in a channel or summary: all of up to
/// [`SHOWN`], else the first ones and how many more.
const SHOWN: usize = 8;

/// Ports listed in a finding's evidence, at most (`port_count` says how
/// many there were).
const MAX_EVIDENCE: usize = 64;

fn shown(items: &[String]) -> String {
    if items.len() <= SHOWN {
        items.join(", ")
    } else {
        format!(
            "{} and {} more",
            items[..SHOWN].join(", "),
            items.len() - SHOWN
        )
    }
}

/// The beacons among a DUT's lookups (`(t, name)`), one series per name
/// (lowercase, without the trailing dot; A and AAAA asked together are one
/// check-in, as connections less than [`SAME_CHECKIN_S`] apart are). A
/// query's size says nothing a lookup of the same name would not, so every
/// lookup counts as one size. Severity is the name's, by the allowlist of
/// the phases it was asked in: not named by one of them, high; named, low;
/// no allowlist, medium.
pub fn lookup_findings(
    queries: &[(f64, String)],
    phases: &[NetPhase],
    phase_of: &dyn Fn(f64) -> Option<String>,
) -> Vec<Finding> {
    let mut per_name: BTreeMap<String, Vec<(f64, u64)>> = BTreeMap::new();
    for (t, name) in queries {
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        per_name.entry(name).or_default().push((*t, 0));
    }
    let mut out = Vec::new();
    for (name, lookups) in per_name {
        let Some(a) = assess(&lookups).filter(|a| a.score >= THRESHOLD) else {
            continue;
        };
        let (mut denied, mut allowed) = (false, false);
        for (t, _) in &lookups {
            let list = phases
                .iter()
                .find(|p| p.start <= *t && *t < p.end)
                .and_then(|p| p.allow.as_ref());
            match list.map(|l| l.allows_name(&name)) {
                Some(true) => allowed = true,
                Some(false) => denied = true,
                None => {}
            }
        }
        let mut f = a.finding(name.clone(), severity(denied, allowed), phase_of(a.start_s));
        f.summary = format!(
            "lookups of {name}: {}{}",
            f.summary.replace("connections", "lookups"),
            if denied {
                ", a name the allowlist does not name (whichever resolver carries them)"
            } else {
                ""
            }
        );
        f.evidence.insert("name".into(), json!(name));
        out.push(f);
    }
    out
}

/// `10.77.2.2>203.0.113.7:80,443,8080,8443/tcp`: the flows of one group,
/// sources and addresses joined, ports per protocol. With `name`, the
/// name stands for the addresses. More than [`SHOWN`] ports are counted,
/// not listed (`10.77.2.2>203.0.113.7:(40 ports)/tcp`).
fn group_label(dests: &[&Dest], name: Option<&str>) -> String {
    let sources: BTreeSet<String> = dests.iter().map(|d| d.src.to_string()).collect();
    let sources: Vec<String> = sources.into_iter().collect();
    let to = match name {
        Some(name) => name.to_string(),
        None => {
            let addresses: BTreeSet<IpAddr> = dests.iter().map(|d| d.dst).collect();
            let a: Vec<String> = addresses
                .iter()
                .map(|a| match a {
                    IpAddr::V4(a) => a.to_string(),
                    IpAddr::V6(a) => format!("[{a}]"),
                })
                .collect();
            a.join(",")
        }
    };
    let mut per_proto: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
    for d in dests {
        per_proto.entry(&d.proto).or_default().insert(d.dport);
    }
    let ports: Vec<String> = per_proto
        .iter()
        .map(|(proto, ports)| {
            if ports.len() > SHOWN {
                return format!("({} ports)/{proto}", ports.len());
            }
            let p: Vec<String> = ports.iter().map(ToString::to_string).collect();
            format!("{}/{proto}", p.join(","))
        })
        .collect();
    format!("{}>{to}:{}", sources.join(","), ports.join(","))
}

/// `443/tcp` for each (port, protocol) of a group, sorted.
fn ports(dests: &[&Dest]) -> Vec<String> {
    let set: BTreeSet<(u16, &str)> = dests.iter().map(|d| (d.dport, d.proto.as_str())).collect();
    set.into_iter()
        .map(|(p, proto)| format!("{p}/{proto}"))
        .collect()
}

/// Judge one (source, destination, port) tuple's connections: (start time
/// in seconds, bytes sent). Any order; entries with a non-finite time are
/// ignored. None when fewer than [`MIN_CHECKINS`] check-ins remain.
pub fn assess(events: &[(f64, u64)]) -> Option<BeaconAssessment> {
    let mut conns: Vec<(f64, u64)> = events
        .iter()
        .copied()
        .filter(|(t, _)| t.is_finite())
        .collect();
    conns.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut checkins: Vec<f64> = Vec::new();
    for &(t, _) in &conns {
        if checkins
            .last()
            .is_none_or(|&first| t - first >= SAME_CHECKIN_S)
        {
            checkins.push(t);
        }
    }
    if checkins.len() < MIN_CHECKINS {
        return None;
    }
    let (start_s, end_s) = (checkins[0], checkins[checkins.len() - 1]);
    let span = end_s - start_s;

    let mut intervals: Vec<f64> = checkins.windows(2).map(|w| w[1] - w[0]).collect();
    intervals.sort_by(f64::total_cmp);
    let (q1, period_s, q3) = quartiles(&intervals);
    let skew = bowley(q1, period_s, q3, MIN_RELATIVE_IQR * period_s);
    let jitter = mad(&intervals, period_s) / period_s;
    let count_score = if span > 0.0 {
        (intervals.len() as f64 * period_s / span).min(1.0)
    } else {
        0.0
    };
    let timing_score = (1.0 - skew.abs() + (1.0 - jitter).max(0.0) + count_score) / 3.0;

    let mut sizes: Vec<f64> = conns.iter().map(|&(_, b)| b as f64).collect();
    sizes.sort_by(f64::total_cmp);
    let (s1, size_median, s3) = quartiles(&sizes);
    let size_skew = bowley(s1, size_median, s3, SIZE_BUCKET_BYTES as f64);
    let size_mad = mad(&sizes, size_median);
    let size_dispersion = if size_median > 0.0 {
        size_mad / size_median
    } else if size_mad > 0.0 {
        1.0
    } else {
        0.0
    };
    let mut buckets: Vec<u64> = conns.iter().map(|&(_, b)| b / SIZE_BUCKET_BYTES).collect();
    buckets.sort_unstable();
    buckets.dedup();
    let distinct_score = if conns.len() > 1 {
        1.0 - (buckets.len() - 1) as f64 / (conns.len() - 1) as f64
    } else {
        1.0
    };
    let size_score =
        (1.0 - size_skew.abs() + (1.0 - size_dispersion).max(0.0) + distinct_score) / 3.0;

    let timer_like = ((JITTER_NONE - jitter) / (JITTER_NONE - JITTER_FULL)).clamp(0.0, 1.0);
    let score = ((timing_score + size_score) / 2.0 * timer_like).clamp(0.0, 1.0);
    let summary = summarize(
        score,
        checkins.len(),
        conns.len(),
        period_s,
        jitter,
        size_dispersion,
        span,
    );
    Some(BeaconAssessment {
        score,
        timing_score,
        size_score,
        connections: conns.len(),
        checkins: checkins.len(),
        period_s,
        jitter,
        skew,
        size_dispersion,
        start_s,
        end_s,
        summary,
    })
}

/// Q1, median, Q3 of sorted, non-empty `v` (linear interpolation).
fn quartiles(v: &[f64]) -> (f64, f64, f64) {
    (quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75))
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi.min(sorted.len() - 1)] - sorted[lo]) * frac
}

/// Bowley's quartile skew, (Q1 + Q3 − 2·Q2) / (Q3 − Q1), in −1..1. Like
/// RITA, 0 when the interquartile range is below `min_iqr` or the median
/// sits on a quartile: the shape of a spread that small says nothing.
fn bowley(q1: f64, q2: f64, q3: f64, min_iqr: f64) -> f64 {
    let iqr = q3 - q1;
    if iqr.is_nan() || iqr <= 0.0 || iqr < min_iqr || q2 == q1 || q2 == q3 {
        return 0.0;
    }
    ((q1 + q3 - 2.0 * q2) / iqr).clamp(-1.0, 1.0)
}

/// Median absolute deviation around `median`.
fn mad(values: &[f64], median: f64) -> f64 {
    let mut devs: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
    devs.sort_by(f64::total_cmp);
    quantile(&devs, 0.5)
}

/// "450 ms", "9.5 s", "45 s", "28 min", "2.5 h".
fn duration(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

fn summarize(
    score: f64,
    checkins: usize,
    connections: usize,
    period_s: f64,
    jitter: f64,
    size_dispersion: f64,
    span: f64,
) -> String {
    let what = if connections == checkins {
        format!("{checkins} connections")
    } else {
        format!("{checkins} check-ins ({connections} connections)")
    };
    let sizes = if size_dispersion < 0.1 {
        "of similar size"
    } else {
        "of varying size"
    };
    let verdict = if score >= THRESHOLD {
        "regular check-ins (a beacon)"
    } else {
        "not regular enough for a beacon"
    };
    let spread = if jitter < 0.01 {
        "under 1%".to_string()
    } else {
        format!("{:.0}%", jitter * 100.0)
    };
    format!(
        "{what} over {}, typically {} apart (MAD {spread} of that), {sizes}: {verdict}",
        duration(span),
        duration(period_s),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use benchctl_rng::SimRng;

    /// Check-ins every `period` ± `jitter` (uniform, relative) for
    /// `duration` seconds, sizes `size` plus 0-24 bytes of header wobble.
    fn periodic(
        rng: &mut SimRng,
        period: f64,
        jitter: f64,
        duration: f64,
        size: u64,
    ) -> Vec<(f64, u64)> {
        let mut t = rng.range(0.0, period);
        let mut out = Vec::new();
        while t <= duration {
            out.push((t, size + rng.below(25)));
            t += period * (1.0 + rng.range(-jitter, jitter));
        }
        out
    }

    /// Sizes of app traffic: heavy-tailed, from a few hundred bytes up.
    fn app_size(rng: &mut SimRng) -> u64 {
        rng.pareto(300.0, 1.2).min(5e6) as u64
    }

    // --- Generators for the many-runs tests: random period, jitter 0-20% ---

    fn beacon(seed: u64) -> Vec<(f64, u64)> {
        let mut rng = SimRng::new(seed);
        let period = rng.range(5.0, 600.0);
        let jitter = rng.range(0.0, 0.2);
        let count = rng.range(10.0, 60.0);
        let size = 100 + rng.below(3000);
        periodic(&mut rng, period, jitter, period * count, size)
    }

    fn poisson(seed: u64) -> Vec<(f64, u64)> {
        let mut rng = SimRng::new(seed);
        let mean = rng.range(5.0, 600.0);
        let n = 10 + rng.below(90);
        let mut t = 0.0;
        (0..n)
            .map(|_| {
                t += rng.exp(mean);
                (t, app_size(&mut rng))
            })
            .collect()
    }

    /// Connections of one size at random times: DNS lookups to the
    /// resolver, the same API call whenever the user opens an app.
    fn poisson_one_size(seed: u64) -> Vec<(f64, u64)> {
        let mut rng = SimRng::new(seed);
        let mean = rng.range(5.0, 600.0);
        let n = 10 + rng.below(90);
        let size = 60 + rng.below(3000);
        let mut t = 0.0;
        (0..n)
            .map(|_| {
                t += rng.exp(mean);
                (t, size + rng.below(25))
            })
            .collect()
    }

    /// Sessions of a few connections seconds apart, separated by
    /// heavy-tailed idle times.
    fn bursty(seed: u64) -> Vec<(f64, u64)> {
        let mut rng = SimRng::new(seed);
        let sessions = 5 + rng.below(25);
        let mut t = 0.0;
        let mut out = Vec::new();
        for _ in 0..sessions {
            for _ in 0..1 + rng.below(8) {
                out.push((t, app_size(&mut rng)));
                t += rng.range(0.2, 15.0);
            }
            t += rng.pareto(60.0, 1.1).min(1e5);
        }
        out
    }

    type Generator = fn(u64) -> Vec<(f64, u64)>;

    fn scores(seeds: std::ops::Range<u64>, generate: Generator) -> Vec<f64> {
        seeds
            .map(|s| assess(&generate(s)).map_or(0.0, |a| a.score))
            .collect()
    }

    #[test]
    fn many_runs_beacons_flagged_app_traffic_not() {
        for seeds in [0..100, 1000..1100] {
            let label = format!("{}..{}", seeds.start, seeds.end);
            let b = scores(seeds.clone(), beacon);
            let hits = b.iter().filter(|&&s| s >= THRESHOLD).count();
            let lowest = b.iter().copied().fold(f64::INFINITY, f64::min);
            println!(
                "beacon periodic (5-600 s, jitter 0-20%) seeds {label:<10} flagged {hits}/100, lowest score {lowest:.2}"
            );
            assert!(hits >= 95, "beacons: {hits}/100 on seeds {label}");
            for (name, generate) in [
                ("Poisson", poisson as Generator),
                ("Poisson, one size", poisson_one_size),
                ("bursty app", bursty),
            ] {
                let s = scores(seeds.clone(), generate);
                let hits = s.iter().filter(|&&s| s >= THRESHOLD).count();
                let highest = s.iter().copied().fold(0.0, f64::max);
                println!(
                    "beacon benign {name:<28} seeds {label:<10} flagged {hits}/100, highest score {highest:.2}"
                );
                assert_eq!(hits, 0, "{name}: {hits} false alarms on seeds {label}");
            }
        }
    }

    #[test]
    fn sixty_seconds_with_20_percent_jitter_over_30_min_is_a_beacon() {
        let mut rng = SimRng::new(1);
        let a = assess(&periodic(&mut rng, 60.0, 0.2, 1800.0, 400)).unwrap();
        println!("60 s ± 20% over 30 min: {a:?}");
        assert!(a.score >= THRESHOLD, "{a:?}");
        assert!((a.period_s - 60.0).abs() < 6.0, "{a:?}");
        assert!(a.jitter > 0.03 && a.jitter < 0.15, "{a:?}");
        assert!(
            a.summary
                .starts_with("30 connections over 29 min, typically 6"),
            "{}",
            a.summary
        );
        assert!(
            a.summary.ends_with("regular check-ins (a beacon)"),
            "{}",
            a.summary
        );
    }

    #[test]
    fn ten_seconds_with_20_percent_jitter_over_5_min_is_a_beacon() {
        let mut rng = SimRng::new(2);
        let a = assess(&periodic(&mut rng, 10.0, 0.2, 300.0, 180)).unwrap();
        println!("10 s ± 20% over 5 min: {a:?}");
        assert!(a.score >= THRESHOLD, "{a:?}");
    }

    /// A push keep-alive is periodic and scores as a beacon; the analyzer,
    /// not this statistic, lowers its severity when the destination is
    /// allowed (findings.md).
    #[test]
    fn push_keepalive_every_28_min_over_3_h_is_periodic() {
        let mut rng = SimRng::new(3);
        let a = assess(&periodic(&mut rng, 28.0 * 60.0, 0.01, 3.0 * 3600.0, 120)).unwrap();
        println!("keep-alive every 28 min over 3 h: {a:?}");
        assert!(a.checkins >= MIN_CHECKINS, "{a:?}");
        assert!(a.score >= THRESHOLD, "{a:?}");
        assert!(a.summary.contains("28 min apart"), "{}", a.summary);
    }

    #[test]
    fn poisson_and_bursty_traffic_are_not_beacons() {
        for seed in 0..5 {
            let a = assess(&poisson(seed)).unwrap();
            assert!(a.score < THRESHOLD, "{a:?}");
            assert!(
                a.summary.ends_with("not regular enough for a beacon"),
                "{}",
                a.summary
            );
            if let Some(a) = assess(&bursty(seed)) {
                assert!(a.score < THRESHOLD, "{a:?}");
            }
        }
    }

    #[test]
    fn a_handful_of_connections_is_not_judged() {
        assert!(assess(&[(0.0, 100), (60.0, 100), (120.0, 100)]).is_none());
        assert!(assess(&[]).is_none());
        // Connections within a second of each other are one check-in.
        let paired: Vec<(f64, u64)> = (0..5)
            .flat_map(|i| [(i as f64 * 60.0, 100), (i as f64 * 60.0 + 0.3, 5000)])
            .collect();
        assert!(assess(&paired).is_none());
    }

    #[test]
    fn odd_input_does_not_panic() {
        let mut events: Vec<(f64, u64)> = (0..20).map(|i| (f64::from(i) * 30.0, 200)).collect();
        events.reverse();
        events.extend([(f64::NAN, 1), (f64::INFINITY, 2), (5.0, 0), (5.0, u64::MAX)]);
        let a = assess(&events).unwrap();
        assert!(
            a.score.is_finite() && (0.0..=1.0).contains(&a.score),
            "{a:?}"
        );
        // All at one instant: one check-in.
        assert!(assess(&[(1.0, 10); 50]).is_none());
        // Zero-byte connections and perfectly regular times.
        let zero: Vec<(f64, u64)> = (0..10).map(|i| (f64::from(i), 0)).collect();
        let a = assess(&zero).unwrap();
        assert!(a.score.is_finite() && a.size_dispersion == 0.0, "{a:?}");
        // Huge times.
        let huge: Vec<(f64, u64)> = (0..10).map(|i| (1e300 * f64::from(i), 1)).collect();
        assert!(assess(&huge).is_none_or(|a| a.score.is_finite()));
    }

    // --- Destinations: one address whatever the port, one name ---

    mod destinations {
        use std::net::{IpAddr, Ipv4Addr};

        use super::*;
        use crate::analyze::net::{Dest, DutSorter, LinkSides, NetPhase};
        use benchctl_net::Allowlist;
        use benchctl_net::dns::{build_query, build_response, rtype};
        use benchctl_net::packet::build::{v4_tcp, v4_udp};

        const DUT: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);
        const RESOLVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
        const C2: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);
        const SYN: u8 = 0x02;
        const PSH_ACK: u8 = 0x18;
        /// The honest fixture's allowlist.
        const ALLOW: [&str; 6] = [
            "gstatic.com",
            "google.com",
            "googleapis.com",
            "android.com",
            "youtube.com",
            "10.77.0.0/16",
        ];

        fn sorter(phases: Vec<NetPhase>) -> DutSorter {
            let sides = LinkSides {
                dut_ips: vec![IpAddr::V4(DUT)],
                ..LinkSides::default()
            };
            DutSorter::new(sides, phases)
        }

        fn allowlist_phase(start: f64, end: f64) -> NetPhase {
            let entries: Vec<String> = ALLOW.iter().map(|s| s.to_string()).collect();
            NetPhase {
                start,
                end,
                none: false,
                allow: Some(Allowlist::parse(&entries).expect("list")),
                settle_s: 1.0,
            }
        }

        fn beacons(s: &DutSorter) -> Vec<Finding> {
            findings(s, &|_| None)
        }

        /// A TCP check-in: SYN, then 200 bytes.
        fn check_in(s: &mut DutSorter, t: f64, to: Ipv4Addr, port: u16, sport: u16) {
            s.frame(t, &v4_tcp(true, DUT, to, sport, port, SYN, &[]));
            s.frame(
                t + 0.05,
                &v4_tcp(true, DUT, to, sport, port, PSH_ACK, &[9; 200]),
            );
        }

        /// A bare capture (no run directory, no expectations): a beacon is
        /// `medium` only to a destination nothing in the capture named, or
        /// one whose name looks generated; named by the SNI the phone sent
        /// or by an answer to its own lookup, `low` (findings.md).
        #[test]
        fn in_a_bare_capture_a_named_destination_is_low() {
            let named_by = |how: &str| {
                let mut s = DutSorter::new(LinkSides::unknown(), Vec::new());
                let mut rng = SimRng::new(5);
                let mut t = 1.0;
                let mut sport = 40_000;
                while t < 600.0 {
                    let hello = match how {
                        "sni" => benchctl_net::sent_names::client_hello("mtalk.google.com"),
                        _ => vec![0x17; 200],
                    };
                    if how.starts_with("dns") && t < 2.0 {
                        let name = if how == "dns" {
                            "mtalk.google.com"
                        } else {
                            "x7k2q9z3.top"
                        };
                        let q = build_query(3, name, rtype::A);
                        s.frame(t - 0.5, &v4_udp(true, DUT, RESOLVER, 40_003, 53, &q));
                        let r = build_response(3, name, &[C2], 300);
                        s.frame(t - 0.48, &v4_udp(false, RESOLVER, DUT, 53, 40_003, &r));
                    }
                    s.frame(t, &v4_tcp(true, DUT, C2, sport, 443, SYN, &[]));
                    s.frame(
                        t + 0.05,
                        &v4_tcp(true, DUT, C2, sport, 443, PSH_ACK, &hello),
                    );
                    sport += 1;
                    t += 30.0 * rng.range(0.95, 1.05);
                }
                let found = beacons(&s);
                assert!(!found.is_empty(), "{how}: a beacon");
                found.iter().map(|f| f.severity).max().expect("found")
            };
            assert_eq!(named_by("nothing"), Severity::Medium);
            assert_eq!(named_by("sni"), Severity::Low);
            assert_eq!(named_by("dns"), Severity::Low);
            assert_eq!(named_by("dns-generated"), Severity::Medium);
        }

        /// Link housekeeping is never a covert pattern above low
        /// (findings.md): an mDNS announcement every 20 s ± 15 % is as
        /// regular as a beacon, and low; so are SSDP and WS-Discovery to
        /// their group and NBNS to the DUT's subnet broadcast. The same
        /// timer to the C2 is not, nor to the SSDP group on another port.
        #[test]
        fn mdns_on_a_timer_is_low_and_the_same_timer_to_a_server_is_not() {
            const MDNS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
            const SSDP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
            const SUBNET: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 255);
            for (to, port, want) in [
                (MDNS, 5353, Severity::Low),
                (SSDP, 1900, Severity::Low),
                (SSDP, 3702, Severity::Low),
                (SUBNET, 137, Severity::Low),
                (SSDP, 4444, Severity::Medium),
                (C2, 5353, Severity::Medium),
            ] {
                let mut rng = SimRng::new(3);
                let mut s = sorter(Vec::new());
                let mut t = 1.0;
                while t < 300.0 {
                    s.frame(t, &v4_udp(true, DUT, to, 5353, port, b"announce"));
                    t += 20.0 * rng.range(0.85, 1.15);
                }
                let found = beacons(&s);
                assert!(!found.is_empty(), "{to}: as regular as a beacon");
                assert!(found.iter().all(|f| f.severity == want), "{to}: {found:?}");
            }
        }

        /// Issue 21, class 9: every 30 s ± 10 % for 40 minutes, each time
        /// on one of four ports. No port alone is a beacon; the address is.
        #[test]
        fn a_beacon_hopping_ports_is_one_beacon_to_its_address() {
            for seed in 0..20 {
                let mut rng = SimRng::new(seed);
                let mut hopping = sorter(Vec::new());
                let mut steady = sorter(Vec::new());
                let mut t = rng.range(0.0, 30.0);
                let mut sport = 40_000;
                while t < 2400.0 {
                    let port = [443, 8443, 80, 8080][rng.index(4)];
                    check_in(&mut hopping, t, C2, port, sport);
                    check_in(&mut steady, t, C2, 443, sport);
                    sport += 1;
                    t += 30.0 * rng.range(0.9, 1.1);
                }
                let found = beacons(&hopping);
                let merged: Vec<&Finding> = found
                    .iter()
                    .filter(|f| f.evidence.contains_key("ports"))
                    .collect();
                // A port alone may look regular by chance (every 30 s
                // times a few): then it is reported as well.
                assert_eq!(merged.len(), 1, "seed {seed}: {found:?}");
                let f = merged[0];
                assert_eq!(
                    f.channel.as_deref(),
                    Some("10.77.1.2>203.0.113.7:80,443,8080,8443/tcp")
                );
                assert_eq!(f.severity, Severity::Medium);
                assert_eq!(
                    f.evidence["ports"],
                    json!(["80/tcp", "443/tcp", "8080/tcp", "8443/tcp"])
                );
                assert!(
                    f.summary
                        .ends_with("one address on 4 ports (80/tcp, 443/tcp, 8080/tcp, 8443/tcp)"),
                    "{}",
                    f.summary
                );
                let found = beacons(&steady);
                assert_eq!(found.len(), 1, "seed {seed}: {found:?}");
                assert_eq!(
                    found[0].channel.as_deref(),
                    Some("10.77.1.2>203.0.113.7:443/tcp"),
                    "one port: named by its port, as before"
                );
            }
        }

        /// Which end sent what: in a run directory every connection the
        /// sorter keeps is the DUT's, so its source addresses are one
        /// DUT's (a second lease); a bare capture judges every packet as
        /// sent, and the servers that answer one host on its ephemeral
        /// ports are not one destination.
        #[test]
        fn sources_merge_only_when_they_are_the_duts() {
            let sources = [
                Ipv4Addr::new(10, 77, 1, 2),
                Ipv4Addr::new(10, 77, 1, 77),
                Ipv4Addr::new(10, 77, 1, 78),
            ];
            let connections = |rng: &mut SimRng| {
                let mut by_dest: BTreeMap<Dest, Vec<(f64, u64)>> = BTreeMap::new();
                let mut t = 5.0;
                while t < 2400.0 {
                    let dest = Dest {
                        src: IpAddr::V4(sources[rng.index(3)]),
                        dst: IpAddr::V4(C2),
                        proto: "udp".into(),
                        dport: 30_000 + rng.index(20_000) as u16,
                    };
                    by_dest.entry(dest).or_default().push((t, 300));
                    t += 30.0 * rng.range(0.9, 1.1);
                }
                by_dest
            };
            let mut rng = SimRng::new(77);
            let mut known = sorter(Vec::new());
            known.traffic.connections = connections(&mut rng);
            let found = beacons(&known);
            assert_eq!(found.len(), 1, "{found:?}");
            let channel = found[0].channel.clone().unwrap_or_default();
            assert!(
                channel.starts_with("10.77.1.2,10.77.1.77,10.77.1.78>203.0.113.7:("),
                "{channel}"
            );
            assert!(channel.ends_with(" ports)/udp"), "{channel}");
            let mut rng = SimRng::new(77);
            let mut bare = DutSorter::new(LinkSides::unknown(), Vec::new());
            bare.traffic.connections = connections(&mut rng);
            assert!(beacons(&bare).is_empty());
        }

        /// An honest phone's traffic to one server on several ports
        /// (HTTPS, HTTP, push, an API port) at the times people and apps
        /// cause: merged by address, still not a beacon. A push keep-alive
        /// among it is found on its own port, as before, and nothing more.
        #[test]
        fn honest_traffic_to_several_ports_of_one_server_is_not_a_beacon() {
            let server = IpAddr::V4(Ipv4Addr::new(142, 250, 74, 99));
            let dest = |port: u16| Dest {
                src: IpAddr::V4(DUT),
                dst: server,
                proto: "tcp".into(),
                dport: port,
            };
            type Generator = fn(u64) -> Vec<(f64, u64)>;
            for (what, generate) in [
                ("Poisson", poisson as Generator),
                ("Poisson, one size", poisson_one_size),
                ("bursty app", bursty),
            ] {
                let mut flagged = 0;
                for seed in 0..100 {
                    let mut rng = SimRng::new(seed ^ 0x9000);
                    let mut s = sorter(Vec::new());
                    for conn in generate(seed) {
                        let port = [443, 80, 5228, 8080][rng.index(4)];
                        s.traffic
                            .connections
                            .entry(dest(port))
                            .or_default()
                            .push(conn);
                    }
                    // Only what the grouping adds: a thinned Poisson flow
                    // of 6-12 connections on one port scores as a beacon
                    // now and then, as it did before (the per-port
                    // statistic's own rate on short flows).
                    let found = beacons(&s);
                    flagged += found
                        .iter()
                        .filter(|f| f.evidence.contains_key("ports"))
                        .count();
                }
                assert_eq!(
                    flagged, 0,
                    "{what}: {flagged} of 100 honest servers called a beacon for their address"
                );
            }
            // A keep-alive every 28 min on 5228 among bursty app traffic on
            // 443 and 80 to the same server.
            let mut rng = SimRng::new(28);
            let mut s = sorter(Vec::new());
            s.traffic.connections.insert(
                dest(5228),
                periodic(&mut rng, 28.0 * 60.0, 0.05, 4.0 * 3600.0, 120),
            );
            for conn in bursty(28) {
                let port = [443, 80][rng.index(2)];
                s.traffic
                    .connections
                    .entry(dest(port))
                    .or_default()
                    .push(conn);
            }
            let found = beacons(&s);
            let channels: Vec<Option<&str>> = found.iter().map(|f| f.channel.as_deref()).collect();
            assert_eq!(channels, [Some("10.77.1.2>142.250.74.99:5228/tcp")]);
        }

        /// A beacon rotating over the addresses DNS gave for its name: no
        /// address alone is regular; the name is.
        #[test]
        fn a_beacon_over_the_addresses_of_one_name_is_a_beacon_to_the_name() {
            let addresses = [
                Ipv4Addr::new(203, 0, 113, 7),
                Ipv4Addr::new(203, 0, 113, 8),
                Ipv4Addr::new(203, 0, 113, 9),
            ];
            let mut s = sorter(Vec::new());
            let q = build_query(5, "c2.example.net", rtype::A);
            s.frame(1.0, &v4_udp(true, DUT, RESOLVER, 40_005, 53, &q));
            let r = build_response(5, "c2.example.net", &addresses, 60);
            s.frame(1.02, &v4_udp(false, RESOLVER, DUT, 53, 40_005, &r));
            let mut rng = SimRng::new(5);
            let mut t = 10.0;
            let mut sport = 40_100;
            while t < 2400.0 {
                check_in(&mut s, t, addresses[rng.index(3)], 443, sport);
                sport += 1;
                t += 60.0 * rng.range(0.9, 1.1);
            }
            let found = beacons(&s);
            let channels: Vec<Option<&str>> = found.iter().map(|f| f.channel.as_deref()).collect();
            assert_eq!(
                channels,
                [Some("10.77.1.2>c2.example.net:443/tcp")],
                "{found:?}"
            );
            assert_eq!(found[0].evidence["name"], "c2.example.net");
            assert_eq!(found[0].severity, Severity::Medium);
        }

        /// Issue 21, class 10: a TXT poll for a name outside the allowlist
        /// through the bench's own resolver (an allowed address) is a
        /// beacon to that name, high; the same poll for an allowed name is
        /// low; without an allowlist, medium. Lookups of a new name each
        /// time (data in names) are no beacon to any name.
        #[test]
        fn lookups_of_one_name_on_a_timer_are_a_beacon_to_that_name() {
            let poll = |phases: Vec<NetPhase>, name: &str| {
                let mut s = sorter(phases);
                let mut rng = SimRng::new(20);
                let mut t = 2.0;
                let mut id = 0u16;
                while t < 600.0 {
                    let name = name.replace("{n}", &id.to_string());
                    let q = build_query(id, &name, rtype::TXT);
                    s.frame(t, &v4_udp(true, DUT, RESOLVER, 50_000 + id, 53, &q));
                    let r = build_response(id, &name, &[], 60);
                    s.frame(t + 0.02, &v4_udp(false, RESOLVER, DUT, 53, 50_000 + id, &r));
                    id += 1;
                    t += 20.0 * rng.range(0.95, 1.05);
                }
                beacons(&s)
            };
            let by_name = |found: &[Finding]| -> Vec<(String, Severity)> {
                found
                    .iter()
                    .filter(|f| f.evidence.contains_key("name"))
                    .map(|f| (f.channel.clone().unwrap_or_default(), f.severity))
                    .collect()
            };
            let found = poll(vec![allowlist_phase(0.0, 700.0)], "cmd.c2-updates.net");
            assert_eq!(
                by_name(&found),
                [("cmd.c2-updates.net".to_string(), Severity::High)]
            );
            let f = found
                .iter()
                .find(|f| f.severity == Severity::High)
                .expect("high");
            assert!(
                f.summary.starts_with(
                    "lookups of cmd.c2-updates.net: 31 lookups over 10 min, typically 20 s apart"
                ),
                "{}",
                f.summary
            );
            assert!(
                f.summary.ends_with("whichever resolver carries them)"),
                "{}",
                f.summary
            );
            // The resolver's address is allowed: that beacon stays low.
            let to_resolver: Vec<Severity> = found
                .iter()
                .filter(|f| f.channel.as_deref() == Some("10.77.1.2>10.77.0.1:53/udp"))
                .map(|f| f.severity)
                .collect();
            assert_eq!(to_resolver, [Severity::Low]);
            assert_eq!(
                by_name(&poll(vec![allowlist_phase(0.0, 700.0)], "time.android.com")),
                [("time.android.com".to_string(), Severity::Low)]
            );
            assert_eq!(
                by_name(&poll(Vec::new(), "cmd.c2-updates.net")),
                [("cmd.c2-updates.net".to_string(), Severity::Medium)]
            );
            assert!(
                by_name(&poll(
                    vec![allowlist_phase(0.0, 700.0)],
                    "x{n}.c2-updates.net"
                ))
                .is_empty()
            );
        }
    }

    #[test]
    fn bowley_and_mad_match_their_definitions() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quartiles(&v), (2.0, 3.0, 4.0));
        assert_eq!(bowley(2.0, 3.0, 4.0, 0.0), 0.0);
        // Right-skewed: the median close to Q1.
        assert!((bowley(1.0, 1.5, 4.0, 0.0) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(bowley(1.0, 1.0, 4.0, 0.0), 0.0);
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 100.0], 3.0), 1.0);
    }
}
