//! What changed between a run and its baseline nights, per DUT, and which
//! changes are regressions.
//!
//! A nightly regression must fail on a change no single finding would
//! fail on: a firmware update that adds a check-in to an allowed host every
//! ten seconds passes every expectation, but the phone now does something
//! it did not do on its good nights. So the comparison is of the emission
//! profiles (`profile.rs`), and every measure is judged against the DUT's
//! last good nights (by default [`DEFAULT_NIGHTS`]: complete runs of the
//! same scenario on the same bench in which the DUT passed and did not
//! regress), with the spread the measure shows across them, so a change
//! is weighed against honest variation rather than against one night.
//!
//! **What is known.** A destination (address, port, protocol), a DNS name,
//! a registrable domain (Public Suffix List) or a timer's period seen in any
//! phase of any baseline night is known; so is one seen in a run whose
//! regressions a lab accepted (`diff --accept`), however old that run is.
//! Something new that the phase's own allowlist allows, or whose
//! registrable domain is known, is a change; anything else new is a
//! regression.
//!
//! **Numbers.** Each numeric measure has a [`NoiseRule`]: with the values
//! `v` of the baseline nights (the phase's counterpart in each), it may
//! reach `max(v) + max(k·σ, rel·median(v), abs)`, where σ is the spread
//! across the nights (1.4826 · MAD, a Gaussian σ's robust estimate), `rel`
//! a share of the typical value and `abs` a floor for a short or flat
//! history (one night says nothing of the spread); beyond that it is a
//! regression. The floors were set on the simulated bench: they hold the
//! widest honest variation measured between any two nights, with new phone
//! seeds and room interference (README "History and regression" has the
//! numbers), so even a one-night history does not flap.
//!
//! | change | regression | measure and noise rule |
//! | --- | --- | --- |
//! | `build-changed` | no | run.json's firmware build differs from the latest baseline night's |
//! | `new-destination` | unless allowed or of a known domain | an (address, port, protocol) no baseline night contacted |
//! | `new-dns-name` | unless allowed or of a known domain | names asked under a registrable domain (one change per domain and phase) |
//! | `new-periodic-emitter` | yes | a flow that checks in like a timer ([`PERIODIC_SCORE`], [`PERIODIC_MAX_JITTER`], DNS aside) to a destination no baseline night had a timer to |
//! | `timer-period` | when faster | a known timer's period: at most its shortest baseline period / [`TIMER_FASTER`] (and 3σ under it) is a regression, at least its longest × [`TIMER_FASTER`] a change |
//! | `new-band` | yes | a channel with no transmission in any phase of any baseline night now has [`NEW_BAND_MIN_BURSTS`] bursts in a phase, however short |
//! | `more-bursts` | yes | bursts per minute, [`BURSTS`], and at least [`BURST_MIN_COUNT`] bursts |
//! | `more-on-air-time` | yes | on-air time as a share of the phase, [`ON_AIR`] |
//! | `longer-transmissions` | yes | the median transmission's length, [`LENGTH`], from [`LENGTH_MIN_TRANSMISSIONS`] transmissions |
//! | `stronger-transmissions` | yes | peak and median level above the channel's floor, [`LEVEL`], from [`LEVEL_MIN_TRANSMISSIONS`] transmissions |
//! | `higher-current` | yes | the median, mean, 90th and 99th percentile of the supply current: [`CURRENT_MEDIAN`], [`CURRENT_MEAN`], [`CURRENT_P90`], [`CURRENT_P99`]; in a `power = "off"` phase the floor is [`OFF_BUDGET_SHARE`] of its budget when that is less |
//! | `more-traffic` | yes | bytes and packets sent to a known destination: [`BYTES`], [`PACKETS`] |
//! | `new-finding` | if it fails the DUT | a finding kind no baseline night had |
//!
//! Rates, on-air time, levels and the 99th percentile of the current are
//! compared in phases of [`RF_MIN_PHASE_S`] or more (now and in the
//! baseline night): a shorter phase holds too few clusters of
//! transmissions to compare (backdoor-hunt's 12 s online phase: LTE on air
//! 0.8-4.9 % of the phase, its peak 55-67 dB above the floor, over twelve
//! honest nights). Phases are matched by name and occurrence (the second
//! "online" with each baseline night's second "online"); a phase no
//! baseline night has is not compared.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::index::{Index, RunRecord};
use super::profile::{
    ChannelProfile, CurrentProfile, DutProfile, PeriodicFlow, PhaseProfile, domain_of,
};
use super::{DutVerdict, HistoryError};

/// The baseline nights a run is judged against by default: the DUT's last
/// seven good nights (`--nights N` on `diff` and `suite`).
pub const DEFAULT_NIGHTS: usize = 7;

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
/// A known timer that now fires this many times as often as in its
/// fastest baseline night (and faster than 3σ of its baseline periods
/// allow) is a regression; one this many times slower, a change. A 30 s
/// check-in measured 28.7-31.8 s over ten honest nights (±10 % jitter).
pub const TIMER_FASTER: f64 = 1.5;

/// How much a number may move before it counts: with the baseline nights'
/// values `v`, up to `max(v) + max(k_sigma · σ, rel · median(v), abs)`,
/// σ = 1.4826 · MAD(v) across the nights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseRule {
    pub k_sigma: f64,
    /// A share of the baseline nights' median.
    pub rel: f64,
    /// In the measure's unit.
    pub abs: f64,
}

impl NoiseRule {
    /// The most the baseline nights' `values` let pass; None without one.
    pub fn limit(&self, values: &[f64]) -> Option<f64> {
        self.limit_with_floor(values, self.abs)
    }

    /// [`NoiseRule::limit`] with another absolute floor (a phase's own
    /// budget).
    pub fn limit_with_floor(&self, values: &[f64], abs: f64) -> Option<f64> {
        let max = values.iter().copied().reduce(f64::max)?;
        let median = median(values)?;
        let sigma = 1.4826 * median_of(values.iter().map(|v| (v - median).abs()).collect())?;
        Some(max + (self.k_sigma * sigma).max(self.rel * median).max(abs))
    }
}

fn median(values: &[f64]) -> Option<f64> {
    median_of(values.to_vec())
}

fn median_of(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// Rates, on-air time, levels and the current's 99th percentile are
/// compared in phases at least this long, now and in the baseline night.
/// Phones transmit in clusters (a sync, an app waking up), so a few
/// seconds hold too few clusters to compare: honest phones booting (9 s)
/// differed by 3x from one night to the next on the simulated bench.
pub const RF_MIN_PHASE_S: f64 = 30.0;
/// Bursts a minute per channel: at least double the typical night above
/// the busiest, and 3 a minute (a phase with 1 burst a minute one night and
/// 2 the next has not changed). Honest nights, 300 s online: LTE 172-194 a
/// minute, Wi-Fi 81-95, BLE 69-79.
pub const BURSTS: NoiseRule = NoiseRule {
    k_sigma: 3.0,
    rel: 1.0,
    abs: 3.0,
};
/// ...and at least this many bursts in the phase.
pub const BURST_MIN_COUNT: u64 = 10;
/// A channel the DUT sent nothing on in any phase of any baseline night
/// that now carries this many bursts (of two samples or more) in a phase is
/// a new band, in a phase of any length: honest phones never touched the
/// SRD 868 band in any phase of 22 nights, and the room's signals there are
/// told apart as the room's.
pub const NEW_BAND_MIN_BURSTS: u64 = 3;
/// On-air time as a share of the phase (0.01 = 1 %): double the typical
/// night above the busiest, and half a percentage point. Honest nights,
/// 300 s online: LTE 0.91-1.28 %, Wi-Fi 0.54-0.61 %, BLE 0.44-0.46 %.
pub const ON_AIR: NoiseRule = NoiseRule {
    k_sigma: 3.0,
    rel: 1.0,
    abs: 0.005,
};
/// ...and at least this much more time on air, s, whatever the phase's
/// length: in a short phase one cluster of transmissions more is a large
/// share. Honest nights, airplane-silence's 30 s boot (the phone starting
/// its radios): Wi-Fi on air 0.12-0.33 s (0.41-1.13 %) over six nights of
/// the shipped nightly suite.
pub const ON_AIR_MIN_S: f64 = 0.5;
/// The median transmission's length, ms: double the typical night above
/// the longest, and 3 ms (three samples at 1 kS/s: a 1 ms grant reads as
/// 1-3 samples). Honest nights: LTE 3-5 ms (a 12 s phase) and 3 ms (300
/// s), Wi-Fi and BLE 1-2 ms.
pub const LENGTH: NoiseRule = NoiseRule {
    k_sigma: 3.0,
    rel: 1.0,
    abs: 3.0,
};
/// Lengths are compared from this many transmissions in the phase, now and
/// in the baseline night (any phase length).
pub const LENGTH_MIN_TRANSMISSIONS: u64 = 20;
/// Peak and median level above the channel's noise floor, dB: 6 dB above
/// the strongest night (a log-amp detector repeats to ±0.5 dB; an honest
/// phone's power control moves its median with its traffic). Honest nights,
/// 300 s online: LTE peak 65.4-68.0 dB, median 47.9-49.5; Wi-Fi peak
/// 63.5-65.1, median 53.0-53.2.
pub const LEVEL: NoiseRule = NoiseRule {
    k_sigma: 3.0,
    rel: 0.0,
    abs: 6.0,
};
/// Levels are compared from this many transmissions in the phase.
pub const LEVEL_MIN_TRANSMISSIONS: u64 = 20;
/// Supply current, A. The median (what the DUT draws doing nothing
/// special): 10 % of the typical night, 5 mA. Honest nights: within
/// ±1.5 % in every phase (online, screen off: 90.3-90.5 mA).
pub const CURRENT_MEDIAN: NoiseRule = NoiseRule {
    k_sigma: 3.0,
    rel: 0.10,
    abs: 0.005,
};
/// The mean (short wake-ups included: a CPU kept awake +200 mA for 450 ms
/// of every second doubles it): 15 %, 5 mA. Honest nights: online 92.6-94.3
/// mA (300 s, screen off), 301-321 mA (12 s, screen on, apps busy or not).
pub const CURRENT_MEAN: NoiseRule = NoiseRule {
    k_sigma: 3.0,
    rel: 0.15,
    abs: 0.005,
};
/// The 90th percentile: 15 %, 5 mA. Honest nights: within ±1 %.
pub const CURRENT_P90: NoiseRule = NoiseRule {
    k_sigma: 3.0,
    rel: 0.15,
    abs: 0.005,
};
/// The 99th percentile (where transmissions show), in phases of
/// [`RF_MIN_PHASE_S`] or more: 50 %, 10 mA. Honest nights: 95.6-101.7 mA
/// (300 s online); 317-783 mA in a 12 s phase, where one app burst decides
/// it, which is why short phases are left out.
pub const CURRENT_P99: NoiseRule = NoiseRule {
    k_sigma: 3.0,
    rel: 0.5,
    abs: 0.010,
};
/// In a `power = "off"` phase the current's absolute floor is this share of
/// the phase's own budget (`off_current_a`) when that is lower: 1 mA of
/// the default 5 mA, so a phone switched off that draws 4.7 mA instead of
/// 2.4 mA (twice as much, and still under the budget) is a regression.
/// Honest nights, soft-off: 2.3-2.4 mA median, 2.34-2.37 mA mean.
pub const OFF_BUDGET_SHARE: f64 = 0.2;
/// Bytes the DUT sent to a known destination in a phase: four times the
/// typical night above the biggest, and 1 MB. Honest nights: at most 18.7
/// kB to any one host in 300 s online (an app's sync), 516 B on the push
/// connection.
pub const BYTES: NoiseRule = NoiseRule {
    k_sigma: 3.0,
    rel: 3.0,
    abs: 1_000_000.0,
};
/// Packets to a known destination: four times the typical night above the
/// most, and 1000. Honest nights: at most 70 to any one host.
pub const PACKETS: NoiseRule = NoiseRule {
    k_sigma: 3.0,
    rel: 3.0,
    abs: 1000.0,
};

/// What to compare a run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baseline {
    /// Per DUT, its last good nights: complete earlier runs of the same
    /// scenario on the same bench in which that DUT passed and did not
    /// regress (up to `nights` of them, [`compare_over`]).
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
    NewDnsName,
    NewPeriodicEmitter,
    TimerPeriod,
    NewBand,
    MoreBursts,
    MoreOnAirTime,
    LongerTransmissions,
    StrongerTransmissions,
    HigherCurrent,
    MoreTraffic,
    NewFinding,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::BuildChanged => "build-changed",
            ChangeKind::NewDestination => "new-destination",
            ChangeKind::NewDnsName => "new-dns-name",
            ChangeKind::NewPeriodicEmitter => "new-periodic-emitter",
            ChangeKind::TimerPeriod => "timer-period",
            ChangeKind::NewBand => "new-band",
            ChangeKind::MoreBursts => "more-bursts",
            ChangeKind::MoreOnAirTime => "more-on-air-time",
            ChangeKind::LongerTransmissions => "longer-transmissions",
            ChangeKind::StrongerTransmissions => "stronger-transmissions",
            ChangeKind::HigherCurrent => "higher-current",
            ChangeKind::MoreTraffic => "more-traffic",
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
    /// The measure that moved (`LTE B3 uplink: on-air time`), where a
    /// number did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    /// Its value in the baseline nights (one value, or the range over them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was: Option<String>,
    /// Its value now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    /// The most the noise rule lets pass (for a timer: the shortest period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// A baseline night a DUT was judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineNight {
    /// Its run directory's name.
    pub dir: String,
    pub started_utc: String,
}

/// One DUT's changes against its baseline nights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DutDiff {
    pub dut: String,
    /// The latest baseline night's directory name; None when there is none.
    pub baseline: Option<String>,
    pub baseline_started_utc: Option<String>,
    /// Every baseline night the DUT was judged against, the latest first.
    #[serde(default)]
    pub baseline_nights: Vec<BaselineNight>,
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

/// What a measured change says beside its sentence.
#[derive(Debug, Clone, Default)]
struct Moved {
    measure: String,
    was: String,
    now: String,
    limit: String,
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

    /// The baseline nights in words: `night3, night2 and night1`.
    pub fn nights_words(&self) -> String {
        let dirs: Vec<&str> = if self.baseline_nights.is_empty() {
            self.baseline.as_deref().into_iter().collect()
        } else {
            self.baseline_nights
                .iter()
                .map(|n| n.dir.as_str())
                .collect()
        };
        match dirs.as_slice() {
            [] => String::new(),
            [one] => (*one).to_string(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        }
    }

    /// Note a change of this DUT, seen in `phase` (None: the whole run).
    fn add_change(
        &mut self,
        kind: ChangeKind,
        phase: Option<&str>,
        regression: bool,
        summary: String,
    ) {
        self.push(kind, phase, regression, summary, None);
    }

    /// Note a measure that moved beyond its noise rule.
    fn add_moved(
        &mut self,
        kind: ChangeKind,
        phase: &str,
        regression: bool,
        summary: String,
        moved: Moved,
    ) {
        self.push(kind, Some(phase), regression, summary, Some(moved));
    }

    fn push(
        &mut self,
        kind: ChangeKind,
        phase: Option<&str>,
        regression: bool,
        summary: String,
        moved: Option<Moved>,
    ) {
        let moved = moved.unwrap_or_default();
        let some = |s: String| (!s.is_empty()).then_some(s);
        self.changes.push(Change {
            dut: self.dut.clone(),
            kind,
            phase: phase.map(str::to_string),
            regression,
            summary,
            measure: some(moved.measure),
            was: some(moved.was),
            now: some(moved.now),
            limit: some(moved.limit),
        });
    }
}

/// A run against its baseline nights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub run: String,
    pub bench: String,
    pub scenario: String,
    pub started_utc: String,
    /// "last-pass" or the baseline asked for.
    pub baseline: String,
    /// With "last-pass": how many good nights each DUT was judged against
    /// at most.
    #[serde(default)]
    pub nights: usize,
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
            let quiet = if d.changes.is_empty() {
                ": no change"
            } else {
                ""
            };
            match (&d.baseline, d.baseline_nights.len()) {
                (None, _) => out.push_str(&format!("  {}  no baseline\n", d.dut)),
                (Some(b), 0 | 1) => out.push_str(&format!(
                    "  {}  against {b} ({}){quiet}\n",
                    d.dut,
                    d.baseline_started_utc.as_deref().unwrap_or("?"),
                )),
                (Some(_), k) => out.push_str(&format!(
                    "  {}  against {k} good nights, the latest first: {}{quiet}\n",
                    d.dut,
                    d.nights_words(),
                )),
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
/// `baseline`: with [`Baseline::LastPass`], each DUT with its last
/// [`DEFAULT_NIGHTS`] good nights.
pub fn compare(index: &Index, run: &str, baseline: Baseline) -> Result<Diff, HistoryError> {
    compare_over(index, run, baseline, DEFAULT_NIGHTS)
}

/// [`compare`], with [`Baseline::LastPass`] judging each DUT against up to
/// `nights` good nights (at least one).
pub fn compare_over(
    index: &Index,
    run: &str,
    baseline: Baseline,
    nights: usize,
) -> Result<Diff, HistoryError> {
    let nights = nights.max(1);
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
    // Baselines are read once each (LastPass picks nights per DUT).
    let mut cache: BTreeMap<String, (super::RunProfile, Vec<DutVerdict>)> = BTreeMap::new();
    let mut duts = Vec::new();
    for dut in &record.duts {
        let (base, kept): (Vec<RunRecord>, Vec<RunRecord>) = match &fixed {
            Some(b) => (vec![b.clone()], Vec::new()),
            None => {
                let base = index.passes_before(&record, &dut.name, nights)?;
                let kept = index
                    .accepted_before(&record, &dut.name)?
                    .into_iter()
                    .filter(|r| base.iter().all(|b| b.dir != r.dir))
                    .collect();
                (base, kept)
            }
        };
        let Some(latest) = base.first() else {
            duts.push(DutDiff {
                dut: dut.name.clone(),
                baseline: None,
                baseline_started_utc: None,
                baseline_nights: Vec::new(),
                notes: vec![format!(
                    "no earlier complete run of \"{}\" on \"{}\" in which {} passed",
                    record.scenario, record.bench, dut.name
                )],
                changes: Vec::new(),
            });
            continue;
        };
        for r in base.iter().chain(&kept) {
            if !cache.contains_key(&r.dir) {
                let loaded = (index.profile(r)?, index.findings(r)?);
                cache.insert(r.dir.clone(), loaded);
            }
        }
        let mut diff = DutDiff {
            dut: dut.name.clone(),
            baseline: Some(latest.dir.clone()),
            baseline_started_utc: Some(latest.started_utc.clone()),
            baseline_nights: base
                .iter()
                .map(|r| BaselineNight {
                    dir: r.dir.clone(),
                    started_utc: r.started_utc.clone(),
                })
                .collect(),
            notes: Vec::new(),
            changes: Vec::new(),
        };
        let Some(base_dut) = latest.duts.iter().find(|d| d.name == dut.name) else {
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
        let of = |p: &super::RunProfile| -> DutProfile {
            p.duts
                .iter()
                .find(|d| d.dut == dut.name)
                .cloned()
                .unwrap_or_else(|| empty.clone())
        };
        let now = of(&profile);
        let then: Vec<DutProfile> = base
            .iter()
            .filter_map(|r| cache.get(&r.dir))
            .map(|(p, _)| of(p))
            .collect();
        let accepted: Vec<DutProfile> = kept
            .iter()
            .filter_map(|r| cache.get(&r.dir))
            .map(|(p, _)| of(p))
            .collect();
        let allowed = phase_allowlists(&index.runs_dir().join(&record.dir), &dut.name);
        let then: Vec<&DutProfile> = then.iter().collect();
        let accepted: Vec<&DutProfile> = accepted.iter().collect();
        compare_profiles(&now, &then, &accepted, &allowed, &mut diff);
        let verdict = |v: &[DutVerdict]| v.iter().find(|d| d.dut == dut.name).cloned();
        if let Some(now) = verdict(&findings) {
            let before: BTreeSet<String> = base
                .iter()
                .filter_map(|r| cache.get(&r.dir))
                .filter_map(|(_, f)| verdict(f))
                .flat_map(|b| b.findings.into_iter().map(|f| f.kind))
                .collect();
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
        nights: if fixed.is_some() { 1 } else { nights },
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
/// phone asks DNS is compared name by name (`new-dns-name`) and judged by
/// the `dns-exfiltration` detector.
fn is_timer(f: &PeriodicFlow) -> bool {
    f.score >= PERIODIC_SCORE && f.jitter <= PERIODIC_MAX_JITTER && f.port != 53
}

/// The domain a name belongs to: its registrable domain by the Public
/// Suffix List (`benchctl_net::dns::registrable_domain`), so `a.co.uk` and
/// `b.co.uk` are two companies, not "the same domain"; the name itself when
/// it has none.
fn domain(name: &str) -> String {
    domain_of(name)
}

/// Per phase (by name, in order) of `dut` in the run directory `dir`, the
/// allowlist its phase expectation names, if any: what the lab declared
/// fine in that phase. Empty when the directory is gone (the index keeps
/// profiles, not journals): new destinations and names are then judged by
/// domain alone.
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

/// `now` against the baseline nights `nights` (the latest first) and the
/// runs whose regressions a lab accepted (`accepted`), one DUT's profiles;
/// the changes go into `diff`, that DUT's. `allowed`: per phase of `now`,
/// the allowlist its expectation names.
fn compare_profiles(
    now: &DutProfile,
    nights: &[&DutProfile],
    accepted: &[&DutProfile],
    allowed: &[(String, Option<benchctl_net::Allowlist>)],
    diff: &mut DutDiff,
) {
    let known = Known::of(nights.iter().chain(accepted).copied());
    // Per phase of `now`: its counterpart in each baseline night.
    let mut counterparts: Vec<Vec<&PhaseProfile>> = vec![Vec::new(); now.phases.len()];
    for night in nights {
        for (k, (_, other)) in matched(now, night).into_iter().enumerate() {
            if let Some(other) = other {
                counterparts[k].push(other);
            }
        }
    }
    let mut reported_dests = BTreeSet::new();
    let mut reported_timers = BTreeSet::new();
    let mut reported_domains = BTreeSet::new();
    let count = nights.len();
    for (k, p) in now.phases.iter().enumerate() {
        let allow = allowed
            .get(k)
            .filter(|(name, _)| *name == p.phase)
            .and_then(|(_, allow)| allow.as_ref());
        new_destinations(p, &known, allow, &mut reported_dests, diff);
        new_names(p, &known, allow, count, &mut reported_domains, diff);
        timers(p, &known, &mut reported_timers, diff);
        let base = &counterparts[k];
        if base.is_empty() {
            diff.notes.push(format!(
                "phase \"{}\" has no counterpart in the baseline nights; its RF, current and traffic volumes were not compared",
                p.phase
            ));
            continue;
        }
        traffic(p, base, diff);
        for c in &p.rf {
            rf_channel(p, c, base, &known, diff);
        }
        for c in &p.current {
            current(p, c, base, diff);
        }
    }
}

/// What any baseline night (or accepted run) did, in any phase.
#[derive(Debug, Default)]
struct Known<'a> {
    dests: BTreeSet<(&'a str, u16, &'a str)>,
    names: BTreeSet<String>,
    domains: BTreeSet<String>,
    /// Per timer (address, port, protocol), its periods.
    timers: BTreeMap<(&'a str, u16, &'a str), Vec<f64>>,
    /// RF channels with at least one transmission.
    bands: BTreeSet<&'a str>,
}

impl<'a> Known<'a> {
    fn of(profiles: impl Iterator<Item = &'a DutProfile>) -> Self {
        let mut known = Known::default();
        for p in profiles.flat_map(|d| &d.phases) {
            for d in &p.destinations {
                known
                    .dests
                    .insert((d.address.as_str(), d.port, d.proto.as_str()));
                for n in &d.names {
                    known.names.insert(normal(n));
                    known.domains.insert(domain(n));
                }
            }
            for n in &p.dns {
                known.names.insert(normal(&n.name));
                known.domains.insert(n.domain.clone());
            }
            for f in p.periodic.iter().filter(|f| is_timer(f)) {
                known
                    .timers
                    .entry((f.address.as_str(), f.port, f.proto.as_str()))
                    .or_default()
                    .push(f.period_s);
            }
            for c in &p.rf {
                if c.bursts > 0 || c.transmissions.unwrap_or(0) > 0 {
                    known.bands.insert(c.channel.as_str());
                }
            }
        }
        known
    }
}

/// A DNS name as compared: lowercase, no trailing dot.
fn normal(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn new_destinations<'a>(
    p: &'a PhaseProfile,
    known: &Known<'_>,
    allow: Option<&benchctl_net::Allowlist>,
    reported: &mut BTreeSet<(&'a str, u16, &'a str)>,
    diff: &mut DutDiff,
) {
    for d in &p.destinations {
        let key = (d.address.as_str(), d.port, d.proto.as_str());
        if known.dests.contains(&key) || !reported.insert(key) {
            continue;
        }
        // A new host under a registrable domain the phone already talks
        // to (another node of the same CDN) is worth seeing, not failing a
        // night for; so is one the phase's own allowlist allows: the lab
        // declared it fine.
        let familiar = d
            .names
            .iter()
            .map(|n| domain(n))
            .find(|dom| known.domains.contains(dom));
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
            (None, Some(entry)) => format!(" ({entry} is allowed by the phase's allowlist)"),
            (None, None) => String::new(),
        };
        diff.add_change(
            ChangeKind::NewDestination,
            Some(&p.phase),
            familiar.is_none() && listed.is_none(),
            format!(
                "sent {} packet{} ({}) to {}, which it never contacted in the baseline nights{why}",
                d.packets,
                if d.packets == 1 { "" } else { "s" },
                bytes_words(d.bytes as f64),
                d.label(),
            ),
        );
    }
}

/// Names asked that no baseline night asked (nor answered for an address
/// it contacted), one change per registrable domain: a DNS tunnel asks a
/// new name every time, and that is one thing that changed.
fn new_names(
    p: &PhaseProfile,
    known: &Known<'_>,
    allow: Option<&benchctl_net::Allowlist>,
    nights: usize,
    reported: &mut BTreeSet<String>,
    diff: &mut DutDiff,
) {
    let mut by_domain: BTreeMap<&str, Vec<&super::profile::DnsName>> = BTreeMap::new();
    for n in &p.dns {
        if !known.names.contains(&normal(&n.name)) {
            by_domain.entry(n.domain.as_str()).or_default().push(n);
        }
    }
    for (dom, names) in by_domain {
        if !reported.insert(dom.to_string()) {
            continue;
        }
        let queries: u64 = names.iter().map(|n| n.queries).sum();
        let shown: Vec<&str> = names.iter().take(3).map(|n| n.name.as_str()).collect();
        let listed = allow.is_some_and(|a| names.iter().all(|n| a.allows_name(&n.name)));
        let familiar = known.domains.contains(dom);
        let why = if familiar {
            format!("; other names of {dom} were asked in the baseline nights")
        } else if listed {
            "; the phase's allowlist allows them".to_string()
        } else {
            format!(
                ", a domain it never asked for in {}",
                match nights {
                    1 => "the baseline night".to_string(),
                    n => format!("its {n} baseline nights"),
                }
            )
        };
        let what = if names.len() == 1 {
            format!(
                "asked for {} ({} quer{})",
                shown[0],
                queries,
                plural_y(queries)
            )
        } else {
            format!(
                "asked for {} new names under {dom} ({} quer{}; {}{})",
                names.len(),
                queries,
                plural_y(queries),
                shown.join(", "),
                if names.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                }
            )
        };
        diff.add_moved(
            ChangeKind::NewDnsName,
            &p.phase,
            !familiar && !listed,
            format!("{what}{why}"),
            Moved {
                measure: format!("DNS names under {dom}"),
                was: if familiar {
                    "other names of the domain".into()
                } else {
                    "none".into()
                },
                now: format!(
                    "{} name{}",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" }
                ),
                limit: String::new(),
            },
        );
    }
}

fn plural_y(n: u64) -> &'static str {
    if n == 1 { "y" } else { "ies" }
}

/// New timers, and known timers whose period changed.
fn timers<'a>(
    p: &'a PhaseProfile,
    known: &Known<'_>,
    reported: &mut BTreeSet<(&'a str, u16, &'a str)>,
    diff: &mut DutDiff,
) {
    for f in p.periodic.iter().filter(|f| is_timer(f)) {
        let key = (f.address.as_str(), f.port, f.proto.as_str());
        if !reported.insert(key) {
            continue;
        }
        let names = p
            .destinations
            .iter()
            .find(|d| d.address == f.address && d.port == f.port && d.proto == f.proto)
            .map(|d| d.label())
            .unwrap_or_else(|| format!("{}:{}/{}", f.address, f.port, f.proto));
        let Some(periods) = known.timers.get(&key) else {
            diff.add_change(
                ChangeKind::NewPeriodicEmitter,
                Some(&p.phase),
                true,
                format!(
                    "checks in with {names} every {:.1} s (jitter {:.0}%, {} check-ins, beacon score {:.2}); no timer to it in the baseline nights",
                    f.period_s,
                    f.jitter * 100.0,
                    f.checkins,
                    f.score
                ),
            );
            continue;
        };
        let (Some(lo), Some(hi)) = (
            periods.iter().copied().reduce(f64::min),
            periods.iter().copied().reduce(f64::max),
        ) else {
            continue;
        };
        let sigma = median(periods)
            .and_then(|m| median_of(periods.iter().map(|v| (v - m).abs()).collect()))
            .map_or(0.0, |mad| 1.4826 * mad);
        let fastest_ok = (lo / TIMER_FASTER).min(lo - 3.0 * sigma);
        let slowest_ok = (hi * TIMER_FASTER).max(hi + 3.0 * sigma);
        let faster = f.period_s < fastest_ok;
        if !faster && f.period_s <= slowest_ok {
            continue;
        }
        let was = range_words(periods, |v| format!("{v:.1} s"));
        diff.add_moved(
            ChangeKind::TimerPeriod,
            &p.phase,
            faster,
            format!(
                "checks in with {names} every {:.1} s ({} check-ins), where the baseline nights' timer to it fired every {was}: {}",
                f.period_s,
                f.checkins,
                if faster {
                    format!("{:.1}x as often (the noise rule allows down to {fastest_ok:.1} s)", lo / f.period_s)
                } else {
                    format!("{:.1}x slower", f.period_s / hi)
                }
            ),
            Moved {
                measure: format!("timer period to {}:{}/{}", f.address, f.port, f.proto),
                was,
                now: format!("{:.1} s", f.period_s),
                limit: if faster {
                    format!("{fastest_ok:.1} s")
                } else {
                    format!("{slowest_ok:.1} s")
                },
            },
        );
    }
}

/// Bytes and packets to destinations the phase's counterparts knew.
fn traffic(p: &PhaseProfile, base: &[&PhaseProfile], diff: &mut DutDiff) {
    for d in &p.destinations {
        let key = (d.address.as_str(), d.port, d.proto.as_str());
        let sent = |q: &PhaseProfile| {
            q.destinations
                .iter()
                .find(|x| (x.address.as_str(), x.port, x.proto.as_str()) == key)
                .map_or((0.0, 0.0), |x| (x.bytes as f64, x.packets as f64))
        };
        let seen: Vec<(f64, f64)> = base.iter().map(|q| sent(q)).collect();
        // A destination none of the counterparts had is new to this phase:
        // `new-destination` speaks of it when it is new to the DUT.
        if seen.iter().all(|s| s.1 == 0.0) {
            continue;
        }
        let bytes: Vec<f64> = seen.iter().map(|s| s.0).collect();
        let packets: Vec<f64> = seen.iter().map(|s| s.1).collect();
        let (Some(bytes_limit), Some(packets_limit)) =
            (BYTES.limit(&bytes), PACKETS.limit(&packets))
        else {
            continue;
        };
        let more_bytes = d.bytes as f64 > bytes_limit;
        let more_packets = d.packets as f64 > packets_limit;
        if !more_bytes && !more_packets {
            continue;
        }
        let (measure, was, now, limit) = if more_bytes {
            (
                "bytes sent",
                range_words(&bytes, bytes_words),
                bytes_words(d.bytes as f64),
                bytes_words(bytes_limit),
            )
        } else {
            (
                "packets sent",
                range_words(&packets, |v| format!("{v:.0} packets")),
                format!("{} packets", d.packets),
                format!("{packets_limit:.0} packets"),
            )
        };
        diff.add_moved(
            ChangeKind::MoreTraffic,
            &p.phase,
            true,
            format!(
                "sent {} in {} packets to {}, where the baseline nights sent {} ({}); the noise rule allows up to {}",
                bytes_words(d.bytes as f64),
                d.packets,
                d.label(),
                range_words(&bytes, bytes_words),
                range_words(&packets, |v| format!("{v:.0} packets")),
                limit,
            ),
            Moved {
                measure: format!("{measure} to {}:{}/{}", d.address, d.port, d.proto),
                was,
                now,
                limit,
            },
        );
    }
}

/// One RF channel of a phase against its counterparts.
fn rf_channel(
    p: &PhaseProfile,
    c: &ChannelProfile,
    base: &[&PhaseProfile],
    known: &Known<'_>,
    diff: &mut DutDiff,
) {
    let level_words = |c: &ChannelProfile| {
        c.peak_above_floor_db
            .map_or_else(|| "?".to_string(), |v| format!("{v:.0} dB"))
    };
    if !known.bands.contains(c.channel.as_str()) {
        if c.bursts >= NEW_BAND_MIN_BURSTS {
            diff.add_moved(
                ChangeKind::NewBand,
                &p.phase,
                true,
                format!(
                    "{}: {} bursts ({:.1} a minute, up to {} above the floor) on a band it sent nothing on in any phase of its baseline nights",
                    c.channel,
                    c.bursts,
                    c.bursts_per_min,
                    level_words(c)
                ),
                Moved {
                    measure: format!("{}: bursts", c.channel),
                    was: "none".into(),
                    now: format!("{} ({:.1} a minute)", c.bursts, c.bursts_per_min),
                    limit: format!("{} bursts", NEW_BAND_MIN_BURSTS - 1),
                },
            );
        }
        return;
    }
    let long = |q: &PhaseProfile| q.end_s - q.start_s >= RF_MIN_PHASE_S;
    let theirs: Vec<&ChannelProfile> = base
        .iter()
        .filter_map(|q| q.rf.iter().find(|b| b.channel == c.channel))
        .collect();
    let long_theirs: Vec<&ChannelProfile> = base
        .iter()
        .filter(|q| long(q))
        .filter_map(|q| q.rf.iter().find(|b| b.channel == c.channel))
        .collect();
    let nights_words = |n: usize| match n {
        1 => "the baseline night".to_string(),
        n => format!("{n} baseline nights"),
    };
    if long(p) && !long_theirs.is_empty() {
        let rates: Vec<f64> = long_theirs.iter().map(|b| b.bursts_per_min).collect();
        if let Some(limit) = BURSTS.limit(&rates)
            && c.bursts >= BURST_MIN_COUNT
            && c.bursts_per_min > limit
        {
            let was = range_words(&rates, |v| format!("{v:.1}"));
            diff.add_moved(
                ChangeKind::MoreBursts,
                &p.phase,
                true,
                format!(
                    "{}: {:.1} bursts a minute, {was} in {}; the noise rule allows up to {limit:.1} (up to {} above the floor)",
                    c.channel,
                    c.bursts_per_min,
                    nights_words(rates.len()),
                    level_words(c),
                ),
                Moved {
                    measure: format!("{}: bursts a minute", c.channel),
                    was,
                    now: format!("{:.1}", c.bursts_per_min),
                    limit: format!("{limit:.1}"),
                },
            );
        }
        // On-air time, as a share of the phase.
        let duties: Vec<f64> = base
            .iter()
            .filter(|q| long(q))
            .filter_map(|q| {
                q.rf.iter()
                    .find(|b| b.channel == c.channel)
                    .and_then(|b| b.duty(q.judged_s()))
            })
            .collect();
        let floor = ON_AIR
            .abs
            .max(ON_AIR_MIN_S / p.judged_s().max(f64::MIN_POSITIVE));
        if let (Some(duty), Some(limit)) = (
            c.duty(p.judged_s()),
            ON_AIR.limit_with_floor(&duties, floor),
        ) && duty > limit
        {
            let pct = |v: f64| format!("{:.2} %", v * 100.0);
            let was = range_words(&duties, pct);
            diff.add_moved(
                ChangeKind::MoreOnAirTime,
                &p.phase,
                true,
                format!(
                    "{}: on air {} of the phase ({:.1} s), {was} in {}; the noise rule allows up to {}",
                    c.channel,
                    pct(duty),
                    c.on_air_s.unwrap_or(0.0),
                    nights_words(duties.len()),
                    pct(limit),
                ),
                Moved {
                    measure: format!("{}: on-air time", c.channel),
                    was,
                    now: pct(duty),
                    limit: pct(limit),
                },
            );
        }
        // Levels above the floor, from enough transmissions on both sides.
        let enough =
            |b: &ChannelProfile| b.transmissions.unwrap_or(b.bursts) >= LEVEL_MIN_TRANSMISSIONS;
        if enough(c) {
            for (what, of) in [
                (
                    "peak",
                    (|b: &ChannelProfile| b.peak_above_floor_db)
                        as fn(&ChannelProfile) -> Option<f64>,
                ),
                ("median", |b: &ChannelProfile| b.median_above_floor_db),
            ] {
                let levels: Vec<f64> = long_theirs
                    .iter()
                    .filter(|b| enough(b))
                    .filter_map(|b| of(b))
                    .collect();
                if let (Some(level), Some(limit)) = (of(c), LEVEL.limit(&levels))
                    && level > limit
                {
                    let db = |v: f64| format!("{v:.1} dB");
                    let was = range_words(&levels, db);
                    diff.add_moved(
                        ChangeKind::StrongerTransmissions,
                        &p.phase,
                        true,
                        format!(
                            "{}: {what} transmission {} above the floor, {was} in {}; the noise rule allows up to {}",
                            c.channel,
                            db(level),
                            nights_words(levels.len()),
                            db(limit),
                        ),
                        Moved {
                            measure: format!("{}: {what} level above the floor", c.channel),
                            was,
                            now: db(level),
                            limit: db(limit),
                        },
                    );
                }
            }
        }
    }
    // The median transmission's length, in a phase of any length.
    let enough = |b: &ChannelProfile| b.transmissions.unwrap_or(0) >= LENGTH_MIN_TRANSMISSIONS;
    if enough(c)
        && let Some(length) = c.median_burst_ms
    {
        let lengths: Vec<f64> = theirs
            .iter()
            .filter(|b| enough(b))
            .filter_map(|b| b.median_burst_ms)
            .collect();
        if let Some(limit) = LENGTH.limit(&lengths)
            && length > limit
        {
            let ms = |v: f64| format!("{v:.0} ms");
            let was = range_words(&lengths, ms);
            diff.add_moved(
                ChangeKind::LongerTransmissions,
                &p.phase,
                true,
                format!(
                    "{}: the median transmission lasts {}, {was} in {}; the noise rule allows up to {} ({} transmissions, on air {:.1} s)",
                    c.channel,
                    ms(length),
                    nights_words(lengths.len()),
                    ms(limit),
                    c.transmissions.unwrap_or(0),
                    c.on_air_s.unwrap_or(0.0),
                ),
                Moved {
                    measure: format!("{}: median transmission length", c.channel),
                    was,
                    now: ms(length),
                    limit: ms(limit),
                },
            );
        }
    }
}

/// One current sensor of a phase against its counterparts: the median,
/// the mean and the high percentiles, each by its rule, with the floor
/// scaled to a `power = "off"` phase's budget.
fn current(p: &PhaseProfile, c: &CurrentProfile, base: &[&PhaseProfile], diff: &mut DutDiff) {
    let long = |q: &PhaseProfile| q.end_s - q.start_s >= RF_MIN_PHASE_S;
    type Stat = fn(&CurrentProfile) -> Option<f64>;
    let stats: [(&str, Stat, NoiseRule, bool); 4] = [
        ("median", |c| Some(c.idle_a), CURRENT_MEDIAN, false),
        ("mean", |c| c.mean_a, CURRENT_MEAN, false),
        ("90th percentile", |c| c.p90_a, CURRENT_P90, false),
        ("99th percentile", |c| c.p99_a, CURRENT_P99, true),
    ];
    let ma = |v: f64| format!("{:.1} mA", v * 1e3);
    for (what, of, rule, long_only) in stats {
        if long_only && !long(p) {
            continue;
        }
        let values: Vec<f64> = base
            .iter()
            .filter(|q| !long_only || long(q))
            .filter_map(|q| q.current.iter().find(|b| b.channel == c.channel))
            .filter_map(of)
            .collect();
        let floor = match p.off_current_a {
            Some(budget) => rule.abs.min(OFF_BUDGET_SHARE * budget),
            None => rule.abs,
        };
        let (Some(now), Some(limit)) = (of(c), rule.limit_with_floor(&values, floor)) else {
            continue;
        };
        if now <= limit {
            continue;
        }
        let was = range_words(&values, ma);
        let budget = p
            .off_current_a
            .map(|b| format!(", in a phase whose budget is {}", ma(b)))
            .unwrap_or_default();
        diff.add_moved(
            ChangeKind::HigherCurrent,
            &p.phase,
            true,
            format!(
                "{}: draws {} ({what}), {was} in {}; the noise rule allows up to {}{budget} (median {}, mean {}, peak {})",
                c.channel,
                ma(now),
                match values.len() {
                    1 => "the baseline night".to_string(),
                    n => format!("{n} baseline nights"),
                },
                ma(limit),
                ma(c.idle_a),
                c.mean_a.map_or_else(|| "?".into(), ma),
                ma(c.max_a),
            ),
            Moved {
                measure: format!("{}: {what}", c.channel),
                was,
                now: ma(now),
                limit: ma(limit),
            },
        );
    }
}

/// `3.1 mA` for one night (or several alike), `2.9-3.4 mA` over several.
fn range_words(values: &[f64], unit: impl Fn(f64) -> String) -> String {
    let lo = values.iter().copied().reduce(f64::min);
    let hi = values.iter().copied().reduce(f64::max);
    match (lo, hi) {
        (Some(lo), Some(hi)) if unit(lo) != unit(hi) => {
            let (lo, hi) = (unit(lo), unit(hi));
            match (lo.rsplit_once(' '), hi.rsplit_once(' ')) {
                (Some((a, u)), Some((b, v))) if u == v => format!("{a}-{b} {u}"),
                _ => format!("{lo} to {hi}"),
            }
        }
        (Some(lo), _) => unit(lo),
        _ => "?".into(),
    }
}

/// `516 B`, `18.7 kB`, `20.0 MB`.
fn bytes_words(b: f64) -> String {
    if b < 1e3 {
        format!("{b:.0} B")
    } else if b < 1e6 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{:.1} MB", b / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::super::profile::{
        ChannelProfile, CurrentProfile, Destination, DnsName, PeriodicFlow,
    };
    use super::*;

    fn phase(name: &str) -> PhaseProfile {
        PhaseProfile {
            phase: name.into(),
            start_s: 0.0,
            end_s: 61.0,
            ..PhaseProfile::default()
        }
    }

    fn empty_diff() -> DutDiff {
        DutDiff {
            dut: "phone-a".into(),
            baseline: Some("base".into()),
            baseline_started_utc: None,
            baseline_nights: Vec::new(),
            notes: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// `now` against the baseline nights `then` (the latest first).
    fn diff_over(now: &DutProfile, then: &[DutProfile]) -> Vec<Change> {
        let mut d = empty_diff();
        let then: Vec<&DutProfile> = then.iter().collect();
        compare_profiles(now, &then, &[], &[], &mut d);
        d.changes
    }

    fn diff_of(now: &DutProfile, then: &DutProfile) -> Vec<Change> {
        diff_over(now, std::slice::from_ref(then))
    }

    fn dut(phases: Vec<PhaseProfile>) -> DutProfile {
        DutProfile {
            dut: "phone-a".into(),
            phases,
        }
    }

    fn channel(name: &str, per_min: f64) -> ChannelProfile {
        ChannelProfile {
            channel: name.into(),
            bursts: per_min as u64,
            bursts_per_min: per_min,
            peak_above_floor_db: Some(66.0),
            median_above_floor_db: Some(48.0),
            on_air_s: Some(0.6),
            median_burst_ms: Some(3.0),
            transmissions: Some(per_min as u64),
        }
    }

    fn amps(a: f64) -> CurrentProfile {
        CurrentProfile {
            channel: "current".into(),
            idle_a: a,
            max_a: a,
            mean_a: Some(a),
            p90_a: Some(a),
            p99_a: Some(a),
        }
    }

    fn dest(a: &str, name: &str, bytes: u64) -> Destination {
        Destination {
            address: a.into(),
            port: 443,
            proto: "tcp".into(),
            packets: bytes.div_ceil(300),
            bytes,
            names: vec![name.into()],
        }
    }

    fn kinds(c: &[Change]) -> Vec<(ChangeKind, bool)> {
        c.iter().map(|c| (c.kind, c.regression)).collect()
    }

    #[test]
    fn the_noise_rule_takes_the_widest_of_spread_share_and_floor() {
        let rule = NoiseRule {
            k_sigma: 3.0,
            rel: 0.5,
            abs: 1.0,
        };
        // One night: its value and the larger of half of it and the floor.
        assert_eq!(rule.limit(&[10.0]), Some(15.0));
        assert_eq!(rule.limit(&[1.0]), Some(2.0));
        // Spread nights: 3σ of their MAD beyond the highest.
        let limit = rule.limit(&[10.0, 20.0, 30.0]).expect("limit");
        assert!(
            (limit - (30.0 + 3.0 * 1.4826 * 10.0)).abs() < 1e-9,
            "{limit}"
        );
        assert_eq!(rule.limit(&[]), None);
        assert_eq!(rule.limit_with_floor(&[0.002], 0.001), Some(0.003));
    }

    #[test]
    fn burst_rates_must_rise_beyond_the_nights_and_a_floor() {
        let with = |rate: f64| {
            let mut p = phase("online");
            p.rf.push(channel("LTE", rate));
            dut(vec![p])
        };
        // Doubled but only by one a minute: wobble.
        assert!(diff_of(&with(2.0), &with(1.0)).is_empty());
        // 20% up: wobble.
        assert!(diff_of(&with(120.0), &with(100.0)).is_empty());
        let c = diff_of(&with(30.0), &with(10.0));
        assert_eq!(kinds(&c), [(ChangeKind::MoreBursts, true)], "{c:?}");
        assert_eq!(c[0].was.as_deref(), Some("10.0"));
        assert_eq!(c[0].now.as_deref(), Some("30.0"));
        // The same rates over a 9 s boot: too few clusters to tell.
        let short = |mut d: DutProfile| {
            d.phases[0].end_s = 9.0;
            d
        };
        assert!(diff_of(&short(with(30.0)), &short(with(10.0))).is_empty());
        // Nights that varied from 10 to 25 a minute let 30 pass.
        assert!(diff_over(&with(30.0), &[with(10.0), with(25.0), with(12.0)]).is_empty());
    }

    /// A band no baseline night used, in any phase: a few bursts are news
    /// however short the phase, where the rate rule wants 3 a minute more.
    #[test]
    fn bursts_on_a_band_never_used_are_a_new_band() {
        let with = |srd: u64| {
            let mut p = phase("online");
            p.end_s = 301.0;
            p.rf.push(channel("LTE", 180.0));
            let mut c = channel("SRD 868", srd as f64 / 5.0);
            c.bursts = srd;
            c.transmissions = Some(srd);
            p.rf.push(c);
            dut(vec![p])
        };
        let c = diff_of(&with(12), &with(0));
        assert_eq!(kinds(&c), [(ChangeKind::NewBand, true)], "{c:?}");
        assert!(
            c[0].summary.contains("SRD 868: 12 bursts"),
            "{}",
            c[0].summary
        );
        // Two bursts are not yet a band in use.
        assert!(diff_of(&with(2), &with(0)).is_empty());
        // A band the phone used in another phase is judged by the rates.
        let mut then = with(0);
        let mut boot = phase("boot");
        boot.rf.push(channel("SRD 868", 4.0));
        then.phases.insert(0, boot);
        assert!(diff_of(&with(12), &then).is_empty());
    }

    #[test]
    fn on_air_time_length_and_level_are_compared() {
        let lte = |on_air_s: f64, length_ms: f64, level: f64| {
            let mut p = phase("online");
            p.end_s = 301.0;
            let mut c = channel("LTE", 180.0);
            c.bursts = 880;
            c.transmissions = Some(880);
            c.on_air_s = Some(on_air_s);
            c.median_burst_ms = Some(length_ms);
            c.peak_above_floor_db = Some(level + 18.0);
            c.median_above_floor_db = Some(level);
            p.rf.push(c);
            dut(vec![p])
        };
        let base = [
            lte(3.0, 3.0, 48.0),
            lte(3.8, 3.0, 49.5),
            lte(2.8, 3.0, 47.9),
        ];
        assert!(diff_over(&lte(3.5, 4.0, 49.0), &base).is_empty());
        // Stretched to 40 ms: longer and far more on air.
        let c = diff_over(&lte(35.0, 40.0, 48.0), &base);
        assert_eq!(
            kinds(&c),
            [
                (ChangeKind::MoreOnAirTime, true),
                (ChangeKind::LongerTransmissions, true)
            ],
            "{c:?}"
        );
        // 20 dB stronger: peak and median.
        let c = diff_over(&lte(3.0, 3.0, 68.0), &base);
        assert_eq!(
            kinds(&c),
            [
                (ChangeKind::StrongerTransmissions, true),
                (ChangeKind::StrongerTransmissions, true)
            ],
            "{c:?}"
        );
        assert!(
            c.iter()
                .any(|c| c.measure.as_deref() == Some("LTE: median level above the floor"))
        );
    }

    #[test]
    fn current_must_rise_beyond_the_nights_and_a_floor() {
        let with = |a: f64| {
            let mut p = phase("online");
            p.current.push(amps(a));
            dut(vec![p])
        };
        assert!(diff_of(&with(0.0026), &with(0.002)).is_empty());
        assert!(diff_of(&with(0.095), &with(0.090)).is_empty());
        let c = diff_of(&with(0.040), &with(0.002));
        assert!(!c.is_empty());
        assert!(
            c.iter()
                .all(|c| c.kind == ChangeKind::HigherCurrent && c.regression)
        );
    }

    /// A phone switched off that draws twice its usual 2.4 mA, still under
    /// its 5 mA budget and under the +5 mA floor of other phases.
    #[test]
    fn a_doubled_off_current_is_weighed_against_the_phases_budget() {
        let off = |a: f64, budget: Option<f64>| {
            let mut p = phase("soft-off");
            p.off_current_a = budget;
            p.current.push(amps(a));
            dut(vec![p])
        };
        let c = diff_of(&off(0.0048, Some(0.005)), &off(0.0024, Some(0.005)));
        assert!(!c.is_empty(), "doubled under its budget");
        assert!(
            c[0].summary.contains("budget is 5.0 mA"),
            "{}",
            c[0].summary
        );
        assert!(diff_of(&off(0.0025, Some(0.005)), &off(0.0024, Some(0.005))).is_empty());
        // Without a budget, 2.4 mA more is under the 5 mA floor.
        assert!(diff_of(&off(0.0048, None), &off(0.0024, None)).is_empty());
    }

    /// The CPU kept awake +200 mA for 450 ms of every second: the median
    /// moves 4 %, the mean doubles.
    #[test]
    fn a_doubled_mean_is_higher_current_even_when_the_median_stays() {
        let with = |median: f64, mean: f64, p90: f64| {
            let mut p = phase("online");
            p.current.push(CurrentProfile {
                channel: "current".into(),
                idle_a: median,
                max_a: 1.0,
                mean_a: Some(mean),
                p90_a: Some(p90),
                p99_a: Some(p90 + 0.004),
            });
            dut(vec![p])
        };
        let c = diff_of(&with(0.0938, 0.183, 0.294), &with(0.0903, 0.0936, 0.094));
        let measures: Vec<&str> = c.iter().filter_map(|c| c.measure.as_deref()).collect();
        assert!(measures.contains(&"current: mean"), "{c:?}");
        assert!(!measures.contains(&"current: median"), "{c:?}");
        assert!(c.iter().all(|c| c.regression));
    }

    #[test]
    fn bytes_to_a_known_host_are_compared_with_the_nights() {
        let with = |bytes: u64| {
            let mut p = phase("online");
            p.destinations
                .push(dest("142.250.102.188", "mtalk.google.com", bytes));
            dut(vec![p])
        };
        assert!(diff_of(&with(18_000), &with(9_000)).is_empty());
        let c = diff_of(&with(20_000_000), &with(9_000));
        assert_eq!(kinds(&c), [(ChangeKind::MoreTraffic, true)], "{c:?}");
        assert_eq!(c[0].was.as_deref(), Some("9.0 kB"));
        assert_eq!(c[0].now.as_deref(), Some("20.0 MB"));
    }

    #[test]
    fn a_known_timer_that_fires_ten_times_as_often_is_a_regression() {
        let timer = |period_s: f64| PeriodicFlow {
            address: "10.77.0.5".into(),
            port: 443,
            proto: "tcp".into(),
            period_s,
            jitter: 0.05,
            checkins: 10,
            score: 0.95,
        };
        let with = |period_s: f64| {
            let mut p = phase("online");
            p.periodic.push(timer(period_s));
            dut(vec![p])
        };
        let base = [with(31.5), with(28.7), with(30.1)];
        assert!(diff_over(&with(29.0), &base).is_empty());
        let c = diff_over(&with(3.0), &base);
        assert_eq!(kinds(&c), [(ChangeKind::TimerPeriod, true)], "{c:?}");
        assert!(c[0].summary.contains("every 3.0 s"), "{}", c[0].summary);
        assert_eq!(c[0].was.as_deref(), Some("28.7-31.5 s"));
        // Slower is worth seeing, not failing for.
        let c = diff_over(&with(300.0), &base);
        assert_eq!(kinds(&c), [(ChangeKind::TimerPeriod, false)], "{c:?}");
    }

    #[test]
    fn new_dns_names_are_judged_by_domain_and_allowlist() {
        let asked = |names: &[&str]| {
            let mut p = phase("online");
            p.dns = names
                .iter()
                .map(|n| DnsName {
                    name: n.to_string(),
                    queries: 1,
                    domain: domain(n),
                })
                .collect();
            dut(vec![p])
        };
        let base = asked(&["www.bbc.co.uk", "mtalk.google.com"]);
        let tunnel: Vec<String> = (0..10)
            .map(|i| format!("abcdefg{i}.t.example.net"))
            .collect();
        let tunnel: Vec<&str> = tunnel.iter().map(String::as_str).collect();
        let c = diff_of(&asked(&tunnel), &base);
        assert_eq!(
            kinds(&c),
            [(ChangeKind::NewDnsName, true)],
            "one per domain: {c:?}"
        );
        assert!(
            c[0].summary.contains("10 new names under example.net"),
            "{}",
            c[0].summary
        );
        // Another company under a shared suffix: a new domain.
        let c = diff_of(&asked(&["c2.evil-updates.co.uk"]), &base);
        assert_eq!(kinds(&c), [(ChangeKind::NewDnsName, true)], "{c:?}");
        // Another host of a known domain: a change.
        let c = diff_of(&asked(&["android.clients.google.com"]), &base);
        assert_eq!(kinds(&c), [(ChangeKind::NewDnsName, false)], "{c:?}");
        // A name the phase's allowlist allows: a change.
        let allow = benchctl_net::Allowlist::parse(&["youtube.com".to_string()]).expect("parses");
        let mut d = empty_diff();
        compare_profiles(
            &asked(&["www.youtube.com"]),
            &[&base],
            &[],
            &[("online".to_string(), Some(allow))],
            &mut d,
        );
        assert_eq!(
            kinds(&d.changes),
            [(ChangeKind::NewDnsName, false)],
            "{:?}",
            d.changes
        );
    }

    #[test]
    fn a_destination_or_timer_known_in_any_night_or_accepted_run_is_not_new() {
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
            .push(dest("10.77.0.5", "push.example.com", 300));
        base_boot.periodic.push(timer("10.77.0.5", 0.9));
        let then = dut(vec![base_boot, phase("online")]);
        let mut online = phase("online");
        online
            .destinations
            .push(dest("10.77.0.5", "push.example.com", 300));
        online
            .destinations
            .push(dest("10.77.0.9", "c2.example.net", 300));
        online.periodic.push(timer("10.77.0.5", 0.9));
        online.periodic.push(timer("10.77.0.9", 0.75));
        // Below PERIODIC_SCORE: statistics, not a timer.
        online.periodic.push(timer("10.77.0.10", 0.5));
        let now = dut(vec![phase("boot"), online]);
        // Known in an older night, not in the latest: still known.
        let c = diff_over(
            &now,
            &[dut(vec![phase("boot"), phase("online")]), then.clone()],
        );
        assert_eq!(
            kinds(&c),
            [
                (ChangeKind::NewDestination, true),
                (ChangeKind::NewPeriodicEmitter, true)
            ],
            "{c:?}"
        );
        assert!(c[0].summary.contains("10.77.0.9:443/tcp (c2.example.net)"));
        assert!(c[1].summary.contains("every 10.0 s"), "{}", c[1].summary);
        // Accepted once: known however old.
        let mut accepted = then.clone();
        accepted.phases[0]
            .destinations
            .push(dest("10.77.0.9", "c2.example.net", 300));
        accepted.phases[0].periodic.push(timer("10.77.0.9", 0.75));
        let mut d = empty_diff();
        let old = dut(vec![phase("boot"), phase("online")]);
        compare_profiles(&now, &[&old], &[&accepted], &[], &mut d);
        assert!(d.changes.is_empty(), "{:?}", d.changes);
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
        let mut base = phase("online");
        base.destinations
            .push(dest("142.250.74.78", "android.clients.google.com", 300));
        let mut now = phase("online");
        now.destinations
            .push(dest("142.250.102.188", "mtalk.google.com", 300));
        now.destinations
            .push(dest("203.0.113.9", "c2.example.net", 300));
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
        let base = phase("online");
        let mut now = phase("online");
        now.destinations
            .push(dest("142.250.74.110", "www.youtube.com", 300));
        let allow = benchctl_net::Allowlist::parse(&["youtube.com".to_string()]).expect("parses");
        let mut d = empty_diff();
        let allowed = [("online".to_string(), Some(allow))];
        compare_profiles(
            &dut(vec![now.clone()]),
            &[&dut(vec![base.clone()])],
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
        for (known, new) in [
            ("www.a.co.uk", "www.b.co.uk"),
            ("www.bbc.co.uk", "c2.evil-updates.co.uk"),
            ("shop.a.com.au", "cdn.b.com.au"),
            ("alice.github.io", "bob.github.io"),
            ("d1111.cloudfront.net", "d2222.cloudfront.net"),
        ] {
            let mut base = phase("online");
            base.destinations.push(dest("198.51.100.1", known, 300));
            let mut now = phase("online");
            now.destinations.push(dest("198.51.100.2", new, 300));
            let c = diff_of(&dut(vec![now]), &dut(vec![base]));
            assert_eq!(c.len(), 1, "{new}: {c:?}");
            assert!(c[0].regression, "{new} after {known}: {c:?}");
            assert_ne!(domain(known), domain(new));
        }
    }

    #[test]
    fn values_read_as_ranges_with_one_unit() {
        assert_eq!(
            range_words(&[0.0926, 0.0943], |v| format!("{:.1} mA", v * 1e3)),
            "92.6-94.3 mA"
        );
        assert_eq!(range_words(&[3.0, 3.0], |v| format!("{v:.0} ms")), "3 ms");
        assert_eq!(bytes_words(20e6), "20.0 MB");
        assert_eq!(bytes_words(516.0), "516 B");
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
