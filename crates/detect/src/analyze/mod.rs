//! Analysis: a run directory (any that follows recording-format.md) or a
//! bare packet capture in, findings out (findings.md, `benchctl-findings/1`).
//!
//! One pass per stream, memory flat in the recording's length: RF
//! (`detect::rf_silence`: floors, bursts, the room), supply current
//! (`detect::power_off`), packets (`net.rs`: sorted per DUT for the
//! detectors). This module reads the run, hands each DUT's phases and
//! streams to the detectors in `crate::detect` (one file per finding kind),
//! checks that the recording covers the run (the whole run here; each
//! phase where an expectation needs a channel in `coverage.rs`; a
//! `duration_s` the run's own files outrun in `past_the_end`), and
//! decides the verdicts.
//! `junit.rs` and `summary.rs` present the result.

mod coverage;
pub mod junit;
pub mod net;
pub mod summary;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{Finding, Severity, power_off, rf_silence};
use benchctl_format::read::{
    Channel, ChannelKind, PacketReader, ReadError, RunDir, RunEvent, SigmfReader,
};
use benchctl_format::run_json::RunManifest;
use benchctl_format::{NetExpect, PowerExpect, RfExpect};
use benchctl_net::LinkType;
use coverage::{Need, PhaseCoverage, Window};
use net::{Captured, DutSorter, FrameCounts, LinkSides, NetPhase};

/// The format string of findings.json.
pub const FORMAT: &str = "benchctl-findings/1";
/// The file analysis writes into a run directory.
pub const FILE_NAME: &str = "findings.json";

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{0}: not a run directory (no run.json) nor a .pcap/.pcapng file")]
    NotAnInput(PathBuf),
    #[error("{0}: no such file or directory")]
    NoSuchInput(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Incomplete,
}

/// findings.json.
#[derive(Debug, Clone, Serialize)]
pub struct Findings {
    pub format: &'static str,
    pub input: String,
    pub run_id: Option<String>,
    pub complete: bool,
    pub verdict: Verdict,
    pub duts: Vec<DutFindings>,
    /// Why the run is incomplete, if it is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// What was checked, for JUnit and the summary.
    #[serde(skip)]
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DutFindings {
    pub dut: String,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    /// Why the DUT is incomplete: what its phases expect that could not
    /// be judged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Its link's frames: read, not read, malformed, cut (when its
    /// packets were captured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<FrameCounts>,
}

/// One thing analysis checked: a phase expectation or a covert-pattern
/// detector over a DUT's whole recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub dut: String,
    /// `airplane: rf silent`, or the detector's kind.
    pub name: String,
    /// The finding kinds that fail it, and the phase they must be in.
    pub kind: &'static str,
    pub phase: Option<String>,
    /// False when the stream it needs was not recorded.
    pub ran: bool,
}

impl Findings {
    /// Every reason the run is incomplete: the run's own, then each DUT's,
    /// named.
    pub fn all_problems(&self) -> Vec<String> {
        let mut all = self.problems.clone();
        for d in &self.duts {
            for p in &d.problems {
                if p.starts_with(&format!("{}: ", d.dut)) {
                    all.push(p.clone());
                } else {
                    all.push(format!("{}: {p}", d.dut));
                }
            }
        }
        all
    }

    /// The findings that fail `check` (severity medium or high).
    pub fn failing<'a>(&'a self, check: &'a Check) -> impl Iterator<Item = &'a Finding> + 'a {
        self.duts
            .iter()
            .filter(move |d| d.dut == check.dut)
            .flat_map(|d| &d.findings)
            .filter(move |f| {
                f.kind == check.kind
                    && f.severity >= Severity::Medium
                    && (check.phase.is_none() || f.phase == check.phase)
            })
    }
}

/// Analyze one input: a run directory or a `.pcap`/`.pcapng` file.
pub fn analyze(path: &Path) -> Result<Findings, AnalyzeError> {
    // Tell "not there" and "not allowed to look" from "not a recording":
    // the fix differs (a typo, permissions, a wrong folder).
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => AnalyzeError::NoSuchInput(path.to_path_buf()),
        _ => ReadError::Io {
            path: path.to_path_buf(),
            source: e,
        }
        .into(),
    })?;
    if meta.is_dir() {
        let manifest = path.join(benchctl_format::run_json::FILE_NAME);
        match manifest.try_exists() {
            Ok(true) => analyze_run(path),
            Ok(false) => Err(AnalyzeError::NotAnInput(path.to_path_buf())),
            Err(source) => Err(ReadError::Io {
                path: manifest,
                source,
            }
            .into()),
        }
    } else if meta.is_file() {
        analyze_capture(path)
    } else {
        Err(AnalyzeError::NotAnInput(path.to_path_buf()))
    }
}

/// Write `findings` as `<dir>/findings.json` (atomically).
pub fn write(dir: &Path, findings: &Findings) -> Result<(), AnalyzeError> {
    let path = dir.join(FILE_NAME);
    let mut bytes = serde_json::to_vec_pretty(findings).unwrap_or_default();
    bytes.push(b'\n');
    benchctl_format::write_atomic(&path, &bytes)
        .map_err(|source| AnalyzeError::Write { path, source })
}

/// A DUT's phases with what the detectors need.
struct DutPhases {
    name: String,
    ips: Vec<IpAddr>,
    /// Who is who on its link.
    sides: LinkSides,
    phases: Vec<PhaseSpan>,
}

/// What analysis found per DUT besides its findings.
#[derive(Debug, Default)]
struct DutNotes {
    problems: Vec<String>,
    frames: Option<FrameCounts>,
}

#[derive(Debug, Clone)]
struct PhaseSpan {
    name: String,
    start: f64,
    end: f64,
    rf: RfExpect,
    net: NetExpect,
    allow: Vec<String>,
    power: PowerExpect,
    off_current_a: f64,
    /// Its settle window (`expect.settle_s`, 0 when the run sets none): the
    /// DUT's time to obey, judged at `low` (findings.md). The analysis adds
    /// no settle of its own, so another tool judges the directory alike.
    settle_s: f64,
}

impl DutPhases {
    fn at(&self, t: f64) -> Option<&PhaseSpan> {
        self.phases.iter().find(|p| p.start <= t && t < p.end)
    }
}

impl PhaseSpan {
    /// Where its expectations start to be judged: after its settle window,
    /// within the phase.
    fn judged_from(&self) -> f64 {
        (self.start + self.settle_s).min(self.end)
    }

    /// What `judge` finds in the phase, each of its two parts judged
    /// apart: its settle window `[start, judged_from)` (when it has one),
    /// whose findings are settle findings at `low`, then the rest of it.
    fn judged_apart<I>(&self, judge: impl Fn(f64, f64) -> I) -> Vec<Finding>
    where
        I: IntoIterator<Item = Finding>,
    {
        let from = self.judged_from();
        let settling: Vec<Finding> = if from > self.start {
            judge(self.start, from)
                .into_iter()
                .map(|f| f.in_settle_window(self.settle_s))
                .collect()
        } else {
            Vec::new()
        };
        settling.into_iter().chain(judge(from, self.end)).collect()
    }
}

fn analyze_run(dir: &Path) -> Result<Findings, AnalyzeError> {
    let run = RunDir::open(dir)?;
    if run.duts().is_empty() {
        return Err(ReadError::key(
            &RunManifest::path(dir),
            "duts",
            "lists no DUT: there is nobody to judge (every run names the phones it recorded)",
        )
        .into());
    }
    let mut problems = Vec::new();
    if !run.complete() {
        problems.push("the run did not finish (complete is false or missing)".to_string());
    }
    if run.events().truncated() {
        problems.push("events.jsonl ends in a cut line".into());
    }
    let sides = link_sides(&run)?;
    let duts: Vec<DutPhases> = run
        .duts()
        .iter()
        .zip(sides)
        .map(|(d, sides)| {
            let phases = run
                .phase_intervals(&d.name)?
                .iter()
                .map(|p| PhaseSpan {
                    name: p.phase.name.clone(),
                    start: p.start,
                    end: p.end,
                    rf: p.phase.expect.rf,
                    net: p.phase.expect.net,
                    allow: p.phase.expect.allow.clone(),
                    power: p.phase.expect.power,
                    off_current_a: p.phase.expect.off_current_a,
                    settle_s: p.phase.expect.settle_s,
                })
                .collect();
            Ok(DutPhases {
                name: d.name.clone(),
                ips: d.addresses(),
                sides,
                phases,
            })
        })
        .collect::<Result<_, ReadError>>()?;
    let mut findings: BTreeMap<String, Vec<Finding>> =
        duts.iter().map(|d| (d.name.clone(), Vec::new())).collect();
    let mut notes: BTreeMap<String, DutNotes> = duts
        .iter()
        .map(|d| (d.name.clone(), DutNotes::default()))
        .collect();

    // Coverage counts the samples measured while the run lasted: a
    // recording shifted past the run's end holds samples, but not of it.
    let counted = run
        .duration_s()
        .map_or(f64::NEG_INFINITY..=f64::INFINITY, |end| 0.0..=end);
    let rf = run.rf()?;
    let power = run.power()?;
    // A channel may name a bench DUT the run did not put through the
    // scenario (an empty enclosure kept as the room's reference): it is the
    // room's evidence, not an error. A DUT of the run that no channel names
    // was not heard (see `unheard`).
    let heard = |dut: &DutPhases| Heard {
        rf: rf.as_ref().is_some_and(|r| {
            r.channels().iter().any(|c| {
                c.dut.as_deref() == Some(&dut.name) && matches!(c.kind, ChannelKind::Band { .. })
            })
        }),
        power: power.as_ref().is_some_and(|r| {
            r.channels()
                .iter()
                .any(|c| c.dut.as_deref() == Some(&dut.name))
        }),
        net: run.has_net() && !dut.ips.is_empty(),
    };
    let mut heard: Vec<Heard> = duts.iter().map(heard).collect();
    // What lies past the run's end is not judged: a run.json whose
    // duration_s its own journal and streams outrun is not vouched for.
    let mut ends = vec![("events.jsonl", "goes on to", run.events().last_t())];
    for (file, reader) in [("rf.sigmf-data", &rf), ("power.sigmf-data", &power)] {
        ends.push((
            file,
            "holds samples up to",
            reader.as_ref().map(SigmfReader::end_t),
        ));
    }
    let run_end = run.run_end()?;
    if let Some(mut reader) = rf {
        if reader.truncated() {
            problems.push("rf.sigmf-data ends in a partial frame".into());
        }
        let windows = judged_windows(
            &reader,
            &duts,
            run_end,
            |c| matches!(c.kind, ChannelKind::Band { .. }),
            |p| p.rf == RfExpect::Silent,
        );
        let mut phases = PhaseCoverage::new(&reader, windows);
        let measured = rf_findings(
            &mut reader,
            &duts,
            counted.clone(),
            &mut phases,
            &mut findings,
        )?;
        let need = Need {
            samples: rf_silence::MIN_BURST_SAMPLES as u64,
            check: "rf-in-silence",
            what: "burst",
        };
        phase_coverage("rf.sigmf-data", &reader, phases, need, &mut notes);
        coverage(
            "rf.sigmf-data",
            &reader,
            run.duration_s(),
            &measured,
            &mut problems,
            &mut notes,
        );
    }
    if let Some(mut reader) = power {
        let windows = judged_windows(
            &reader,
            &duts,
            run_end,
            |_| true,
            |p| p.power == PowerExpect::Off,
        );
        let mut phases = PhaseCoverage::new(&reader, windows);
        let measured = power_findings(&mut reader, &duts, counted, &mut phases, &mut findings)?;
        // A draw counts from MIN_EXCESS_S on: that many samples' worth.
        let need = Need {
            samples: (power_off::MIN_EXCESS_S * reader.sample_rate() - 1e-9)
                .ceil()
                .max(1.0) as u64,
            check: "power-in-off",
            what: "draw",
        };
        phase_coverage("power.sigmf-data", &reader, phases, need, &mut notes);
        coverage(
            "power.sigmf-data",
            &reader,
            run.duration_s(),
            &measured,
            &mut problems,
            &mut notes,
        );
    }
    let net = run.net()?;
    if let Some(reader) = net {
        let mut sorters: Vec<DutSorter> = duts
            .iter()
            .map(|d| {
                let phases = d
                    .phases
                    .iter()
                    .map(|p| NetPhase {
                        start: p.start,
                        end: p.end,
                        none: p.net == NetExpect::None,
                        // Every entry was checked when the journal was
                        // read (a bad one is an error there), so this
                        // cannot fall back to the empty list.
                        allow: (p.net == NetExpect::Allowlist)
                            .then(|| benchctl_net::Allowlist::parse(&p.allow).unwrap_or_default()),
                        settle_s: p.settle_s,
                    })
                    .collect();
                DutSorter::new(d.sides.clone(), phases)
            })
            .collect();
        let names: Vec<&str> = duts.iter().map(|d| d.name.as_str()).collect();
        let sides: Vec<LinkSides> = duts.iter().map(|d| d.sides.clone()).collect();
        let mut last_packet: Option<f64> = None;
        let routed = route_packets(reader, run.started(), &names, &sides, |i, t, c| {
            last_packet = Some(last_packet.map_or(t, |l| l.max(t)));
            sorters[i].captured(t, c);
        })?;
        ends.push(("net.pcapng", "holds packets up to", last_packet));
        net::allow_named_anywhere(&mut sorters);
        for note in routed.orphan_notes() {
            tracing::warn!("{}: {note}", dir.display());
        }
        problems.extend(routed.unread_problems());
        for (heard, captured) in heard.iter_mut().zip(&routed.captured) {
            heard.net &= *captured;
        }
        let truncated = routed.truncated;
        if truncated {
            problems.push("net.pcapng ends in a cut block".into());
        }
        for ((d, sorter), heard) in duts.iter().zip(sorters).zip(&heard) {
            // Without its addresses, a DUT's sent and received packets look
            // alike: judging them would blame it for its peers' answers.
            if !heard.net {
                continue;
            }
            net_findings(
                d,
                &sorter,
                findings.get_mut(&d.name).expect("every DUT has a list"),
            );
            let note = notes.get_mut(&d.name).expect("every DUT has notes");
            note.problems
                .extend(sorter.traffic.frames.problems("net.pcapng"));
            note.frames = Some(sorter.traffic.frames);
        }
    }

    problems.extend(past_the_end(&run, &ends));
    let checks: Vec<Check> = duts
        .iter()
        .zip(&heard)
        .flat_map(|(d, heard)| checks_for(d, *heard))
        .collect();
    for (dut, problem) in unheard(&duts, &heard, &run) {
        if let Some(note) = notes.get_mut(&dut) {
            note.problems.push(problem);
        }
    }
    Ok(assemble(
        dir.display().to_string(),
        Some(run.run_id().to_string()),
        run.complete(),
        findings,
        notes,
        checks,
        problems,
    ))
}

/// The share of the run a DUT's channel must hold measured samples for
/// (not NaN, not before the recording started or after it stopped) for
/// the run to be complete: a tenth missing is a hole big enough to hide a
/// burst train. The same share holds for each phase's judged window where
/// an expectation needs the channel (`coverage.rs`, with the rules that
/// catch a single gap where it matters: a share of the whole run lets a
/// recording lose exactly the seconds a phone transmits in).
const MIN_MEASURED_SHARE: f64 = 0.9;

/// How much of the run's end a recording may miss without counting it:
/// the shield's stream starts a moment after the run clock (0.4 s on the
/// simulated bench), the recorder writes at least once a second, and a
/// slow logger writes a sample per finished window.
const COVERAGE_SLACK_S: f64 = 1.0;

/// Whether `file` measured the run, in words when it did not. The
/// recording format lets a writer mark a late start three ways (shift the
/// data, pad with NaN, or set `bench:t0`) and a lost frame as NaN, so what
/// counts is the same for all of them: per DUT channel, the measured
/// samples at run times inside the run (`measured`, per channel: not NaN,
/// in `[0, duration_s]`) against the samples the run should hold. A phase
/// nobody heard is not a silent phase, so this makes the run incomplete
/// rather than letting it pass on missing data, and samples from after the
/// run's end (a `bench:t0` that shifts the recording past it) do not stand
/// in for the run's own.
fn coverage(
    file: &str,
    reader: &SigmfReader,
    duration_s: Option<f64>,
    measured: &[u64],
    problems: &mut Vec<String>,
    notes: &mut BTreeMap<String, DutNotes>,
) {
    let frames = reader.frames();
    if let Some(end) = duration_s
        && frames == 0
    {
        problems.push(format!(
            "{file} holds no samples for a {end:.1} s run: nothing it should measure was heard"
        ));
        return;
    }
    let rate = reader.sample_rate();
    let slack = COVERAGE_SLACK_S.max(2.0 / rate);
    // Only samples inside the run count, so the run's length sets what is
    // expected: a recorder that went on after the run's end measured the
    // run no worse. Without a length, the recording is all there is.
    let expected = duration_s.map_or(frames as f64, |end| (end - slack) * rate);
    let short: Vec<(String, String)> = reader
        .channels()
        .iter()
        .zip(measured)
        .filter_map(|(channel, &n)| {
            let dut = channel.dut.as_deref()?;
            let share = n as f64 / expected.max(1.0);
            (share < MIN_MEASURED_SHARE).then(|| {
                (
                    dut.to_string(),
                    format!(
                        "{file}: channel \"{}\" of {dut} has a measured sample in {:.0}% of its frames (the rest were lost)",
                        channel.label(),
                        share * 100.0
                    ),
                )
            })
        })
        .collect();
    let (from, to) = (reader.t0(), reader.end_t());
    match duration_s {
        // Said once for the file when the recording itself is short.
        Some(end) if !short.is_empty() && (from > slack || to < end - slack) => {
            problems.push(format!(
                "{file} covers only {from:.1}-{to:.1} s of a {end:.1} s run: what happened outside that was not measured"
            ));
        }
        _ => {
            for (dut, problem) in short {
                match notes.get_mut(&dut) {
                    Some(note) => note.problems.push(problem),
                    // A channel of a bench DUT the run did not put through
                    // the scenario (the room's reference): the run's.
                    None => problems.push(problem),
                }
            }
        }
    }
}

/// Per channel of `reader` (those `measures` takes, of a DUT of the run),
/// the judged windows of its DUT's phases that `expects` judge on it: from
/// the end of each phase's settle window (what falls inside one is only
/// ever `low`, so a gap there does not count) to its end. The run's last [`COVERAGE_SLACK_S`] need not be recorded (see
/// there): a window ends where the recording does when that is that close
/// to the run's end (`run_end`).
fn judged_windows(
    reader: &SigmfReader,
    duts: &[DutPhases],
    run_end: f64,
    measures: impl Fn(&Channel) -> bool,
    expects: impl Fn(&PhaseSpan) -> bool,
) -> Vec<Vec<Window>> {
    let recorded_to = reader.end_t().max(run_end - COVERAGE_SLACK_S);
    owners(reader, duts)
        .into_iter()
        .zip(reader.channels())
        .map(|(owner, channel)| {
            let Some(d) = owner.filter(|_| measures(channel)) else {
                return Vec::new();
            };
            d.phases
                .iter()
                .filter(|p| expects(p))
                .map(|p| Window {
                    dut: d.name.clone(),
                    phase: p.name.clone(),
                    from: p.judged_from(),
                    to: p.end.min(recorded_to),
                })
                .filter(|w| w.from < w.to)
                .collect()
        })
        .collect()
}

/// The phases `file` did not measure where an expectation needed it
/// (`coverage.rs`), into the DUTs' notes: what its phases expect could not
/// be judged there.
fn phase_coverage(
    file: &str,
    reader: &SigmfReader,
    phases: PhaseCoverage,
    need: Need,
    notes: &mut BTreeMap<String, DutNotes>,
) {
    let labels: Vec<&str> = reader.channels().iter().map(Channel::label).collect();
    for (dut, problem) in phases.problems(file, &labels, need) {
        if let Some(note) = notes.get_mut(&dut) {
            note.problems.push(problem);
        }
    }
}

/// How far the journal and the recordings may go past run.json's
/// `duration_s` before they contradict it: the runner takes `duration_s`
/// when the DUTs reach their safe state, then lets the last packets reach
/// the tap, stops the recorder and writes the journal's closing note (tens
/// of milliseconds; a slow disk's flush more), and a stream's times follow
/// the shield's crystal, not the host's clock ([`CLOCK_TOLERANCE`]).
const END_SLACK_S: f64 = 2.0;
/// ...plus this share of the run: 1000 ppm, ten times what a cheap crystal
/// drifts, so a day-long run may run 86 s over before it counts.
const CLOCK_TOLERANCE: f64 = 1e-3;
/// A phase line after `duration_s` by more than this starts a phase that is
/// never judged (phases end at the run's end), whatever the slack.
const PHASE_AFTER_END_S: f64 = 1e-3;

/// Where the run's own files outrun run.json's `duration_s`, in words:
/// phases end at the run's end, so everything the journal and streams hold
/// after it goes unjudged, and a run.json that says the run was shorter
/// than its own recording cannot be taken at its word (it would pass the
/// phones on half a second). `ends`: per file, how it goes on ("holds
/// samples up to") and its last time.
fn past_the_end(run: &RunDir, ends: &[(&str, &str, Option<f64>)]) -> Vec<String> {
    let Some(end) = run.duration_s() else {
        // No duration: the run ends where its data does.
        return Vec::new();
    };
    let slack = END_SLACK_S + end * CLOCK_TOLERANCE;
    let late_phases: Vec<String> = run
        .events()
        .all()
        .iter()
        .filter(|e| e.t > end + PHASE_AFTER_END_S)
        .filter_map(|e| match &e.event {
            RunEvent::Phase(p) => Some(format!("\"{}\" of {} at {:.1} s", p.name, p.dut, e.t)),
            _ => None,
        })
        .collect();
    let mut problems = Vec::new();
    for &(file, goes_on, last) in ends {
        let Some(last) = last else { continue };
        let phases = file == "events.jsonl" && !late_phases.is_empty();
        if last <= end + slack && !phases {
            continue;
        }
        let mut problem =
            format!("run.json gives duration_s {end:.1} s, but {file} {goes_on} t = {last:.1} s");
        if phases {
            let names: Vec<&str> = late_phases.iter().map(String::as_str).collect();
            problem.push_str(&format!(
                " and starts phase{} {} after it",
                crate::plural(names.len()),
                crate::list(&names, 3)
            ));
        }
        problem.push_str(&format!(
            ": what comes after {end:.1} s is not judged, so the run is not vouched for"
        ));
        problems.push(problem);
    }
    problems
}

/// What [`route_packets`] could not give to a DUT.
#[derive(Debug)]
pub struct Routed {
    /// The capture's end was cut.
    pub truncated: bool,
    /// Per interface name (None: unnamed), packets no DUT could claim:
    /// other hosts on a shared link.
    pub orphans: BTreeMap<Option<String>, u64>,
    /// Per shared interface, frames that could not be read, so no DUT
    /// could be found for them by address: (unread, all frames, why).
    pub unread_orphans: BTreeMap<Option<String>, (u64, u64, BTreeSet<String>)>,
    /// Per DUT (in the order given), whether the capture holds its link.
    pub captured: Vec<bool>,
}

impl Routed {
    /// The orphans in words, for the log: packets nobody judged.
    pub fn orphan_notes(&self) -> Vec<String> {
        self.orphans
            .iter()
            .map(|(interface, &n)| {
                let on = match interface {
                    Some(name) => format!("on interface \"{name}\", which names no DUT,"),
                    None => "on an unnamed interface".to_string(),
                };
                let carry = if n == 1 { "carries" } else { "carry" };
                format!(
                    "net.pcapng: {n} packet{} {on} {carry} no DUT's address: not judged",
                    crate::plural(usize::try_from(n).unwrap_or(usize::MAX))
                )
            })
            .collect()
    }

    /// Shared interfaces whose unread frames could be any DUT's, beyond the
    /// share a DUT's own link may have unread: the run cannot vouch for its
    /// DUTs' traffic there.
    pub fn unread_problems(&self) -> Vec<String> {
        self.unread_orphans
            .iter()
            .filter(|(_, (unread, all, _))| {
                *unread as f64 / (*all).max(1) as f64 > net::MAX_UNREAD_SHARE
            })
            .map(|(interface, (unread, all, why))| {
                let on = interface.as_deref().map_or_else(
                    || "an unnamed interface".to_string(),
                    |n| format!("interface \"{n}\""),
                );
                format!(
                    "net.pcapng: {unread} of the {all} frames on {on} could not be read ({}), so whose they are is not known",
                    why.iter().cloned().collect::<Vec<_>>().join("; ")
                )
            })
            .collect()
    }
}

/// Walk a run's capture, giving each packet to its DUT(s) as `(DUT index,
/// run time, frame)`: every frame of an interface named after a DUT to that
/// DUT (its link's traffic, whatever the addresses), and on any other
/// interface (a shared `eth0`, a classic pcap without names) to the DUT
/// whose address (`sides`, per DUT) is its source or destination. A packet
/// between two DUTs is both one's sending and the other's receiving. The
/// analysis, the run history (`history::profile`) and the report route
/// packets this one way.
pub fn route_packets(
    reader: PacketReader,
    started: benchctl_format::read::UtcTime,
    names: &[&str],
    sides: &[LinkSides],
    mut each: impl FnMut(usize, f64, &Captured<'_>),
) -> Result<Routed, ReadError> {
    let mut orphans: BTreeMap<Option<String>, u64> = BTreeMap::new();
    let mut unread_orphans: BTreeMap<Option<String>, (u64, u64, BTreeSet<String>)> =
        BTreeMap::new();
    let (truncated, interfaces) = read_packets(reader, |interface_name, time, mut captured| {
        let t = time.seconds_since(started);
        if let Some(i) = interface_name.and_then(|n| names.iter().position(|d| *d == n)) {
            captured.own_interface = true;
            each(i, t, &captured);
            return;
        }
        let shared = unread_orphans
            .entry(interface_name.map(str::to_string))
            .or_default();
        shared.1 += 1;
        let frame = match captured.parse() {
            Ok(frame) => frame,
            Err(e) => {
                shared.0 += 1;
                if shared.2.len() < 4 {
                    shared.2.insert(e.to_string());
                }
                return;
            }
        };
        let owners: Vec<usize> = sides
            .iter()
            .enumerate()
            .filter(|(_, s)| s.direction(&frame, false).is_some())
            .map(|(i, _)| i)
            .collect();
        if owners.is_empty() {
            *orphans
                .entry(interface_name.map(str::to_string))
                .or_default() += 1;
        }
        for i in owners {
            each(i, t, &captured);
        }
    })?;
    unread_orphans.retain(|_, (unread, _, _)| *unread > 0);
    // A DUT's link was captured when an interface carries its name, or
    // when some interface names no DUT (its packets may be there, found by
    // address).
    let shared = interfaces
        .iter()
        .any(|i| i.as_deref().is_none_or(|n| !names.contains(&n)));
    let captured = names
        .iter()
        .map(|n| shared || interfaces.iter().any(|i| i.as_deref() == Some(n)))
        .collect();
    Ok(Routed {
        truncated,
        orphans,
        unread_orphans,
        captured,
    })
}

/// The bench side of each DUT's link: run.json's `bench_mac`/`bench_ip`,
/// else learned from the capture (`net::learn_bench_macs`), which takes one
/// extra pass over it only when some DUT needs it.
pub fn link_sides(run: &RunDir) -> Result<Vec<LinkSides>, ReadError> {
    let mut sides: Vec<LinkSides> = run.duts().iter().map(LinkSides::of).collect();
    if !sides.iter().any(LinkSides::needs_learning) {
        return Ok(sides);
    }
    let Some(reader) = run.net()? else {
        return Ok(sides);
    };
    let names: Vec<&str> = run.duts().iter().map(|d| d.name.as_str()).collect();
    let mut learner = net::BenchMacLearner::new(sides.len());
    read_packets(reader, |interface_name, _time, mut captured| {
        if let Some(i) = interface_name.and_then(|n| names.iter().position(|d| *d == n)) {
            captured.own_interface = true;
            learner.observe(&sides, i, &captured);
        }
    })?;
    learner.finish(&mut sides);
    Ok(sides)
}

/// Walk a capture's packets: `(interface name, time, frame)`. Returns
/// whether its end was cut, and the names of the interfaces it declares
/// (None: unnamed), packets or not.
pub(crate) fn read_packets(
    mut reader: PacketReader,
    mut each: impl FnMut(Option<&str>, benchctl_format::read::UtcTime, Captured<'_>),
) -> Result<(bool, Vec<Option<String>>), ReadError> {
    while let Some(p) = reader.next() {
        let p = p?;
        let Some(time) = p.time else { continue };
        let interface = reader.interfaces().get(p.interface);
        let name = interface.and_then(|i| i.name.clone());
        let link = LinkType::from_code(interface.map_or(1, |i| u32::from(i.link_type)));
        each(
            name.as_deref(),
            time,
            Captured {
                link,
                data: &p.data,
                original_len: p.original_len,
                own_interface: false,
            },
        );
    }
    let interfaces = reader.interfaces().iter().map(|i| i.name.clone()).collect();
    Ok((reader.truncated().is_some(), interfaces))
}

fn analyze_capture(path: &Path) -> Result<Findings, AnalyzeError> {
    // An empty file is no capture (a copy that failed, a wrong name); in a
    // run directory the same would be a recorder cut short, but a bare
    // capture has no run to be cut short of.
    if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
        return Err(ReadError::Bytes {
            path: path.to_path_buf(),
            offset: 0,
            detail: "the file is empty: not a pcap or pcapng capture".into(),
        }
        .into());
    }
    let reader = PacketReader::open(path)?;
    let file_name = path.file_name().map_or_else(
        || "capture".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let unnamed = path.file_stem().map_or_else(
        || "capture".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    // One pseudo-DUT per interface, all phases `any`; both directions are
    // judged (a bare capture says nothing about which end is the DUT).
    let mut names: Vec<String> = Vec::new();
    let mut sorters: Vec<DutSorter> = Vec::new();
    let mut first: Option<benchctl_format::read::UtcTime> = None;
    let (truncated, interfaces) = read_packets(reader, |name, time, mut captured| {
        // An interface without a name (classic pcap has none) is called
        // after the file.
        let name = name.map_or_else(|| unnamed.clone(), str::to_string);
        let i = match names.iter().position(|n| *n == name) {
            Some(i) => i,
            None => {
                names.push(name);
                sorters.push(DutSorter::new(LinkSides::unknown(), Vec::new()));
                names.len() - 1
            }
        };
        let t0 = *first.get_or_insert(time);
        captured.own_interface = true;
        sorters[i].captured(time.seconds_since(t0), &captured);
    })?;
    // Each interface the file declares is a pseudo-DUT (findings.md), one
    // that sent nothing if it holds no packet.
    for name in interfaces {
        let name = name.unwrap_or_else(|| unnamed.clone());
        if !names.contains(&name) {
            names.push(name);
            sorters.push(DutSorter::new(LinkSides::unknown(), Vec::new()));
        }
    }
    let mut findings = BTreeMap::new();
    let mut notes = BTreeMap::new();
    let mut checks = Vec::new();
    for (name, sorter) in names.iter().zip(sorters) {
        let d = DutPhases {
            name: name.clone(),
            ips: Vec::new(),
            sides: LinkSides::unknown(),
            phases: Vec::new(),
        };
        let list = findings.entry(name.clone()).or_insert_with(Vec::new);
        net_findings(&d, &sorter, list);
        let frames = sorter.traffic.frames;
        notes.insert(
            name.clone(),
            DutNotes {
                problems: frames.problems(&file_name),
                frames: Some(frames),
            },
        );
        checks.extend(checks_for(
            &d,
            Heard {
                rf: false,
                power: false,
                net: true,
            },
        ));
    }
    let problems = if truncated {
        vec!["the capture ends in a cut block".to_string()]
    } else {
        Vec::new()
    };
    Ok(assemble(
        path.display().to_string(),
        None,
        !truncated,
        findings,
        notes,
        checks,
        problems,
    ))
}

fn assemble(
    input: String,
    run_id: Option<String>,
    run_complete: bool,
    findings: BTreeMap<String, Vec<Finding>>,
    mut notes: BTreeMap<String, DutNotes>,
    checks: Vec<Check>,
    problems: Vec<String>,
) -> Findings {
    let duts: Vec<DutFindings> = findings
        .into_iter()
        .map(|(dut, mut findings)| {
            findings.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
            let note = notes.remove(&dut).unwrap_or_default();
            let fail = findings.iter().any(|f| f.severity >= Severity::Medium);
            // findings.md: fail beats incomplete; a DUT is incomplete when
            // something its phases expect could not be judged.
            let verdict = if fail {
                Verdict::Fail
            } else if !note.problems.is_empty() {
                Verdict::Incomplete
            } else {
                Verdict::Pass
            };
            DutFindings {
                dut,
                verdict,
                findings,
                problems: note.problems,
                frames: note.frames,
            }
        })
        .collect();
    let complete =
        run_complete && problems.is_empty() && duts.iter().all(|d| d.problems.is_empty());
    let verdict = if duts.iter().any(|d| d.verdict == Verdict::Fail) {
        Verdict::Fail
    } else if !complete {
        Verdict::Incomplete
    } else {
        Verdict::Pass
    };
    Findings {
        format: FORMAT,
        input,
        run_id,
        complete,
        verdict,
        duts,
        problems,
        checks,
    }
}

/// Which of a DUT's streams the run measured: an RF channel in its
/// enclosure, its supply current, its packets (captured, and told apart by
/// its addresses).
#[derive(Debug, Clone, Copy)]
struct Heard {
    rf: bool,
    power: bool,
    net: bool,
}

/// Every check a DUT's phases and streams call for.
fn checks_for(d: &DutPhases, heard: Heard) -> Vec<Check> {
    let mut checks = Vec::new();
    for p in &d.phases {
        let mut add = |name: &str, kind: &'static str, ran: bool| {
            checks.push(Check {
                dut: d.name.clone(),
                name: format!("{}: {name}", p.name),
                kind,
                phase: Some(p.name.clone()),
                ran,
            })
        };
        if p.rf == RfExpect::Silent {
            add("rf silent", "rf-in-silence", heard.rf);
        }
        match p.net {
            NetExpect::None => add("no packets", "net-in-isolation", heard.net),
            NetExpect::Allowlist => add(
                "allowlisted destinations only",
                "net-unexpected-destination",
                heard.net,
            ),
            NetExpect::Any => {}
        }
        if p.power == PowerExpect::Off {
            add("power off", "power-in-off", heard.power);
        }
    }
    for (kind, ran) in [
        ("dns-exfiltration", heard.net),
        ("net-beacon", heard.net),
        ("timing-channel", heard.net || heard.rf),
    ] {
        checks.push(Check {
            dut: d.name.clone(),
            name: kind.to_string(),
            kind,
            phase: None,
            ran,
        });
    }
    checks
}

/// What the run's phases expected but nothing measured, in words: a phase
/// nobody heard is not a silent phase, so these make the run incomplete
/// instead of letting the DUT pass on data that is not there.
fn unheard(duts: &[DutPhases], heard: &[Heard], run: &RunDir) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for (d, heard) in duts.iter().zip(heard) {
        let phases = |wanted: &dyn Fn(&PhaseSpan) -> bool| -> Vec<String> {
            d.phases
                .iter()
                .filter(|p| wanted(p))
                .map(|p| format!("\"{}\"", p.name))
                .collect()
        };
        // RF and current: a phase expectation, a stream, a channel for the DUT.
        let sampled = [
            (
                heard.rf,
                phases(&|p| p.rf == RfExpect::Silent),
                run.has_rf(),
                "RF silence expected in",
                "no channel of rf.sigmf-meta is in its enclosure",
                "the run recorded no RF (no rf.sigmf-*)",
            ),
            (
                heard.power,
                phases(&|p| p.power == PowerExpect::Off),
                run.has_power(),
                "the current expected off in",
                "no channel of power.sigmf-meta measures it",
                "the run recorded no current (no power.sigmf-*)",
            ),
        ];
        for (heard, expected, recorded, what, no_channel, no_stream) in sampled {
            if !heard && !expected.is_empty() {
                let why = if recorded { no_channel } else { no_stream };
                problems.push((
                    d.name.clone(),
                    format!(
                        "{}: {what} {} was not measured: {why}",
                        d.name,
                        expected.join(", ")
                    ),
                ));
            }
        }
        let net = phases(&|p| p.net != NetExpect::Any);
        if !heard.net && (run.has_net() || !net.is_empty()) {
            let why = if !run.has_net() {
                "the run captured no packets (no net.pcapng)".to_string()
            } else if d.ips.is_empty() {
                "run.json lists no ip for it, so its packets cannot be told from the answers it got: no network check ran on it".to_string()
            } else {
                "net.pcapng has no interface named after it, nor a shared one: its link was not captured".to_string()
            };
            let what = if net.is_empty() {
                "its traffic".to_string()
            } else {
                format!("the network expected in {}", net.join(", "))
            };
            problems.push((
                d.name.clone(),
                format!("{}: {what} was not judged: {why}", d.name),
            ));
        }
    }
    problems
}

/// Per channel of `reader`, the DUT of the run it measures (None: the room,
/// or a bench DUT the run did not put through the scenario).
fn owners<'a>(reader: &SigmfReader, duts: &'a [DutPhases]) -> Vec<Option<&'a DutPhases>> {
    reader
        .channels()
        .iter()
        .map(|c| {
            c.dut
                .as_deref()
                .and_then(|n| duts.iter().find(|d| d.name == n))
        })
        .collect()
}

/// RF findings into `out`; per channel, the samples measured in `counted`.
/// `phases` sees every frame on the way.
fn rf_findings(
    reader: &mut SigmfReader,
    duts: &[DutPhases],
    counted: std::ops::RangeInclusive<f64>,
    phases: &mut PhaseCoverage,
    out: &mut BTreeMap<String, Vec<Finding>>,
) -> Result<Vec<u64>, ReadError> {
    // Each DUT channel's floor comes from the quietest of its DUT's phases
    // (`rf_silence`'s docs): what the phone does in one phase cannot lift
    // the floor another phase is judged against.
    let phase_starts = |dut: &str| -> Vec<f64> {
        duts.iter()
            .find(|d| d.name == dut)
            .map(|d| d.phases.iter().map(|p| p.start).collect())
            .unwrap_or_default()
    };
    let result = rf_silence::analyze_watching(reader, phase_starts, counted, |t, frame| {
        phases.frame(t, frame)
    })?;
    let owner = owners(reader, duts);
    let period = 1.0 / reader.sample_rate();
    for (ch, channel) in reader.channels().iter().enumerate() {
        let Some(d) = owner[ch] else {
            continue;
        };
        let label = channel.label();
        let list = out.entry(d.name.clone()).or_default();
        let mine: Vec<&rf_silence::Burst> = result.bursts[ch].iter().filter(|b| !b.room).collect();
        let sent = rf_silence::transmissions(&mine, period);
        for p in d.phases.iter().filter(|p| p.rf == RfExpect::Silent) {
            list.extend(p.judged_apart(|from, to| {
                let phase = (p.name.as_str(), from, to);
                rf_silence::finding(&sent, &result.floors[ch], period, phase, label)
            }));
        }
        // Bits in the gaps between bursts, per stretch of activity (cut at
        // the DUT's phase starts); burst starts are on the sample grid. A
        // gap with one of the room's bursts in it is not judged: the room
        // may have hidden a burst of the DUT's there.
        let heard: Vec<(f64, f64)> = mine.iter().map(|b| (b.start_s, b.peak_dbm)).collect();
        let room: Vec<f64> = result.bursts[ch]
            .iter()
            .filter(|b| b.room)
            .map(|b| b.start_s)
            .collect();
        let cuts: Vec<f64> = d.phases.iter().map(|p| p.start).collect();
        if let Some(a) = crate::timing::assess_bursts(&heard, period, &cuts, &room)
            && a.covert
        {
            let phase = d.at(a.start_s).map(|p| p.name.clone());
            list.push(a.finding(label.to_string(), &format!("RF bursts in {label}:"), phase));
        }
    }
    Ok(result.measured)
}

/// Power findings into `out`; per channel, the samples measured in `counted`.
/// `phases` sees every frame on the way.
fn power_findings(
    reader: &mut SigmfReader,
    duts: &[DutPhases],
    counted: std::ops::RangeInclusive<f64>,
    phases: &mut PhaseCoverage,
    out: &mut BTreeMap<String, Vec<Finding>>,
) -> Result<Vec<u64>, ReadError> {
    let channels = reader.channels().to_vec();
    let owner = owners(reader, duts);
    let above = power_off::above_watching(
        reader,
        counted,
        |ch, t| {
            let p = owner.get(ch).copied().flatten()?.at(t)?;
            // The settle window is a stretch of its own: what the DUT draws
            // while obeying is reported apart, and neither its stretches
            // nor its means run on into the judged part of the phase.
            let from = if t < p.judged_from() {
                p.start
            } else {
                p.judged_from()
            };
            (p.power == PowerExpect::Off).then_some(power_off::Limit {
                amps: p.off_current_a,
                from_s: from,
            })
        },
        |t, frame| phases.frame(t, frame),
    )?;
    for ch in 0..above.excess.len() {
        let Some(d) = owner[ch] else { continue };
        let list = out.entry(d.name.clone()).or_default();
        for p in d.phases.iter().filter(|p| p.power == PowerExpect::Off) {
            list.extend(p.judged_apart(|from, to| {
                let phase = (p.name.as_str(), from, to);
                power_off::finding(
                    above.channel(ch),
                    phase,
                    p.off_current_a,
                    channels[ch].label(),
                )
            }));
        }
    }
    Ok(above.measured)
}

fn net_findings(d: &DutPhases, sorter: &DutSorter, out: &mut Vec<Finding>) {
    let traffic = &sorter.traffic;
    for (i, p) in d.phases.iter().enumerate() {
        // The sorter already put each offence inside or after the settle
        // window (`NetPhase::settling`); the part asked for says which.
        out.extend(p.judged_apart(|from, _| {
            let settling = from == p.start && from < p.judged_from();
            crate::net_policy::isolation_finding(
                &p.name,
                &traffic.in_isolation.in_phase(i, settling),
            )
            .into_iter()
            .chain(crate::net_policy::destination_findings(
                &p.name,
                &p.allow,
                &traffic.denied.in_phase(i, settling),
            ))
            .collect::<Vec<Finding>>()
        }));
    }
    for a in crate::dns_exfil::assess(&traffic.dns_queries) {
        out.push(a.finding(d.at(a.start_s).map(|p| p.name.clone())));
    }
    // Names asked of the link (mDNS, LLMNR) are housekeeping: reported,
    // never above low (findings.md).
    for a in crate::dns_exfil::assess(&traffic.link_dns_queries) {
        let mut f = a.finding(d.at(a.start_s).map(|p| p.name.clone()));
        f.severity = Severity::Low;
        out.push(f);
    }
    out.extend(crate::beacon::findings(sorter, &|t| {
        d.at(t).map(|p| p.name.clone())
    }));
    for (dest, flow) in &traffic.flows {
        let Some(a) = flow.finish() else {
            continue;
        };
        if a.covert {
            let phase = d.at(a.start_s).map(|p| p.name.clone());
            let mut f = a.finding(dest.label(), &format!("packets {}:", dest.label()), phase);
            // Link housekeeping is never a covert pattern above low
            // (findings.md).
            if sorter.link_housekeeping(dest) {
                f.severity = Severity::Low;
            }
            out.push(f);
        }
    }
}
