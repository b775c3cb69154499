//! Analysis: a run directory (any that follows recording-format.md) or a
//! bare packet capture in, findings out (findings.md, `benchctl-findings/1`).
//!
//! One pass per stream, memory flat in the recording's length: RF (`rf.rs`:
//! floors, bursts, the room), supply current (`power.rs`), packets (`net.rs`:
//! sorted per DUT for the detectors). The phase expectations are checked
//! here; the covert-pattern statistics live in `crate::detect`, one file
//! each. `junit.rs` and `summary.rs` present the result.

pub mod junit;
pub mod net;
pub mod power;
pub mod rf;
pub mod summary;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use crate::detect::{self, Finding, Severity};
use crate::record::read::{PacketReader, ReadError, RunDir, SigmfReader};
use crate::record::{NetExpect, PowerExpect, RfExpect};
use net::{DutSorter, NetPhase};

/// The format string of findings.json.
pub const FORMAT: &str = "benchctl-findings/1";
/// The file analysis writes into a run directory.
pub const FILE_NAME: &str = "findings.json";

/// The first second of a phase belongs to the bench: the phase line is
/// written just before the action that brings the DUT into it, and a phone
/// takes a moment to obey (radios off, shutdown).
pub const SETTLE_S: f64 = 1.0;
/// Current above the limit for less than this is a spike, not a draw.
pub const MIN_EXCESS_S: f64 = 0.05;

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{0}: not a run directory (no run.json) nor a .pcap/.pcapng file")]
    NotAnInput(PathBuf),
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
    if path.is_dir() {
        if !path.join(crate::record::run_json::FILE_NAME).exists() {
            return Err(AnalyzeError::NotAnInput(path.to_path_buf()));
        }
        analyze_run(path)
    } else if path.is_file() {
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
    crate::state::write_atomic(&path, &bytes).map_err(|source| AnalyzeError::Write { path, source })
}

/// A DUT's phases with what the detectors need.
struct DutPhases {
    name: String,
    ips: Vec<IpAddr>,
    phases: Vec<PhaseSpan>,
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
}

impl DutPhases {
    fn at(&self, t: f64) -> Option<&PhaseSpan> {
        self.phases.iter().find(|p| p.start <= t && t < p.end)
    }
}

fn analyze_run(dir: &Path) -> Result<Findings, AnalyzeError> {
    let run = RunDir::open(dir)?;
    let mut problems = Vec::new();
    if !run.complete() {
        problems.push("the run did not finish (complete is false or missing)".to_string());
    }
    if run.events().truncated() {
        problems.push("events.jsonl ends in a cut line".into());
    }
    let duts: Vec<DutPhases> = run
        .duts()
        .iter()
        .map(|d| {
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
                })
                .collect();
            Ok(DutPhases {
                name: d.name.clone(),
                ips: d.ip.iter().filter_map(|ip| ip.parse().ok()).collect(),
                phases,
            })
        })
        .collect::<Result<_, ReadError>>()?;
    let mut findings: BTreeMap<String, Vec<Finding>> =
        duts.iter().map(|d| (d.name.clone(), Vec::new())).collect();

    let rf = run.rf()?;
    if let Some(mut reader) = rf {
        if reader.truncated() {
            problems.push("rf.sigmf-data ends in a partial frame".into());
        }
        let measured = rf_findings(&mut reader, &duts, &mut findings)?;
        problems.extend(coverage(
            "rf.sigmf-data",
            &reader,
            run.duration_s(),
            &measured,
        ));
    }
    let power = run.power()?;
    if let Some(mut reader) = power {
        let measured = power_findings(&mut reader, &duts, &mut findings)?;
        problems.extend(coverage(
            "power.sigmf-data",
            &reader,
            run.duration_s(),
            &measured,
        ));
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
                        allow: (p.net == NetExpect::Allowlist)
                            .then(|| crate::net::Allowlist::parse(&p.allow).unwrap_or_default()),
                    })
                    .collect();
                DutSorter::new(d.ips.clone(), phases, SETTLE_S)
            })
            .collect();
        let started = run.started();
        let names: Vec<String> = duts.iter().map(|d| d.name.clone()).collect();
        let truncated = read_packets(reader, |interface_name, time, data| {
            let Some(i) = interface_name.and_then(|n| names.iter().position(|d| d == n)) else {
                return;
            };
            sorters[i].frame(time.seconds_since(started), data);
        })?;
        if truncated {
            problems.push("net.pcapng ends in a cut block".into());
        }
        for (d, sorter) in duts.iter().zip(sorters) {
            net_findings(
                d,
                &sorter,
                findings.get_mut(&d.name).expect("every DUT has a list"),
            );
        }
    }

    let checks = checks_for(&duts, run.has_rf(), run.has_power(), run.has_net());
    Ok(assemble(
        dir.display().to_string(),
        Some(run.run_id().to_string()),
        run.complete() && problems.is_empty(),
        findings,
        checks,
        problems,
    ))
}

/// The share of the run a DUT's channel must hold measured samples for
/// (not NaN, not before the recording started or after it stopped) for
/// the run to be complete: a tenth missing is a hole big enough to hide a
/// burst train.
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
/// samples (`measured`, per channel) against the samples the run should
/// hold. A phase nobody heard is not a silent phase, so this makes the run
/// incomplete rather than letting it pass on missing data.
fn coverage(
    file: &str,
    reader: &SigmfReader,
    duration_s: Option<f64>,
    measured: &[u64],
) -> Vec<String> {
    let frames = reader.frames();
    if let Some(end) = duration_s
        && frames == 0
    {
        return vec![format!(
            "{file} holds no samples for a {end:.1} s run: nothing it should measure was heard"
        )];
    }
    let rate = reader.sample_rate();
    let slack = COVERAGE_SLACK_S.max(2.0 / rate);
    let expected = duration_s
        .map_or(0.0, |end| (end - slack) * rate)
        .max(frames as f64);
    let short: Vec<String> = reader
        .channels()
        .iter()
        .zip(measured)
        .filter_map(|(channel, &n)| {
            let dut = channel.dut.as_deref()?;
            let share = n as f64 / expected.max(1.0);
            (share < MIN_MEASURED_SHARE).then(|| {
                format!(
                    "{file}: channel \"{}\" of {dut} has a measured sample in {:.0}% of its frames (the rest were lost)",
                    channel.label(),
                    share * 100.0
                )
            })
        })
        .collect();
    let (from, to) = (reader.t0(), reader.end_t());
    match duration_s {
        // Said once for the file when the recording itself is short.
        Some(end) if !short.is_empty() && (from > slack || to < end - slack) => vec![format!(
            "{file} covers only {from:.1}-{to:.1} s of a {end:.1} s run: what happened outside that was not measured"
        )],
        _ => short,
    }
}

/// Walk a capture's packets: `(interface name, time, bytes)`. True if its
/// end was cut. The run history (`history::profile`) walks them the same way.
pub(crate) fn read_packets(
    mut reader: PacketReader,
    mut each: impl FnMut(Option<&str>, crate::record::read::UtcTime, &[u8]),
) -> Result<bool, ReadError> {
    while let Some(p) = reader.next() {
        let p = p?;
        let Some(time) = p.time else { continue };
        let name = reader
            .interfaces()
            .get(p.interface)
            .and_then(|i| i.name.clone());
        each(name.as_deref(), time, &p.data);
    }
    Ok(reader.truncated().is_some())
}

fn analyze_capture(path: &Path) -> Result<Findings, AnalyzeError> {
    let reader = PacketReader::open(path)?;
    let unnamed = path.file_stem().map_or_else(
        || "capture".to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    // One pseudo-DUT per interface, all phases `any`; both directions are
    // judged (a bare capture says nothing about which end is the DUT).
    let mut names: Vec<String> = Vec::new();
    let mut sorters: Vec<DutSorter> = Vec::new();
    let mut first: Option<crate::record::read::UtcTime> = None;
    let truncated = read_packets(reader, |name, time, data| {
        // An interface without a name (classic pcap has none) is called
        // after the file.
        let name = name.map_or_else(|| unnamed.clone(), str::to_string);
        let i = match names.iter().position(|n| *n == name) {
            Some(i) => i,
            None => {
                names.push(name);
                sorters.push(DutSorter::new(Vec::new(), Vec::new(), 0.0));
                names.len() - 1
            }
        };
        let t0 = *first.get_or_insert(time);
        sorters[i].frame(time.seconds_since(t0), data);
    })?;
    let mut findings = BTreeMap::new();
    let mut checks = Vec::new();
    for (name, sorter) in names.iter().zip(sorters) {
        let d = DutPhases {
            name: name.clone(),
            ips: Vec::new(),
            phases: Vec::new(),
        };
        let list = findings.entry(name.clone()).or_insert_with(Vec::new);
        net_findings(&d, &sorter, list);
        checks.extend(checks_for(std::slice::from_ref(&d), false, false, true));
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
        checks,
        problems,
    ))
}

fn assemble(
    input: String,
    run_id: Option<String>,
    complete: bool,
    findings: BTreeMap<String, Vec<Finding>>,
    checks: Vec<Check>,
    problems: Vec<String>,
) -> Findings {
    let duts: Vec<DutFindings> = findings
        .into_iter()
        .map(|(dut, mut findings)| {
            findings.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
            let fail = findings.iter().any(|f| f.severity >= Severity::Medium);
            DutFindings {
                dut,
                verdict: if fail { Verdict::Fail } else { Verdict::Pass },
                findings,
            }
        })
        .collect();
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

/// Every check the run's phases and streams call for.
fn checks_for(duts: &[DutPhases], rf: bool, power: bool, net: bool) -> Vec<Check> {
    let mut checks = Vec::new();
    for d in duts {
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
                add("rf silent", "rf-in-silence", rf);
            }
            match p.net {
                NetExpect::None => add("no packets", "net-in-isolation", net),
                NetExpect::Allowlist => add(
                    "allowlisted destinations only",
                    "net-unexpected-destination",
                    net,
                ),
                NetExpect::Any => {}
            }
            if p.power == PowerExpect::Off {
                add("power off", "power-in-off", power);
            }
        }
        for (kind, ran) in [
            ("dns-exfiltration", net),
            ("net-beacon", net),
            ("timing-channel", net || rf),
        ] {
            checks.push(Check {
                dut: d.name.clone(),
                name: kind.to_string(),
                kind,
                phase: None,
                ran,
            });
        }
    }
    checks
}

/// RF findings into `out`; per channel, the samples measured.
fn rf_findings(
    reader: &mut SigmfReader,
    duts: &[DutPhases],
    out: &mut BTreeMap<String, Vec<Finding>>,
) -> Result<Vec<u64>, ReadError> {
    let result = rf::analyze(reader)?;
    let channels = reader.channels().to_vec();
    for (ch, channel) in channels.iter().enumerate() {
        let Some(dut) = channel.dut.as_deref() else {
            continue;
        };
        let Some(d) = duts.iter().find(|d| d.name == dut) else {
            continue;
        };
        let floor = result.floors[ch];
        let mine: Vec<&rf::Burst> = result.bursts[ch].iter().filter(|b| !b.room).collect();
        let period = 1.0 / reader.sample_rate();
        for p in d.phases.iter().filter(|p| p.rf == RfExpect::Silent) {
            let inside: Vec<&&rf::Burst> = mine
                .iter()
                .filter(|b| b.counts(period))
                .filter(|b| b.start_s >= p.start + SETTLE_S && b.start_s < p.end)
                .collect();
            let (Some(first), Some(last)) = (inside.first(), inside.last()) else {
                continue;
            };
            let peak = inside.iter().map(|b| b.peak_dbm).fold(f64::MIN, f64::max);
            let longest = inside.iter().map(|b| b.duration_s()).fold(0.0, f64::max);
            let above = peak - floor.median_dbm;
            let mut evidence = BTreeMap::new();
            evidence.insert("bursts".into(), json!(inside.len()));
            evidence.insert("peak_dbm".into(), json!(round(peak, 1)));
            evidence.insert("floor_dbm".into(), json!(round(floor.median_dbm, 1)));
            evidence.insert("threshold_dbm".into(), json!(round(floor.threshold_dbm, 1)));
            evidence.insert("above_floor_db".into(), json!(round(above, 1)));
            evidence.insert("longest_ms".into(), json!(round(longest * 1e3, 1)));
            out.entry(dut.to_string()).or_default().push(Finding {
                kind: "rf-in-silence",
                severity: Severity::High,
                phase: Some(p.name.clone()),
                start_s: first.start_s,
                end_s: last.end_s,
                channel: Some(channel.label().to_string()),
                score: (above / 20.0).clamp(0.5, 1.0),
                summary: format!(
                    "{} burst{} up to {:.0} dB above the noise floor (longest {:.0} ms) in {} during phase \"{}\", which expects RF silence",
                    inside.len(),
                    if inside.len() == 1 { "" } else { "s" },
                    above,
                    longest * 1e3,
                    channel.label(),
                    p.name
                ),
                evidence,
            });
        }
        // Bits in the gaps between bursts, over the whole recording; burst
        // starts are on the sample grid.
        let starts: Vec<f64> = mine.iter().map(|b| b.start_s).collect();
        if let Some(a) = detect::timing::assess_on_grid(&starts, period)
            && a.covert
        {
            let phase = d.at(a.start_s).map(|p| p.name.clone());
            out.entry(dut.to_string()).or_default().push(Finding {
                kind: "timing-channel",
                severity: Severity::High,
                phase,
                start_s: a.start_s,
                end_s: a.end_s,
                channel: Some(channel.label().to_string()),
                score: a.score,
                summary: format!("RF bursts in {}: {}", channel.label(), a.summary),
                evidence: timing_evidence(&a),
            });
        }
    }
    Ok(result.floors.iter().map(|f| f.samples).collect())
}

fn timing_evidence(a: &detect::timing::TimingAssessment) -> BTreeMap<String, serde_json::Value> {
    let mut e = BTreeMap::new();
    e.insert("events".into(), json!(a.events));
    e.insert(
        "levels_ms".into(),
        json!(
            a.levels_s
                .iter()
                .map(|l| round(l * 1e3, 1))
                .collect::<Vec<_>>()
        ),
    );
    e.insert("regularity".into(), json!(round(a.regularity, 3)));
    e.insert("eps_similarity".into(), json!(round(a.eps_similarity, 3)));
    e.insert("kappa".into(), json!(round(a.kappa, 3)));
    e.insert("cce".into(), json!(round(a.cce, 3)));
    e
}

/// Power findings into `out`; per channel, the samples measured.
fn power_findings(
    reader: &mut SigmfReader,
    duts: &[DutPhases],
    out: &mut BTreeMap<String, Vec<Finding>>,
) -> Result<Vec<u64>, ReadError> {
    let channels = reader.channels().to_vec();
    let owner: Vec<Option<&DutPhases>> = channels
        .iter()
        .map(|c| {
            c.dut
                .as_deref()
                .and_then(|n| duts.iter().find(|d| d.name == n))
        })
        .collect();
    let above = power::above(reader, |ch, t| {
        let p = owner.get(ch).copied().flatten()?.at(t)?;
        (p.power == PowerExpect::Off && t >= p.start + SETTLE_S).then_some(p.off_current_a)
    })?;
    for (ch, stretches) in above.excess.iter().enumerate() {
        let Some(d) = owner[ch] else { continue };
        for p in d.phases.iter().filter(|p| p.power == PowerExpect::Off) {
            let inside: Vec<&power::Excess> = stretches
                .iter()
                .filter(|e| e.start_s >= p.start && e.start_s < p.end)
                .filter(|e| e.end_s - e.start_s >= MIN_EXCESS_S)
                .collect();
            let (Some(first), Some(last)) = (inside.first(), inside.last()) else {
                continue;
            };
            let over_s: f64 = inside.iter().map(|e| e.end_s - e.start_s).sum();
            let peak = inside.iter().map(|e| e.peak_a).fold(0.0, f64::max);
            let mean = inside
                .iter()
                .map(|e| e.mean_a * (e.end_s - e.start_s))
                .sum::<f64>()
                / over_s;
            let span = (p.end - p.start - SETTLE_S).max(over_s);
            let mut evidence = BTreeMap::new();
            evidence.insert("limit_a".into(), json!(p.off_current_a));
            evidence.insert("mean_a".into(), json!(round(mean, 4)));
            evidence.insert("peak_a".into(), json!(round(peak, 4)));
            evidence.insert("seconds_above".into(), json!(round(over_s, 2)));
            out.entry(d.name.clone()).or_default().push(Finding {
                kind: "power-in-off",
                severity: Severity::High,
                phase: Some(p.name.clone()),
                start_s: first.start_s,
                end_s: last.end_s,
                channel: Some(channels[ch].label().to_string()),
                score: (over_s / span).clamp(0.5, 1.0),
                summary: format!(
                    "draws {:.1} mA on average (peaks {:.0} mA) for {:.1} s of phase \"{}\", where it claims to be off (limit {:.1} mA)",
                    mean * 1e3,
                    peak * 1e3,
                    over_s,
                    p.name,
                    p.off_current_a * 1e3
                ),
                evidence,
            });
        }
    }
    Ok(above.measured)
}

fn net_findings(d: &DutPhases, sorter: &DutSorter, out: &mut Vec<Finding>) {
    let traffic = &sorter.traffic;
    // Packets while isolated, per phase.
    for (i, p) in d.phases.iter().enumerate() {
        let sent: Vec<&net::Offence> = traffic
            .in_isolation
            .iter()
            .filter(|o| o.phase == i)
            .collect();
        if let (Some(first), Some(last)) = (sent.first(), sent.last()) {
            let mut dests: Vec<&str> = sent.iter().map(|o| o.dest.as_str()).collect();
            dests.sort_unstable();
            dests.dedup();
            let mut evidence = BTreeMap::new();
            evidence.insert("packets".into(), json!(sent.len()));
            evidence.insert("destinations".into(), json!(dests));
            out.push(Finding {
                kind: "net-in-isolation",
                severity: Severity::High,
                phase: Some(p.name.clone()),
                start_s: first.t,
                end_s: last.t,
                channel: None,
                score: 1.0,
                summary: format!(
                    "sent {} packet{} (to {}) during phase \"{}\", which allows none",
                    sent.len(),
                    if sent.len() == 1 { "" } else { "s" },
                    list(&dests, 3),
                    p.name
                ),
                evidence,
            });
        }
        // Denied destinations, per phase and destination.
        let mut by_dest: BTreeMap<&str, Vec<&net::Offence>> = BTreeMap::new();
        for o in traffic.denied.iter().filter(|o| o.phase == i) {
            by_dest.entry(o.dest.as_str()).or_default().push(o);
        }
        for (dest, offences) in by_dest {
            let (first, last) = (offences[0], offences[offences.len() - 1]);
            let mut evidence = BTreeMap::new();
            evidence.insert("packets".into(), json!(offences.len()));
            evidence.insert("allow".into(), json!(p.allow));
            out.push(Finding {
                kind: "net-unexpected-destination",
                severity: Severity::High,
                phase: Some(p.name.clone()),
                start_s: first.t,
                end_s: last.t,
                channel: Some(dest.to_string()),
                score: 1.0,
                summary: format!(
                    "{} packet{} during phase \"{}\": {}",
                    offences.len(),
                    if offences.len() == 1 { "" } else { "s" },
                    p.name,
                    first.why
                ),
                evidence,
            });
        }
    }
    for a in detect::dns_exfil::assess(&traffic.dns_queries) {
        let mut evidence = BTreeMap::new();
        evidence.insert("queries".into(), json!(a.queries));
        evidence.insert("unique_ratio".into(), json!(round(a.unique_ratio, 3)));
        evidence.insert("mean_label_len".into(), json!(round(a.mean_label_len, 1)));
        evidence.insert(
            "mean_entropy_bits".into(),
            json!(round(a.mean_entropy_bits, 2)),
        );
        evidence.insert("example".into(), json!(a.example));
        out.push(Finding {
            kind: "dns-exfiltration",
            severity: Severity::High,
            phase: d.at(a.start_s).map(|p| p.name.clone()),
            start_s: a.start_s,
            end_s: a.end_s,
            channel: Some(a.parent.clone()),
            score: a.score,
            summary: a.summary.clone(),
            evidence,
        });
    }
    for (dest, conns) in &traffic.connections {
        let Some(a) = detect::beacon::assess(conns) else {
            continue;
        };
        if a.score < detect::beacon::THRESHOLD {
            continue;
        }
        let severity = if traffic.denied_dests.contains(&dest.dst) {
            Severity::High
        } else if traffic.allowed_dests.contains(&dest.dst) {
            // A push keep-alive to an allowed service is normal (findings.md).
            Severity::Low
        } else {
            Severity::Medium
        };
        let mut evidence = BTreeMap::new();
        evidence.insert("connections".into(), json!(a.connections));
        evidence.insert("period_s".into(), json!(round(a.period_s, 2)));
        evidence.insert("jitter".into(), json!(round(a.jitter, 3)));
        evidence.insert("skew".into(), json!(round(a.skew, 3)));
        evidence.insert("size_dispersion".into(), json!(round(a.size_dispersion, 3)));
        out.push(Finding {
            kind: "net-beacon",
            severity,
            phase: d.at(a.start_s).map(|p| p.name.clone()),
            start_s: a.start_s,
            end_s: a.end_s,
            channel: Some(dest.label()),
            score: a.score,
            summary: a.summary.clone(),
            evidence,
        });
    }
    for (dest, times) in &traffic.flows {
        let Some(a) = detect::timing::assess(times) else {
            continue;
        };
        if !a.covert {
            continue;
        }
        out.push(Finding {
            kind: "timing-channel",
            severity: Severity::High,
            phase: d.at(a.start_s).map(|p| p.name.clone()),
            start_s: a.start_s,
            end_s: a.end_s,
            channel: Some(dest.label()),
            score: a.score,
            summary: format!("packets {}: {}", dest.label(), a.summary),
            evidence: timing_evidence(&a),
        });
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// "a, b, c and 4 more".
fn list(items: &[&str], max: usize) -> String {
    let shown = items
        .iter()
        .take(max)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        format!("{shown} and {} more", items.len() - max)
    } else {
        shown
    }
}
