//! What changed between a run and a baseline, per DUT, and which changes
//! are regressions.
//!
//! A nightly regression must fail on a change no single finding would
//! fail on: a firmware update that adds a check-in to an allowed host every
//! ten seconds passes every expectation, but the phone now does something
//! it did not do last night. So the comparison is of the emission
//! profiles (`profile.rs`), with thresholds that ignore the night-to-night
//! wobble of an unchanged phone:
//!
//! | change | regression | when |
//! | --- | --- | --- |
//! | `build-changed` | no | run.json's firmware build differs (the reason to look, not a fault) |
//! | `new-destination` | yes | the DUT sent packets to an (address, port, protocol) it did not contact anywhere in the baseline |
//! | `new-periodic-emitter` | yes | a flow checks in like a timer (beacon score from [`PERIODIC_SCORE`], jitter up to [`PERIODIC_MAX_JITTER`], DNS lookups aside) and no flow to it did in the baseline |
//! | `more-bursts` | yes | a channel's burst rate in a phase of [`BURST_MIN_PHASE_S`] or more is at least [`BURST_FACTOR`] times the baseline's, [`BURST_MIN_INCREASE_PER_MIN`] more, and [`BURST_MIN_COUNT`] bursts |
//! | `higher-current` | yes | the median current in a phase is at least [`CURRENT_FACTOR`] times the baseline's and [`CURRENT_MIN_INCREASE_A`] more |
//! | `new-finding` | if it fails the DUT | a finding kind the baseline did not have |
//!
//! Phases are matched by name and occurrence (the second "online" with
//! the baseline's second "online"); a phase the baseline does not have is
//! not compared.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::index::Index;
use super::profile::{DutProfile, PhaseProfile};
use super::{DutVerdict, HistoryError};

/// Beacon score from which a flow counts as periodic here: below the
/// detector's finding threshold (0.8, `detect::beacon::THRESHOLD`) on
/// purpose, since a new timer is worth naming before it is a finding;
/// bursty app traffic scores at most 0.63 on the detector's own test
/// sequences.
pub const PERIODIC_SCORE: f64 = 0.7;
/// ...and whose intervals vary by at most this share of the period (MAD /
/// median; ±30% uniform jitter gives 0.15). The detector's score accepts
/// up to 0.25, which lets an honest phone's DNS lookups every 15-20 s
/// (0.22 on the simulated bench) pass for a timer; an implant's timer
/// with the ±20% jitter the evaluation uses sits near 0.1.
pub const PERIODIC_MAX_JITTER: f64 = 0.15;
/// More bursts: at least this factor of the baseline's rate...
pub const BURST_FACTOR: f64 = 2.0;
/// ...and at least this many more per minute (a phase with 1 burst a
/// minute last night and 2 tonight has not changed).
pub const BURST_MIN_INCREASE_PER_MIN: f64 = 3.0;
/// ...and at least this many bursts in the phase...
pub const BURST_MIN_COUNT: u64 = 10;
/// ...in a phase at least this long in both runs. Phones transmit in
/// clusters (a sync, an app waking up), so a few seconds hold too few
/// clusters to compare: honest phones booting (9 s) differed by 3x from
/// one night to the next on the simulated bench.
pub const BURST_MIN_PHASE_S: f64 = 30.0;
/// Higher current: the phase's median at least this factor of the
/// baseline's...
pub const CURRENT_FACTOR: f64 = 1.25;
/// ...and this much more (a phone drawing 2 mA switched off may draw 2.6 mA
/// tomorrow; 5 mA more is a radio or a CPU that stays awake).
pub const CURRENT_MIN_INCREASE_A: f64 = 0.005;

/// With `last-pass`, destinations and timers count as known when the DUT
/// had them in the baseline or in up to this many passing runs before it
/// (so a CDN host that comes and goes over the week is not news every
/// night); bursts and current are compared with the baseline alone.
pub const KNOWN_RUNS: usize = 10;

/// What to compare a run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baseline {
    /// Per DUT, the last complete earlier run of the same scenario on the
    /// same bench in which that DUT passed and did not regress.
    LastPass,
    /// This run (directory name, run id or path), for every DUT.
    Run(String),
}

impl std::str::FromStr for Baseline {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s == "last-pass" {
            Baseline::LastPass
        } else {
            Baseline::Run(s.to_string())
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    BuildChanged,
    NewDestination,
    NewPeriodicEmitter,
    MoreBursts,
    HigherCurrent,
    NewFinding,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::BuildChanged => "build-changed",
            ChangeKind::NewDestination => "new-destination",
            ChangeKind::NewPeriodicEmitter => "new-periodic-emitter",
            ChangeKind::MoreBursts => "more-bursts",
            ChangeKind::HigherCurrent => "higher-current",
            ChangeKind::NewFinding => "new-finding",
        }
    }
}

/// One thing that changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub dut: String,
    pub kind: ChangeKind,
    /// The phase it shows in, where it belongs to one.
    pub phase: Option<String>,
    pub regression: bool,
    /// One sentence for the lab.
    pub summary: String,
}

/// One DUT's changes against its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DutDiff {
    pub dut: String,
    /// The baseline run's directory name; None when there is none.
    pub baseline: Option<String>,
    pub baseline_started_utc: Option<String>,
    /// Why nothing was compared, or what could not be.
    pub notes: Vec<String>,
    pub changes: Vec<Change>,
}

impl Change {
    /// `[phase] ` to put before the summary, or nothing for a change of
    /// the whole run.
    pub fn phase_tag(&self) -> String {
        self.phase
            .as_deref()
            .map(|p| format!("[{p}] "))
            .unwrap_or_default()
    }
}

impl DutDiff {
    /// This DUT's changes that are regressions.
    pub fn regressions(&self) -> impl Iterator<Item = &Change> + '_ {
        self.changes.iter().filter(|c| c.regression)
    }

    /// At least one of its changes is a regression.
    pub fn regressed(&self) -> bool {
        self.regressions().next().is_some()
    }

    /// Note a change of this DUT, seen in `phase` (None: the whole run).
    fn add_change(
        &mut self,
        kind: ChangeKind,
        phase: Option<&str>,
        regression: bool,
        summary: String,
    ) {
        self.changes.push(Change {
            dut: self.dut.clone(),
            kind,
            phase: phase.map(str::to_string),
            regression,
            summary,
        });
    }
}

/// A run against its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub run: String,
    pub bench: String,
    pub scenario: String,
    pub started_utc: String,
    /// "last-pass" or the baseline asked for.
    pub baseline: String,
    pub duts: Vec<DutDiff>,
}

impl Diff {
    /// The changes that are regressions.
    pub fn regressions(&self) -> impl Iterator<Item = &Change> + '_ {
        self.duts.iter().flat_map(DutDiff::regressions)
    }

    pub fn has_regression(&self) -> bool {
        self.regressions().next().is_some()
    }

    /// The comparison for a terminal.
    pub fn render(&self) -> String {
        let n = self.regressions().count();
        let mut out = format!(
            "{} ({} on {}, {}): {}\n",
            self.run,
            self.scenario,
            self.bench,
            self.started_utc,
            match n {
                0 => "no regression".to_string(),
                1 => "1 regression".to_string(),
                n => format!("{n} regressions"),
            }
        );
        for d in &self.duts {
            match &d.baseline {
                Some(b) => out.push_str(&format!(
                    "  {}  against {b} ({}){}\n",
                    d.dut,
                    d.baseline_started_utc.as_deref().unwrap_or("?"),
                    if d.changes.is_empty() {
                        ": no change"
                    } else {
                        ""
                    }
                )),
                None => out.push_str(&format!("  {}  no baseline\n", d.dut)),
            }
            for note in &d.notes {
                out.push_str(&format!("    note: {note}\n"));
            }
            let width = d
                .changes
                .iter()
                .map(|c| c.kind.as_str().len())
                .max()
                .unwrap_or(0);
            for c in &d.changes {
                out.push_str(&format!(
                    "    {:<10}  {:<width$}  {}{}\n",
                    if c.regression { "REGRESSION" } else { "change" },
                    c.kind.as_str(),
                    c.phase_tag(),
                    c.summary,
                ));
            }
        }
        out
    }
}

/// Compare the indexed run `run` (directory name, run id or path) with
/// `baseline`.
pub fn compare(index: &Index, run: &str, baseline: Baseline) -> Result<Diff, HistoryError> {
    let record = index
        .run(run)?
        .ok_or_else(|| HistoryError::NoSuchRun(run.to_string()))?;
    let fixed = match &baseline {
        Baseline::Run(key) => Some(
            index
                .run(key)?
                .ok_or_else(|| HistoryError::NoSuchRun(key.clone()))?,
        ),
        Baseline::LastPass => None,
    };
    let profile = index.profile(&record)?;
    let findings = index.findings(&record)?;
    // Baselines are read once each (LastPass may pick one per DUT).
    let mut cache: BTreeMap<String, (super::RunProfile, Vec<DutVerdict>)> = BTreeMap::new();
    let mut duts = Vec::new();
    for dut in &record.duts {
        let (base, earlier) = match &fixed {
            Some(b) => (Some(b.clone()), Vec::new()),
            None => {
                let mut passes = index.passes_before(&record, &dut.name, KNOWN_RUNS)?;
                if passes.is_empty() {
                    (None, passes)
                } else {
                    let base = passes.remove(0);
                    (Some(base), passes)
                }
            }
        };
        let Some(base) = base else {
            duts.push(DutDiff {
                dut: dut.name.clone(),
                baseline: None,
                baseline_started_utc: None,
                notes: vec![format!(
                    "no earlier complete run of \"{}\" on \"{}\" in which {} passed",
                    record.scenario, record.bench, dut.name
                )],
                changes: Vec::new(),
            });
            continue;
        };
        for r in std::iter::once(&base).chain(&earlier) {
            if !cache.contains_key(&r.dir) {
                let loaded = (index.profile(r)?, index.findings(r)?);
                cache.insert(r.dir.clone(), loaded);
            }
        }
        // Loaded just above; `get` rather than indexing keeps this panic-free.
        let Some((base_profile, base_findings)) = cache.get(&base.dir) else {
            continue;
        };
        let mut diff = DutDiff {
            dut: dut.name.clone(),
            baseline: Some(base.dir.clone()),
            baseline_started_utc: Some(base.started_utc.clone()),
            notes: Vec::new(),
            changes: Vec::new(),
        };
        let Some(base_dut) = base.duts.iter().find(|d| d.name == dut.name) else {
            diff.notes
                .push(format!("{} was not in the baseline run", dut.name));
            duts.push(diff);
            continue;
        };
        if base_dut.build != dut.build {
            let word = |b: &Option<String>| b.clone().unwrap_or_else(|| "unknown".into());
            diff.add_change(
                ChangeKind::BuildChanged,
                None,
                false,
                format!(
                    "firmware build {} -> {}",
                    word(&base_dut.build),
                    word(&dut.build)
                ),
            );
        }
        let empty = DutProfile::default();
        let now = profile
            .duts
            .iter()
            .find(|d| d.dut == dut.name)
            .unwrap_or(&empty);
        let then = base_profile
            .duts
            .iter()
            .find(|d| d.dut == dut.name)
            .unwrap_or(&empty);
        let empty_earlier = DutProfile::default();
        let earlier: Vec<&DutProfile> = earlier
            .iter()
            .filter_map(|r| cache.get(&r.dir))
            .map(|(p, _)| {
                p.duts
                    .iter()
                    .find(|d| d.dut == dut.name)
                    .unwrap_or(&empty_earlier)
            })
            .collect();
        let allowed = phase_allowlists(&index.runs_dir().join(&record.dir), &dut.name);
        compare_profiles(now, then, &earlier, &allowed, &mut diff);
        let verdict = |v: &[DutVerdict]| v.iter().find(|d| d.dut == dut.name).cloned();
        if let Some(now) = verdict(&findings) {
            let before: BTreeSet<String> = verdict(base_findings)
                .map(|b| b.findings.iter().map(|f| f.kind.clone()).collect())
                .unwrap_or_default();
            let mut seen = BTreeSet::new();
            for f in &now.findings {
                if before.contains(&f.kind) || !seen.insert(f.kind.as_str()) {
                    continue;
                }
                let failing = now.findings.iter().any(|g| g.kind == f.kind && g.fails());
                let count = now.findings.iter().filter(|g| g.kind == f.kind).count();
                diff.add_change(
                    ChangeKind::NewFinding,
                    f.phase.as_deref(),
                    failing,
                    format!(
                        "{} ({}{}): {}",
                        f.kind,
                        f.severity,
                        if count > 1 {
                            format!(", {count} findings")
                        } else {
                            String::new()
                        },
                        f.summary
                    ),
                );
            }
        }
        diff.changes.sort_by(|a, b| {
            b.regression
                .cmp(&a.regression)
                .then(a.kind.cmp(&b.kind))
                .then(a.phase.cmp(&b.phase))
        });
        duts.push(diff);
    }
    Ok(Diff {
        run: record.dir.clone(),
        bench: record.bench.clone(),
        scenario: record.scenario.clone(),
        started_utc: record.started_utc.clone(),
        baseline: match baseline {
            Baseline::LastPass => "last-pass".into(),
            Baseline::Run(r) => r,
        },
        duts,
    })
}

/// Each phase with its counterpart: the same name, the same occurrence.
fn matched<'a>(
    now: &'a DutProfile,
    then: &'a DutProfile,
) -> Vec<(&'a PhaseProfile, Option<&'a PhaseProfile>)> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    now.phases
        .iter()
        .map(|p| {
            let k = seen.entry(p.phase.as_str()).or_default();
            let other = then.phases.iter().filter(|q| q.phase == p.phase).nth(*k);
            *k += 1;
            (p, other)
        })
        .collect()
}

/// A flow that checks in like a timer (see [`PERIODIC_SCORE`]). DNS
/// lookups are left out: a resolver is asked again whenever an answer's
/// TTL runs out, which is a timer by nature (an honest phone's lookups
/// every 20 s scored 0.90 with 9% jitter on the simulated bench); what a
/// phone asks DNS shows in its destinations' names and in the
/// `dns-exfiltration` detector.
fn is_timer(f: &super::profile::PeriodicFlow) -> bool {
    f.score >= PERIODIC_SCORE && f.jitter <= PERIODIC_MAX_JITTER && f.port != 53
}

/// The domain a name belongs to: its registrable domain by the Public
/// Suffix List (`benchctl_net::dns::registrable_domain`), so `a.co.uk` and
/// `b.co.uk` are two companies, not "the same domain"; the name itself when
/// it has none.
fn domain(name: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    benchctl_net::dns::registrable_domain(&name).map_or_else(|| name.clone(), str::to_string)
}

/// Per phase (by name, in order) of `dut` in the run directory `dir`, the
/// allowlist its phase expectation names, if any: what the lab declared
/// fine in that phase. Empty when the directory is gone (the index keeps
/// profiles, not journals): new destinations are then judged by domain
/// alone.
fn phase_allowlists(
    dir: &std::path::Path,
    dut: &str,
) -> Vec<(String, Option<benchctl_net::Allowlist>)> {
    let Ok(run) = benchctl_format::read::RunDir::open(dir) else {
        return Vec::new();
    };
    run.phase_intervals(dut)
        .map(|phases| {
            phases
                .iter()
                .map(|p| {
                    let expect = &p.phase.expect;
                    let allow = (expect.net == benchctl_format::NetExpect::Allowlist)
                        .then(|| benchctl_net::Allowlist::parse(&expect.allow).ok())
                        .flatten();
                    (p.phase.name.clone(), allow)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `now` against `then` (and `earlier`, the passing runs before it), one
/// DUT's profiles; the changes go into `diff`, that DUT's. `allowed`: per
/// phase of `now`, the allowlist its expectation names.
fn compare_profiles(
    now: &DutProfile,
    then: &DutProfile,
    earlier: &[&DutProfile],
    allowed: &[(String, Option<benchctl_net::Allowlist>)],
    diff: &mut DutDiff,
) {
    // Destinations and timers: anywhere in the baseline (or the passing
    // runs before it) counts as known: the same push server reached in
    // another phase is not news.
    let known: Vec<&PhaseProfile> = std::iter::once(then)
        .chain(earlier.iter().copied())
        .flat_map(|d| &d.phases)
        .collect();
    let known_dests: BTreeSet<(&str, u16, &str)> = known
        .iter()
        .flat_map(|p| &p.destinations)
        .map(|d| (d.address.as_str(), d.port, d.proto.as_str()))
        .collect();
    let known_domains: BTreeSet<String> = known
        .iter()
        .flat_map(|p| {
            p.destinations
                .iter()
                .flat_map(|d| d.names.iter())
                .chain(p.dns.iter().map(|n| &n.name))
        })
        .map(|n| domain(n))
        .collect();
    let known_timers: BTreeSet<(&str, u16, &str)> = known
        .iter()
        .flat_map(|p| &p.periodic)
        .filter(|f| is_timer(f))
        .map(|f| (f.address.as_str(), f.port, f.proto.as_str()))
        .collect();
    let mut reported_dests = BTreeSet::new();
    let mut reported_timers = BTreeSet::new();
    for (k, (p, base)) in matched(now, then).into_iter().enumerate() {
        let allow = allowed
            .get(k)
            .filter(|(name, _)| *name == p.phase)
            .and_then(|(_, allow)| allow.as_ref());
        for d in &p.destinations {
            let key = (d.address.as_str(), d.port, d.proto.as_str());
            if known_dests.contains(&key) || !reported_dests.insert(key) {
                continue;
            }
            // A new host under a registrable domain the phone already talks
            // to (another node of the same CDN) is worth seeing, not failing
            // a night for; so is one the phase's own allowlist allows: the
            // lab declared it fine.
            let familiar = d
                .names
                .iter()
                .map(|n| domain(n))
                .find(|dom| known_domains.contains(dom));
            let listed = allow.and_then(|a| {
                d.names
                    .iter()
                    .find(|n| a.allows_name(n))
                    .cloned()
                    .or_else(|| {
                        d.address
                            .parse()
                            .ok()
                            .filter(|ip| a.allows_ip(*ip))
                            .map(|_| d.address.clone())
                    })
            });
            let why = match (&familiar, &listed) {
                (Some(dom), _) => format!(" (it did talk to other hosts of {dom})"),
                (None, Some(entry)) => {
                    format!(" ({entry} is allowed by the phase's allowlist)")
                }
                (None, None) => String::new(),
            };
            diff.add_change(
                ChangeKind::NewDestination,
                Some(&p.phase),
                familiar.is_none() && listed.is_none(),
                format!(
                    "sent {} packet{} ({} bytes) to {}, which it never contacted in the baseline{why}",
                    d.packets,
                    if d.packets == 1 { "" } else { "s" },
                    d.bytes,
                    d.label(),
                ),
            );
        }
        for f in p.periodic.iter().filter(|f| is_timer(f)) {
            let key = (f.address.as_str(), f.port, f.proto.as_str());
            if known_timers.contains(&key) || !reported_timers.insert(key) {
                continue;
            }
            let names = p
                .destinations
                .iter()
                .find(|d| d.address == f.address && d.port == f.port && d.proto == f.proto)
                .map(|d| d.label())
                .unwrap_or_else(|| format!("{}:{}/{}", f.address, f.port, f.proto));
            diff.add_change(
                ChangeKind::NewPeriodicEmitter,
                Some(&p.phase),
                true,
                format!(
                    "checks in with {names} every {:.1} s (jitter {:.0}%, {} check-ins, beacon score {:.2}); no timer to it in the baseline",
                    f.period_s,
                    f.jitter * 100.0,
                    f.checkins,
                    f.score
                ),
            );
        }
        let Some(base) = base else {
            diff.notes.push(format!(
                "phase \"{}\" has no counterpart in the baseline; its bursts and current were not compared",
                p.phase
            ));
            continue;
        };
        for c in &p.rf {
            let Some(b) = base.rf.iter().find(|b| b.channel == c.channel) else {
                continue;
            };
            let long_enough = |p: &PhaseProfile| p.end_s - p.start_s >= BURST_MIN_PHASE_S;
            if long_enough(p)
                && long_enough(base)
                && c.bursts >= BURST_MIN_COUNT
                && c.bursts_per_min >= BURST_FACTOR * b.bursts_per_min
                && c.bursts_per_min - b.bursts_per_min >= BURST_MIN_INCREASE_PER_MIN
            {
                diff.add_change(
                    ChangeKind::MoreBursts,
                    Some(&p.phase),
                    true,
                    format!(
                        "{}: {:.1} bursts a minute (baseline {:.1}), up to {} above the floor",
                        c.channel,
                        c.bursts_per_min,
                        b.bursts_per_min,
                        c.peak_above_floor_db
                            .map_or_else(|| "?".to_string(), |v| format!("{v:.0} dB")),
                    ),
                );
            }
        }
        for c in &p.current {
            let Some(b) = base.current.iter().find(|b| b.channel == c.channel) else {
                continue;
            };
            if c.idle_a >= CURRENT_FACTOR * b.idle_a
                && c.idle_a - b.idle_a >= CURRENT_MIN_INCREASE_A
            {
                diff.add_change(
                    ChangeKind::HigherCurrent,
                    Some(&p.phase),
                    true,
                    format!(
                        "{}: draws {:.1} mA (median; baseline {:.1} mA), peaks {:.0} mA (baseline {:.0} mA)",
                        c.channel,
                        c.idle_a * 1e3,
                        b.idle_a * 1e3,
                        c.max_a * 1e3,
                        b.max_a * 1e3
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::profile::{ChannelProfile, CurrentProfile, Destination, PeriodicFlow};
    use super::*;

    fn phase(name: &str) -> PhaseProfile {
        PhaseProfile {
            phase: name.into(),
            start_s: 0.0,
            end_s: 60.0,
            ..PhaseProfile::default()
        }
    }

    fn diff_of(now: &DutProfile, then: &DutProfile) -> Vec<Change> {
        let mut d = DutDiff {
            dut: now.dut.clone(),
            baseline: Some("base".into()),
            baseline_started_utc: None,
            notes: Vec::new(),
            changes: Vec::new(),
        };
        compare_profiles(now, then, &[], &[], &mut d);
        d.changes
    }

    fn dut(phases: Vec<PhaseProfile>) -> DutProfile {
        DutProfile {
            dut: "phone-a".into(),
            phases,
        }
    }

    #[test]
    fn burst_rates_must_rise_by_a_factor_and_an_amount() {
        let with = |rate: f64| {
            let mut p = phase("online");
            p.rf.push(ChannelProfile {
                channel: "LTE".into(),
                bursts: rate as u64,
                bursts_per_min: rate,
                peak_above_floor_db: Some(30.0),
                median_above_floor_db: Some(20.0),
            });
            dut(vec![p])
        };
        // Doubled but only by one a minute: wobble.
        assert!(diff_of(&with(2.0), &with(1.0)).is_empty());
        // 20% up: wobble.
        assert!(diff_of(&with(120.0), &with(100.0)).is_empty());
        let c = diff_of(&with(30.0), &with(10.0));
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].kind, ChangeKind::MoreBursts);
        assert!(c[0].regression);
        // The same rates over a 9 s boot: too few clusters to tell.
        let short = |mut d: DutProfile| {
            d.phases[0].end_s = 9.0;
            d
        };
        assert!(diff_of(&short(with(30.0)), &short(with(10.0))).is_empty());
    }

    #[test]
    fn current_must_rise_by_a_factor_and_an_amount() {
        let with = |a: f64| {
            let mut p = phase("soft-off");
            p.current.push(CurrentProfile {
                channel: "current".into(),
                idle_a: a,
                max_a: a,
            });
            dut(vec![p])
        };
        assert!(diff_of(&with(0.0026), &with(0.002)).is_empty());
        assert!(diff_of(&with(0.095), &with(0.090)).is_empty());
        let c = diff_of(&with(0.040), &with(0.002));
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].kind, ChangeKind::HigherCurrent);
    }

    #[test]
    fn a_destination_or_timer_known_in_any_baseline_phase_is_not_new() {
        let dest = |a: &str, name: &str| Destination {
            address: a.into(),
            port: 443,
            proto: "tcp".into(),
            packets: 3,
            bytes: 300,
            names: vec![name.into()],
        };
        let timer = |a: &str, score: f64| PeriodicFlow {
            address: a.into(),
            port: 443,
            proto: "tcp".into(),
            period_s: 10.0,
            jitter: 0.05,
            checkins: 12,
            score,
        };
        let mut base_boot = phase("boot");
        base_boot
            .destinations
            .push(dest("10.77.0.5", "push.example.com"));
        base_boot.periodic.push(timer("10.77.0.5", 0.9));
        let then = dut(vec![base_boot, phase("online")]);
        let mut online = phase("online");
        online
            .destinations
            .push(dest("10.77.0.5", "push.example.com"));
        online
            .destinations
            .push(dest("10.77.0.9", "c2.example.net"));
        online.periodic.push(timer("10.77.0.5", 0.9));
        online.periodic.push(timer("10.77.0.9", 0.75));
        // Below PERIODIC_SCORE: statistics, not a timer.
        online.periodic.push(timer("10.77.0.10", 0.5));
        let now = dut(vec![phase("boot"), online]);
        let c = diff_of(&now, &then);
        let kinds: Vec<(ChangeKind, bool)> = c.iter().map(|c| (c.kind, c.regression)).collect();
        assert_eq!(
            kinds,
            [
                (ChangeKind::NewDestination, true),
                (ChangeKind::NewPeriodicEmitter, true)
            ],
            "{c:?}"
        );
        assert!(c[0].summary.contains("10.77.0.9:443/tcp (c2.example.net)"));
        assert!(c[1].summary.contains("every 10.0 s"), "{}", c[1].summary);
    }

    #[test]
    fn phases_match_by_name_and_occurrence() {
        let now = dut(vec![phase("online"), phase("idle"), phase("online")]);
        let then = dut(vec![phase("online"), phase("online")]);
        let m = matched(&now, &then);
        assert!(std::ptr::eq(m[0].1.expect("first"), &then.phases[0]));
        assert!(m[1].1.is_none());
        assert!(std::ptr::eq(m[2].1.expect("second"), &then.phases[1]));
    }

    #[test]
    fn a_new_host_of_a_known_domain_is_a_change_not_a_regression() {
        let dest = |a: &str, name: &str| Destination {
            address: a.into(),
            port: 443,
            proto: "tcp".into(),
            packets: 3,
            bytes: 300,
            names: vec![name.into()],
        };
        let mut base = phase("online");
        base.destinations
            .push(dest("142.250.74.78", "android.clients.google.com"));
        let mut now = phase("online");
        now.destinations
            .push(dest("142.250.102.188", "mtalk.google.com"));
        now.destinations.push(dest("203.0.113.9", "c2.example.net"));
        let c = diff_of(&dut(vec![now]), &dut(vec![base]));
        let regressions: Vec<bool> = c.iter().map(|c| c.regression).collect();
        assert_eq!(regressions, [false, true], "{c:?}");
        assert!(
            c[0].summary.contains("other hosts of google.com"),
            "{}",
            c[0].summary
        );
        assert_eq!(domain("a.b.example.com."), "example.com");
        assert_eq!(domain("localhost"), "localhost");
    }

    /// A new destination the phase's own allowlist allows is a change: the
    /// lab declared it fine. The same destination without the allowlist is
    /// a regression.
    #[test]
    fn a_new_destination_the_allowlist_allows_is_a_change() {
        let dest = |a: &str, name: &str| Destination {
            address: a.into(),
            port: 443,
            proto: "tcp".into(),
            packets: 3,
            bytes: 300,
            names: vec![name.into()],
        };
        let base = phase("online");
        let mut now = phase("online");
        now.destinations
            .push(dest("142.250.74.110", "www.youtube.com"));
        let allow = benchctl_net::Allowlist::parse(&["youtube.com".to_string()]).expect("parses");
        let mut d = DutDiff {
            dut: "phone-a".into(),
            baseline: Some("base".into()),
            baseline_started_utc: None,
            notes: Vec::new(),
            changes: Vec::new(),
        };
        let allowed = [("online".to_string(), Some(allow))];
        compare_profiles(
            &dut(vec![now.clone()]),
            &dut(vec![base.clone()]),
            &[],
            &allowed,
            &mut d,
        );
        assert_eq!(d.changes.len(), 1, "{:?}", d.changes);
        assert!(!d.changes[0].regression, "{:?}", d.changes);
        assert!(
            d.changes[0]
                .summary
                .contains("allowed by the phase's allowlist")
        );
        let c = diff_of(&dut(vec![now]), &dut(vec![base]));
        assert!(c[0].regression, "without the allowlist: {c:?}");
    }

    /// Two companies under one public suffix are two domains: a new
    /// destination of the second is new (a registrable domain, by the
    /// Public Suffix List, not the last two labels).
    #[test]
    fn a_new_company_under_a_shared_suffix_is_a_new_domain() {
        let dest = |a: &str, name: &str| Destination {
            address: a.into(),
            port: 443,
            proto: "tcp".into(),
            packets: 3,
            bytes: 300,
            names: vec![name.into()],
        };
        for (known, new) in [
            ("www.a.co.uk", "www.b.co.uk"),
            ("shop.a.com.au", "cdn.b.com.au"),
            ("alice.github.io", "bob.github.io"),
            ("d1111.cloudfront.net", "d2222.cloudfront.net"),
        ] {
            let mut base = phase("online");
            base.destinations.push(dest("198.51.100.1", known));
            let mut now = phase("online");
            now.destinations.push(dest("198.51.100.2", new));
            let c = diff_of(&dut(vec![now]), &dut(vec![base]));
            assert_eq!(c.len(), 1, "{new}: {c:?}");
            assert!(c[0].regression, "{new} after {known}: {c:?}");
            assert_ne!(domain(known), domain(new));
        }
    }

    #[test]
    fn baseline_words() {
        assert_eq!("last-pass".parse::<Baseline>(), Ok(Baseline::LastPass));
        assert_eq!(
            "runs/x".parse::<Baseline>(),
            Ok(Baseline::Run("runs/x".into()))
        );
    }
}
