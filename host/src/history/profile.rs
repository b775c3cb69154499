//! A DUT's emission profile per phase: what it sent into the air, what it
//! drew from its supply and whom it talked to, in numbers a nightly
//! regression can compare with last night's.
//!
//! Computed from a run directory with the analyzer's own pieces, so the
//! profile and the findings never disagree on what a burst or a check-in
//! is: RF floors and bursts from `detect::rf_silence` (room bursts left out, as
//! the analyzer leaves them out), packets sorted per DUT by
//! `analyze::net::DutSorter`, periodic flows scored by
//! `detect::beacon::assess` even when they stay below its threshold (a
//! new timer is worth naming before it is a finding). Each phase is profiled
//! after its settle window (`expect.settle_s`, what the run directory says),
//! as the analysis judges it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use benchctl_detect::analyze::net::DutSorter;
use benchctl_detect::analyze::{link_sides, route_packets};
use benchctl_detect::beacon;
use benchctl_detect::rf_silence as rf;
use benchctl_format::read::{ReadError, RunDir, SigmfReader};

/// Supply current histogram: 0.1 mA bins up to this many amperes (a phone
/// on a battery eliminator draws at most a few amperes); above it, the
/// last bin. Fixed size, so memory stays flat however long the phase.
const CURRENT_BIN_A: f64 = 1e-4;
const CURRENT_MAX_A: f64 = 5.0;

/// What one run's DUTs emitted, per DUT and phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunProfile {
    pub duts: Vec<DutProfile>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DutProfile {
    pub dut: String,
    pub phases: Vec<PhaseProfile>,
}

/// One phase of one DUT.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PhaseProfile {
    pub phase: String,
    pub start_s: f64,
    pub end_s: f64,
    /// Its settle window (`expect.settle_s`): profiled from `start_s +
    /// settle_s` on, as the analysis judges it.
    pub settle_s: f64,
    /// With `power = "off"`: the phase's current budget (`off_current_a`),
    /// what a change of its current is weighed against.
    pub off_current_a: Option<f64>,
    /// One per RF channel in the DUT's enclosure.
    pub rf: Vec<ChannelProfile>,
    /// One per current sensor on the DUT's supply.
    pub current: Vec<CurrentProfile>,
    /// Where the DUT sent packets, by (address, port, protocol).
    pub destinations: Vec<Destination>,
    /// DNS names it asked for, with how often.
    pub dns: Vec<DnsName>,
    /// Flows with enough check-ins for the beacon statistic, whatever
    /// their score.
    pub periodic: Vec<PeriodicFlow>,
}

/// What the DUT itself sent on one channel (not the room's).
///
/// Two views of the same bursts (`rf_silence`'s runs of samples above the
/// channel's threshold, the room's left out): *transmissions* are runs at
/// most `rf_silence::JOIN_GAP_SAMPLES` apart joined into one, as the
/// `rf-in-silence` finding joins them; `bursts` counts those that last at
/// least `rf_silence::MIN_BURST_SAMPLES` (what the finding counts), while
/// on-air time, durations and levels take every transmission, a
/// single-sample one too (a Wi-Fi frame or a BLE advertisement is one
/// sample at 1 kS/s, and it is as much the phone's as a long one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelProfile {
    /// The channel's band, as the SigMF metadata names it.
    pub channel: String,
    pub bursts: u64,
    pub bursts_per_min: f64,
    /// The strongest transmission's peak above the channel's noise floor.
    pub peak_above_floor_db: Option<f64>,
    /// The median of the transmissions' peaks above the floor.
    pub median_above_floor_db: Option<f64>,
    /// Total time above the threshold (the samples of every run, s): the
    /// on-air time. None in an index row written before schema 3 whose run
    /// directory is gone.
    pub on_air_s: Option<f64>,
    /// The median transmission's length, ms (None: no transmission, or
    /// not measured).
    pub median_burst_ms: Option<f64>,
    /// Transmissions of any length (single samples too).
    pub transmissions: Option<u64>,
}

impl ChannelProfile {
    /// On-air time as a share of the phase's judged part (`span_s`).
    pub fn duty(&self, span_s: f64) -> Option<f64> {
        self.on_air_s
            .filter(|_| span_s > 0.0)
            .map(|s| (s / span_s).min(1.0))
    }
}

/// Supply current in one phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentProfile {
    pub channel: String,
    /// The median: what the DUT draws when it is not doing anything special.
    pub idle_a: f64,
    pub max_a: f64,
    /// The mean: the energy drawn, short wake-ups included (a CPU kept
    /// awake 450 ms of every second doubles it and barely moves the
    /// median). None in an index row written before schema 3 whose run
    /// directory is gone; so are the percentiles.
    pub mean_a: Option<f64>,
    /// 90th and 99th percentiles of the samples.
    pub p90_a: Option<f64>,
    pub p99_a: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Destination {
    pub address: String,
    pub port: u16,
    /// "tcp", "udp", "icmp", or the IP protocol number.
    pub proto: String,
    /// Packets the DUT sent there.
    pub packets: u64,
    /// Bytes of those packets (whole Ethernet frames).
    pub bytes: u64,
    /// Names DNS answers in the run gave for the address.
    pub names: Vec<String>,
}

impl Destination {
    /// `203.0.113.9:443/tcp (c2.example.net)`.
    pub fn label(&self) -> String {
        let names = if self.names.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.names.join(", "))
        };
        format!("{}:{}/{}{names}", self.address, self.port, self.proto)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsName {
    pub name: String,
    pub queries: u64,
    /// Its registrable domain by the Public Suffix List
    /// (`benchctl_net::dns::registrable_domain`; the name itself when it
    /// has none): `c2.evil-updates.co.uk` is `evil-updates.co.uk`.
    pub domain: String,
}

/// The domain a name belongs to: its registrable domain by the Public
/// Suffix List, so `a.co.uk` and `b.co.uk` are two companies; the name
/// itself (lowercase, no trailing dot) when it has none.
pub fn domain_of(name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    benchctl_net::dns::registrable_domain(&name).map_or_else(|| name.clone(), str::to_string)
}

/// One flow's check-in statistics (`detect::beacon`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodicFlow {
    pub address: String,
    pub port: u16,
    pub proto: String,
    pub period_s: f64,
    /// MAD / median of the intervals.
    pub jitter: f64,
    pub checkins: u64,
    /// The beacon score, 0..1 (a finding from `beacon::THRESHOLD` up).
    pub score: f64,
}

/// The emission profile of the run directory at `dir`.
pub fn profile(dir: &Path) -> Result<RunProfile, ReadError> {
    let run = RunDir::open(dir)?;
    let mut duts: Vec<DutProfile> = Vec::new();
    for d in run.duts() {
        let phases = run
            .phase_intervals(&d.name)?
            .iter()
            .map(|p| PhaseProfile {
                phase: p.phase.name.clone(),
                start_s: p.start,
                end_s: p.end,
                settle_s: p.phase.expect.settle_s,
                off_current_a: (p.phase.expect.power == benchctl_format::PowerExpect::Off)
                    .then_some(p.phase.expect.off_current_a),
                ..PhaseProfile::default()
            })
            .collect();
        duts.push(DutProfile {
            dut: d.name.clone(),
            phases,
        });
    }
    if let Some(mut reader) = run.rf()? {
        rf_profile(&mut reader, &mut duts)?;
    }
    if let Some(mut reader) = run.power()? {
        current_profile(&mut reader, &mut duts)?;
    }
    if let Some(reader) = run.net()? {
        // Whose packet is whose, as the analysis decides it.
        let sides = link_sides(&run)?;
        let mut sorters: Vec<DutSorter> = sides
            .iter()
            .zip(&duts)
            .map(|(sides, profile)| {
                // No phases: the profile counts traffic, it does not judge
                // it; it counts packets and bytes in each phase's own part.
                DutSorter::new(sides.clone(), Vec::new())
                    .with_tally_windows(profile.phases.iter().map(judged).collect())
            })
            .collect();
        let names: Vec<&str> = run.duts().iter().map(|d| d.name.as_str()).collect();
        // Routed as the analysis routes them; what it could not route, the
        // analysis reports.
        route_packets(reader, run.started(), &names, &sides, |i, t, c| {
            sorters[i].captured(t, c);
        })?;
        for (d, sorter) in duts.iter_mut().zip(&sorters) {
            for (k, p) in d.phases.iter_mut().enumerate() {
                net_profile(sorter, k, p);
            }
        }
    }
    Ok(RunProfile { duts })
}

impl PhaseProfile {
    /// Seconds of the phase that are judged (after its settle window).
    pub fn judged_s(&self) -> f64 {
        let (from, to) = judged(self);
        to - from
    }
}

/// The part of a phase that is judged: after its settle window.
fn judged(p: &PhaseProfile) -> (f64, f64) {
    let from = (p.start_s + p.settle_s).min(p.end_s);
    (from, p.end_s)
}

fn rf_profile(reader: &mut SigmfReader, duts: &mut [DutProfile]) -> Result<(), ReadError> {
    // Floors from the quietest phase of each channel's DUT, as the analyzer
    // takes them (`rf_silence`'s docs).
    let phase_starts = |dut: &str| -> Vec<f64> {
        duts.iter()
            .find(|d| d.dut == dut)
            .map(|d| d.phases.iter().map(|p| p.start_s).collect())
            .unwrap_or_default()
    };
    let analysis = rf::analyze(reader, phase_starts, f64::NEG_INFINITY..=f64::INFINITY)?;
    let period = 1.0 / reader.sample_rate();
    for (ch, channel) in reader.channels().iter().enumerate() {
        let Some(d) = channel
            .dut
            .as_deref()
            .and_then(|n| duts.iter_mut().find(|d| d.dut == n))
        else {
            continue;
        };
        let floor = analysis.floors[ch].median_dbm;
        // Transmissions, as the rf-in-silence finding joins them, so the
        // profile and the findings agree on what a burst is.
        let mine: Vec<&rf::Burst> = analysis.bursts[ch].iter().filter(|b| !b.room).collect();
        let sent = rf::transmissions(&mine, period);
        for p in &mut d.phases {
            let (from, to) = judged(p);
            let inside = clipped(&sent, from, to);
            let counted = inside
                .iter()
                .filter(|b| b.counts(period, &analysis.floors[ch]))
                .count() as u64;
            let mut above: Vec<f64> = inside
                .iter()
                .map(|b| b.peak_dbm - floor)
                .filter(|v| v.is_finite())
                .collect();
            above.sort_by(f64::total_cmp);
            let mut lengths_ms: Vec<f64> = inside.iter().map(|b| b.duration_s() * 1e3).collect();
            lengths_ms.sort_by(f64::total_cmp);
            // On air: the runs themselves, without the gaps the joining
            // bridged.
            let on_air_s = clipped_runs(&mine, from, to);
            let minutes = (to - from) / 60.0;
            p.rf.push(ChannelProfile {
                channel: channel.label().to_string(),
                bursts: counted,
                bursts_per_min: if minutes > 0.0 {
                    counted as f64 / minutes
                } else {
                    0.0
                },
                peak_above_floor_db: above.last().copied(),
                median_above_floor_db: above.get(above.len() / 2).copied(),
                on_air_s: Some(on_air_s),
                median_burst_ms: lengths_ms.get(lengths_ms.len() / 2).copied(),
                transmissions: Some(inside.len() as u64),
            });
        }
    }
    Ok(())
}

/// The transmissions of `sent` (in time order, not overlapping) that
/// overlap `[from, to)`, clipped to it, whatever their length.
fn clipped(sent: &[rf::Burst], from: f64, to: f64) -> Vec<rf::Burst> {
    let first = sent.partition_point(|b| b.end_s <= from);
    sent[first..]
        .iter()
        .take_while(|b| b.start_s < to)
        .map(|b| rf::Burst {
            start_s: b.start_s.max(from),
            end_s: b.end_s.min(to),
            ..*b
        })
        .filter(|b| b.end_s > b.start_s)
        .collect()
}

/// Seconds the runs of `runs` (in time order) spend inside `[from, to)`.
fn clipped_runs(runs: &[&rf::Burst], from: f64, to: f64) -> f64 {
    let first = runs.partition_point(|b| b.end_s <= from);
    runs[first..]
        .iter()
        .take_while(|b| b.start_s < to)
        .map(|b| (b.end_s.min(to) - b.start_s.max(from)).max(0.0))
        .fold(0.0, |a, b| a + b)
}

/// One pass over the current samples: per (channel, phase) a histogram for
/// the median and the largest sample.
fn current_profile(reader: &mut SigmfReader, duts: &mut [DutProfile]) -> Result<(), ReadError> {
    let channels = reader.channels().to_vec();
    let bins = (CURRENT_MAX_A / CURRENT_BIN_A) as usize + 1;
    // Per channel: its DUT's index and, per phase, (histogram, max, sum).
    let owner: Vec<Option<usize>> = channels
        .iter()
        .map(|c| {
            c.dut
                .as_deref()
                .and_then(|n| duts.iter().position(|d| d.dut == n))
        })
        .collect();
    let mut stats: Vec<Vec<(Vec<u64>, f64, f64)>> = owner
        .iter()
        .map(|o| match o {
            Some(i) => vec![(Vec::new(), f64::NEG_INFINITY, 0.0); duts[*i].phases.len()],
            None => Vec::new(),
        })
        .collect();
    reader.for_each_frame(|t, frame| {
        for (ch, &v) in frame.iter().enumerate() {
            let Some(d) = owner[ch] else { continue };
            if !v.is_finite() {
                continue;
            }
            let Some(k) = duts[d].phases.iter().position(|p| {
                let (from, to) = judged(p);
                from <= t && t < to
            }) else {
                continue;
            };
            let (hist, max, sum) = &mut stats[ch][k];
            if hist.is_empty() {
                hist.resize(bins, 0);
            }
            let bin = ((v.max(0.0) / CURRENT_BIN_A).round() as usize).min(bins - 1);
            hist[bin] += 1;
            *max = max.max(v);
            *sum += v;
        }
    })?;
    for (ch, per_phase) in stats.into_iter().enumerate() {
        let Some(d) = owner[ch] else { continue };
        for (k, (hist, max, sum)) in per_phase.into_iter().enumerate() {
            let total: u64 = hist.iter().sum();
            if total == 0 {
                continue;
            }
            let quantile = |q: f64| {
                // The bin holding the sample of rank ceil(q * total).
                let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
                let mut seen = 0;
                let bin = hist
                    .iter()
                    .position(|&n| {
                        seen += n;
                        seen >= rank
                    })
                    .unwrap_or(hist.len() - 1);
                bin as f64 * CURRENT_BIN_A
            };
            let median_bin = rf::quantile_bin(hist.iter().copied().enumerate(), total);
            duts[d].phases[k].current.push(CurrentProfile {
                channel: channels[ch].label().to_string(),
                idle_a: median_bin as f64 * CURRENT_BIN_A,
                max_a: max,
                mean_a: Some(sum / total as f64),
                p90_a: Some(quantile(0.90)),
                p99_a: Some(quantile(0.99)),
            });
        }
    }
    Ok(())
}

/// Destinations, DNS names and periodic flows of phase `k`.
fn net_profile(sorter: &DutSorter, k: usize, p: &mut PhaseProfile) {
    let traffic = &sorter.traffic;
    let (from, to) = judged(p);
    let inside = |t: f64| from <= t && t < to;
    // By (address, port, proto): the DUT's own address (the flow's source)
    // is the same in every run and says nothing.
    let mut dests: BTreeMap<(IpAddr, u16, String), (u64, u64)> = BTreeMap::new();
    for (dest, tallies) in &traffic.tallies {
        let Some(tally) = tallies.get(k).filter(|t| t.packets > 0) else {
            continue;
        };
        let entry = dests
            .entry((dest.dst, dest.dport, dest.proto.clone()))
            .or_default();
        entry.0 += tally.packets;
        entry.1 += tally.bytes;
    }
    let mut periodic = Vec::new();
    for (dest, conns) in &traffic.connections {
        let mine: Vec<(f64, u64)> = conns.iter().copied().filter(|c| inside(c.0)).collect();
        if let Some(a) = beacon::assess(&mine) {
            periodic.push(PeriodicFlow {
                address: dest.dst.to_string(),
                port: dest.dport,
                proto: dest.proto.clone(),
                period_s: a.period_s,
                jitter: a.jitter,
                checkins: a.checkins as u64,
                score: a.score,
            });
        }
    }
    p.destinations = dests
        .into_iter()
        .map(|((address, port, proto), (packets, bytes))| Destination {
            names: sorter.dns_names(address),
            address: address.to_string(),
            port,
            proto,
            packets,
            bytes,
        })
        .collect();
    let mut dns: BTreeMap<String, u64> = BTreeMap::new();
    for (t, name) in &traffic.dns_queries {
        if inside(*t) {
            *dns.entry(name.trim_end_matches('.').to_ascii_lowercase())
                .or_default() += 1;
        }
    }
    p.dns = dns
        .into_iter()
        .map(|(name, queries)| DnsName {
            domain: domain_of(&name),
            name,
            queries,
        })
        .collect();
    p.periodic = periodic;
}
