//! `benchctl suite <suite.toml>`: several scenarios back to back, one JUnit
//! file, one exit code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::run::{Recorded, after_recording, record_one};
use super::{CliError, Context, table};
use crate::bench::VirtualOptions;
use crate::bench::safety::SafetyGuard;
use crate::config::{BenchConfig, duration};
use crate::history::{self, Baseline, Diff, Index};
use crate::runner::{self, Destination, Ending, RunRequest};
use crate::suite::{self, Suite};
use benchctl_detect::analyze::junit::{self, BaselineCheck, DutAgainstBaseline};
use benchctl_detect::analyze::{Findings, Verdict};

/// Run a suite of scenarios back to back and judge them together.
///
/// Every scenario the suite names is checked against the bench before the
/// first one starts (file:line:col errors, exit 2, nothing switched). The
/// bench is taken once for the whole suite, so another job waiting on the
/// lock (see --wait) runs after the suite, not between its scenarios. Each
/// scenario is recorded into its own run directory under --out and
/// analyzed; a failing verdict does not stop the suite, a hardware fault
/// that aborts a run or a stop signal does (the rest is reported as not
/// run). DUTs go to their safe state after every run.
///
/// --virtual-time records a fully simulated bench in virtual time (the
/// same phone, plant and shield models as a live run, no waiting): a
/// 2 h 49 min nightly suite takes seconds. It refuses a bench with real
/// hardware.
///
/// Every run is indexed in the run history (<out>/history.sqlite). With
/// --baseline last-pass each run is then compared, per DUT, with its last
/// good nights of the same scenario on this bench (--nights, default 7;
/// what `benchctl diff` does): a new destination or DNS domain, a new
/// timer or a known one firing faster, a new RF band, more bursts, on-air
/// time, longer or stronger transmissions, higher current, more traffic to
/// a known host or a new failing finding, each beyond the spread the
/// baseline nights show, is a regression and fails the suite, even when
/// every verdict passed. Each DUT gets a JUnit testcase "no regression
/// against last-pass" (skipped when there is no earlier passing run), and
/// each run's report.html shows the comparison.
///
/// Where results go (--out, --junit, --artifacts: folders that can be
/// written) and the history --baseline reads are checked before the first
/// scenario too. After the night, a file that still cannot be written is
/// reported: a night that failed exits 1 all the same, one that passed
/// exits 3 (its evidence is not all there).
///
/// Exit code: the worst verdict: 1 if any DUT of any run fails or
/// regressed, 3 if a run was incomplete, aborted or not recorded (or could
/// not be compared with its baseline) and nothing failed, 0 if all pass; 2
/// for a bad suite or scenario, or a place that cannot be written; 128+N
/// when stopped by signal N.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  benchctl suite suites/nightly.toml --junit nightly.xml   on the bench, hours
  benchctl suite suites/nightly.toml --baseline last-pass  fail the night on a regression
  benchctl --wait 2h suite suites/nightly.toml             queue behind another job
  benchctl suite suites/nightly.toml --virtual-time        the simulated lab, seconds
  benchctl suite suites/nightly.toml --dry-run             check it and list the runs")]
pub struct SuiteCmd {
    #[command(flatten)]
    pub lock: super::LockArgs,
    /// The suite file, e.g. suites/nightly.toml
    pub suite: PathBuf,
    /// Where run directories go (one new directory per scenario)
    #[arg(long, value_name = "DIR", default_value = "runs")]
    pub out: PathBuf,
    /// Write one JUnit XML file for the whole suite (a testsuite per run)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Record in virtual time (fully simulated benches only)
    #[arg(long)]
    pub virtual_time: bool,
    /// Seed of the simulated room and noise with --virtual-time
    #[arg(long, default_value_t = 1, requires = "virtual_time")]
    pub seed: u64,
    /// Check the suite and list its scenarios; switch nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Also copy each run's evidence (report.html, findings.json, run.json,
    /// events.jsonl, baseline.json) to DIR/<run id>/, for CI artifacts; the run
    /// directories stay under --out with the history
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Compare every run with the last passing run of its scenario (per
    /// DUT) and fail on a regression; `benchctl diff RUN` shows the same
    #[arg(long, value_name = "last-pass", value_parser = ["last-pass"])]
    pub baseline: Option<String>,
    /// With --baseline: judge each DUT against up to N of its last good
    /// nights
    #[arg(long, value_name = "N", requires = "baseline",
          default_value_t = history::diff::DEFAULT_NIGHTS as u64,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub nights: u64,
}

/// One scenario of the suite, as it went.
#[derive(Debug, Serialize)]
struct SuiteRun {
    scenario: String,
    file: PathBuf,
    /// None: not run (an earlier run stopped the suite).
    dir: Option<PathBuf>,
    /// `finished`, `aborted: why`, `stopped by signal 15`, `not run`.
    ending: String,
    verdict: Option<Verdict>,
    /// Finding kinds that failed a DUT, per DUT.
    failing: BTreeMap<String, BTreeSet<&'static str>>,
    /// With --baseline: a DUT regressed against its baseline (the run
    /// fails the suite whatever its verdict).
    regressed: bool,
    /// With --baseline: the run against its baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<Diff>,
    /// With --baseline: why the run could not be compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    diff_error: Option<String>,
    #[serde(skip)]
    findings: Option<Findings>,
}

impl SuiteRun {
    /// What the suite makes of this run: its verdict, worsened by a
    /// regression (fail) or a comparison that could not be made
    /// (incomplete at best); not run counts as incomplete.
    fn judged(&self) -> Verdict {
        let verdict = self.verdict.unwrap_or(Verdict::Incomplete);
        if self.regressed {
            Verdict::Fail
        } else if self.diff_error.is_some() && verdict == Verdict::Pass {
            Verdict::Incomplete
        } else {
            verdict
        }
    }

    /// The JUnit testcases of the baseline comparison.
    fn baseline_check(&self, asked: &str) -> Option<BaselineCheck> {
        let duts = match (&self.diff, &self.diff_error) {
            (_, Some(why)) => Err(why.clone()),
            (Some(diff), None) => Ok(diff
                .duts
                .iter()
                .map(|d| DutAgainstBaseline {
                    dut: d.dut.clone(),
                    baseline: d.baseline.as_ref().map(|_| match d.baseline_nights.len() {
                        0 | 1 => d.nights_words(),
                        n => format!("{n} good nights ({})", d.nights_words()),
                    }),
                    regressions: d
                        .regressions()
                        .map(|c| format!("{}: {}{}", c.kind.as_str(), c.phase_tag(), c.summary))
                        .collect(),
                })
                .collect()),
            (None, None) => return None,
        };
        Some(BaselineCheck {
            asked: asked.to_string(),
            duts,
        })
    }
}

#[derive(Debug, Serialize)]
struct SuiteReport {
    suite: String,
    verdict: Option<Verdict>,
    runs: Vec<SuiteRun>,
}

/// How the suite as a whole ends.
enum Stop {
    /// Every scenario ran.
    No,
    /// A hardware fault aborted a run: the bench needs a look.
    Aborted,
    Signal(i32),
}

impl SuiteCmd {
    pub async fn run(self, ctx: &Context) -> Result<(), CliError> {
        let config = ctx.load_config()?;
        let suite = suite::load(&self.suite, &config)?;
        if self.dry_run {
            return self.plan(ctx, &suite);
        }
        self.preflight()?;
        tracing::info!(
            "suite \"{}\": {} scenario(s), about {}{}",
            suite.name,
            suite.entries.len(),
            duration::format(suite.nominal_duration()),
            if self.virtual_time {
                " of virtual time"
            } else {
                ""
            }
        );
        let (runs, stop) = if self.virtual_time {
            self.record_virtual(ctx, &config, &suite)?
        } else {
            self.record_live(ctx, &suite).await?
        };
        // The night has run: a file that cannot be written now is said
        // loudly, and the verdict still decides the exit code.
        let mut problems = Vec::new();
        if let Some(path) = &self.junit
            && let Err(e) = self.write_junit(path, &runs)
        {
            problems.push(e.to_string());
        }
        if let Some(into) = &self.artifacts {
            for dir in runs.iter().filter_map(|r| r.dir.as_deref()) {
                if let Err(e) = copy_evidence(dir, into) {
                    problems.push(e.to_string());
                }
            }
        }
        for p in &problems {
            tracing::error!("{p}");
        }
        let worst = worst(&runs);
        let report = SuiteReport {
            suite: suite.name.clone(),
            verdict: worst,
            runs,
        };
        ctx.print(&report, || render(&report));
        match stop {
            Stop::Signal(s) => Err(CliError::Interrupted(s)),
            _ => match worst {
                Some(Verdict::Pass) if !problems.is_empty() => {
                    Err(CliError::Reported(problems.join("; ")))
                }
                Some(Verdict::Pass) => Ok(()),
                Some(v) => Err(CliError::Verdict(v)),
                None => Err(CliError::Reported(
                    "no run of the suite could be analyzed".into(),
                )),
            },
        }
    }

    /// Before anything is switched: every place the suite will write to
    /// can be written, and the history --baseline reads can be read. Found
    /// out after a night on the bench, it would cost the night.
    fn preflight(&self) -> Result<(), CliError> {
        super::writable_dir(&self.out, "--out")?;
        if let Some(into) = &self.artifacts {
            super::writable_dir(into, "--artifacts")?;
        }
        if let Some(path) = &self.junit {
            super::writable_file(path, "--junit")?;
        }
        if self.baseline.is_some() {
            Index::open(&self.out).map_err(|e| {
                CliError::Usage(format!(
                    "--baseline last-pass needs the run history of {}: {e}",
                    self.out.display()
                ))
            })?;
        }
        Ok(())
    }

    fn plan(&self, ctx: &Context, suite: &Suite) -> Result<(), CliError> {
        #[derive(Serialize)]
        struct Planned<'a> {
            scenario: &'a str,
            file: &'a Path,
            nominal_duration_s: f64,
        }
        let planned: Vec<Planned> = suite
            .entries
            .iter()
            .map(|e| Planned {
                scenario: &e.scenario.name,
                file: &e.file,
                nominal_duration_s: e.scenario.nominal_duration().as_secs_f64(),
            })
            .collect();
        ctx.print(&planned, || {
            let rows: Vec<Vec<String>> = planned
                .iter()
                .map(|p| {
                    vec![
                        p.scenario.to_string(),
                        duration::format(std::time::Duration::from_secs_f64(p.nominal_duration_s)),
                        p.file.display().to_string(),
                    ]
                })
                .collect();
            format!(
                "suite \"{}\" ({}): {} scenario(s), about {} if every action is instant\n\n{}",
                suite.name,
                self.suite.display(),
                planned.len(),
                duration::format(suite.nominal_duration()),
                table::render("  ", &["SCENARIO", "ABOUT", "FILE"], &rows)
            )
        });
        Ok(())
    }

    /// On the bench: taken once for the whole suite.
    async fn record_live(
        &self,
        ctx: &Context,
        suite: &Suite,
    ) -> Result<(Vec<SuiteRun>, Stop), CliError> {
        let mut bench = ctx.take_bench().await?;
        let duts: Vec<String> = suite
            .entries
            .iter()
            .flat_map(|e| e.scenario.timelines.iter().map(|t| t.dut.clone()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        super::run::ready_for(&mut bench, &duts)?;
        let mut guard = SafetyGuard::new(&mut bench);
        for e in &suite.entries {
            for timeline in &e.scenario.timelines {
                guard.touch(&timeline.dut);
            }
        }
        let mut runs = Vec::new();
        let mut stop = Stop::No;
        let mut cut_short = false;
        for e in &suite.entries {
            // A stop asked for between two scenarios (while the last one
            // was being analyzed) starts nothing more.
            if let Some(s) = ctx.shutdown.signal() {
                stop = Stop::Signal(s);
            }
            if !matches!(stop, Stop::No) {
                runs.push(not_run(e));
                continue;
            }
            let recorded = record_one(ctx, &mut guard, &e.scenario, &e.file, &self.out).await;
            let Recorded { outcome, findings } = match recorded {
                Ok(r) => r,
                Err(err) => {
                    // The runs before this one stand; the rest is not run.
                    // The error may have cut the runner's safe state short:
                    // the guard, still armed, applies it again when it drops.
                    tracing::error!("{}: {err}", e.file.display());
                    runs.push(failed_to_record(e, None, &err));
                    stop = Stop::Aborted;
                    cut_short = true;
                    continue;
                }
            };
            stop = match &outcome.ending {
                Ending::Finished => Stop::No,
                Ending::Aborted { .. } => Stop::Aborted,
                Ending::Stopped { signal } => Stop::Signal(*signal),
            };
            runs.push(self.ran(e, &outcome.dir, &outcome.ending.to_string(), findings));
        }
        // A stop asked for while the last run was being analyzed.
        if let (Stop::No, Some(s)) = (&stop, ctx.shutdown.signal()) {
            stop = Stop::Signal(s);
        }
        // Every run ended with its DUTs in their safe state (journaled).
        if !cut_short {
            guard.hold();
        }
        Ok((runs, stop))
    }

    /// The simulated lab in virtual time: no lock (nothing is switched).
    fn record_virtual(
        &self,
        ctx: &Context,
        config: &BenchConfig,
        suite: &Suite,
    ) -> Result<(Vec<SuiteRun>, Stop), CliError> {
        let real = config.real_hardware();
        if !real.is_empty() {
            return Err(CliError::Usage(format!(
                "--virtual-time needs a fully simulated bench; bench \"{}\" has real hardware: {}",
                config.name,
                real.join(", ")
            )));
        }
        let mut runs = Vec::new();
        let mut stop = Stop::No;
        for e in &suite.entries {
            if let Some(s) = ctx.shutdown.signal() {
                stop = Stop::Signal(s);
            }
            if !matches!(stop, Stop::No) {
                runs.push(not_run(e));
                continue;
            }
            let options = VirtualOptions {
                started_utc: std::time::SystemTime::now(),
                ..VirtualOptions::new(self.seed)
            };
            let request = RunRequest {
                scenario: &e.scenario,
                scenario_file: Some(&e.file),
                destination: Destination::NewIn(&self.out),
                live: false,
                quiet: true,
            };
            let outcome =
                match runner::run_in_virtual_time(config, request, &options, &ctx.shutdown) {
                    Ok(outcome) => outcome,
                    Err(err) => {
                        // The runs before this one stand; the rest is not run.
                        tracing::error!("{}: recording: {err}", e.file.display());
                        runs.push(failed_to_record(e, None, &format!("recording: {err}")));
                        stop = Stop::Aborted;
                        continue;
                    }
                };
            let dir = outcome.dir;
            let findings = after_recording(&self.out, &dir);
            let ending = match &outcome.ending {
                Ending::Finished => "finished (virtual time)".to_string(),
                Ending::Aborted { reason } => {
                    stop = Stop::Aborted;
                    format!("aborted (virtual time): {reason}")
                }
                Ending::Stopped { signal } => {
                    stop = Stop::Signal(*signal);
                    format!("stopped by signal {signal} (virtual time)")
                }
            };
            tracing::info!(
                "{}: {} s of virtual time recorded in {}",
                e.scenario.name,
                outcome.duration_s,
                dir.display()
            );
            runs.push(self.ran(e, &dir, &ending, findings));
        }
        if let (Stop::No, Some(s)) = (&stop, ctx.shutdown.signal()) {
            stop = Stop::Signal(s);
        }
        Ok((runs, stop))
    }
}

/// The files of a run directory a person opens first, for CI artifacts
/// (the samples and packets stay in the run directory).
const EVIDENCE: [&str; 5] = [
    "report.html",
    "findings.json",
    "run.json",
    "events.jsonl",
    history::BASELINE_FILE,
];

fn copy_evidence(run: &Path, into: &Path) -> Result<(), CliError> {
    let Some(id) = run.file_name() else {
        return Ok(());
    };
    let to = into.join(id);
    std::fs::create_dir_all(&to)
        .map_err(|e| CliError::Usage(format!("cannot make {}: {e}", to.display())))?;
    for name in EVIDENCE {
        let from = run.join(name);
        if from.is_file() {
            std::fs::copy(&from, to.join(name)).map_err(|e| {
                CliError::Usage(format!(
                    "cannot copy {} to {}: {e}",
                    from.display(),
                    to.display()
                ))
            })?;
        }
    }
    Ok(())
}

fn not_run(e: &suite::SuiteEntry) -> SuiteRun {
    unrecorded(e, None, "not run".into())
}

/// A scenario whose recording failed with `err` (no verdict), in `dir` if
/// it got that far (what it holds is named, not left unnamed in --out).
fn failed_to_record(
    e: &suite::SuiteEntry,
    dir: Option<&Path>,
    err: &dyn std::fmt::Display,
) -> SuiteRun {
    unrecorded(e, dir, format!("not recorded: {err}"))
}

fn unrecorded(e: &suite::SuiteEntry, dir: Option<&Path>, ending: String) -> SuiteRun {
    SuiteRun {
        scenario: e.scenario.name.clone(),
        file: e.file.clone(),
        dir: dir.map(Path::to_path_buf),
        ending,
        verdict: None,
        failing: BTreeMap::new(),
        regressed: false,
        diff: None,
        diff_error: None,
        findings: None,
    }
}

impl SuiteCmd {
    /// A run recorded (and analyzed and indexed, if it could be), compared
    /// with its baseline when asked.
    fn ran(
        &self,
        e: &suite::SuiteEntry,
        dir: &Path,
        ending: &str,
        findings: Option<Findings>,
    ) -> SuiteRun {
        let mut run = ran(e, dir, ending, findings);
        if self.baseline.is_some() && run.findings.is_some() {
            match self.against_last_pass(dir) {
                Ok(diff) => {
                    let n = diff.regressions().count();
                    if n > 0 {
                        // In full with the suite's summary at the end.
                        tracing::warn!(
                            "{}: {n} regression(s) against the last passing run",
                            e.scenario.name
                        );
                    }
                    run.regressed = n > 0;
                    run.diff = Some(diff);
                    // The report shows the comparison (baseline.json).
                    let page = dir.join(crate::report::FILE_NAME);
                    if let Err(e) = crate::report::write(dir, run.findings.as_ref(), &page) {
                        tracing::warn!(
                            "{}: the comparison is not in the report: {e}",
                            page.display()
                        );
                    }
                }
                Err(why) => {
                    tracing::error!("{}: {why}", dir.display());
                    run.diff_error = Some(why);
                }
            }
        }
        run
    }

    /// Compare the run in `dir` with its DUTs' last passing runs, and keep
    /// the comparison: in the run directory (baseline.json, evidence and
    /// the source for a rebuilt index) and in the index, where a DUT that
    /// regressed is no one's baseline (else the night after a regression
    /// would compare with it and pass).
    fn against_last_pass(&self, dir: &Path) -> Result<Diff, String> {
        let key = dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{}: not a run directory name", dir.display()))?;
        let mut index = Index::open(&self.out).map_err(|e| e.to_string())?;
        let nights = usize::try_from(self.nights).unwrap_or(history::diff::DEFAULT_NIGHTS);
        let diff = history::diff::compare_over(&index, key, Baseline::LastPass, nights)
            .map_err(|e| format!("cannot compare with the last passing run: {e}"))?;
        history::write_baseline_file(dir, &diff)?;
        let regressed: Vec<String> = diff
            .duts
            .iter()
            .filter(|d| d.regressed())
            .map(|d| d.dut.clone())
            .collect();
        index
            .mark_regressed(key, &regressed)
            .map_err(|e| format!("cannot record the regression in the history: {e}"))?;
        Ok(diff)
    }

    fn write_junit(&self, path: &Path, runs: &[SuiteRun]) -> Result<(), CliError> {
        let asked = self.baseline.as_deref().unwrap_or("last-pass");
        let entries: Vec<junit::SuiteRun> =
            runs.iter()
                .map(|r| match &r.findings {
                    Some(findings) => junit::SuiteRun::Judged {
                        findings,
                        baseline: r.baseline_check(asked),
                    },
                    None => junit::SuiteRun::Unjudged {
                        name: r.dir.as_deref().and_then(Path::file_name).map_or_else(
                            || r.scenario.clone(),
                            |d| d.to_string_lossy().into_owned(),
                        ),
                        why: match &r.dir {
                            None => format!("{}: {}", r.scenario, r.ending),
                            Some(_) => format!(
                                "{}: {}; the recording could not be analyzed",
                                r.scenario, r.ending
                            ),
                        },
                    },
                })
                .collect();
        let xml = junit::render_suite(&entries);
        benchctl_format::write_atomic(path, xml.as_bytes()).map_err(|e| {
            CliError::Usage(format!("cannot write JUnit XML to {}: {e}", path.display()))
        })
    }
}

fn ran(e: &suite::SuiteEntry, dir: &Path, ending: &str, findings: Option<Findings>) -> SuiteRun {
    let failing = findings
        .as_ref()
        .map(|f| {
            f.duts
                .iter()
                .filter(|d| d.verdict == Verdict::Fail)
                .map(|d| {
                    let kinds = d
                        .findings
                        .iter()
                        .filter(|x| x.severity >= benchctl_detect::Severity::Medium)
                        .map(|x| x.kind)
                        .collect();
                    (d.dut.clone(), kinds)
                })
                .collect()
        })
        .unwrap_or_default();
    SuiteRun {
        scenario: e.scenario.name.clone(),
        file: e.file.clone(),
        dir: Some(dir.to_path_buf()),
        ending: ending.to_string(),
        // Not analyzable: as bad as incomplete.
        verdict: Some(findings.as_ref().map_or(Verdict::Incomplete, |f| f.verdict)),
        failing,
        regressed: false,
        diff: None,
        diff_error: None,
        findings,
    }
}

/// Fail over incomplete over pass; a scenario not run makes the suite
/// incomplete at best.
fn worst(runs: &[SuiteRun]) -> Option<Verdict> {
    let vs: Vec<Verdict> = runs.iter().map(SuiteRun::judged).collect();
    [Verdict::Fail, Verdict::Incomplete, Verdict::Pass]
        .into_iter()
        .find(|v| vs.contains(v))
}

/// What failed in a run: failing finding kinds and regressed change kinds,
/// per DUT.
fn failing_cell(r: &SuiteRun) -> String {
    let mut parts: Vec<String> = r
        .failing
        .iter()
        .map(|(dut, kinds)| {
            let kinds: Vec<&str> = kinds.iter().copied().collect();
            format!("{dut}: {}", kinds.join(", "))
        })
        .collect();
    for d in r.diff.iter().flat_map(|diff| &diff.duts) {
        let kinds: Vec<&str> = d
            .regressions()
            .map(|c| c.kind.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !kinds.is_empty() {
            parts.push(format!("{}: regressed ({})", d.dut, kinds.join(", ")));
        }
    }
    parts.join("; ")
}

fn render(report: &SuiteReport) -> String {
    let rows: Vec<Vec<String>> = report
        .runs
        .iter()
        .map(|r| {
            vec![
                r.scenario.clone(),
                match (r.verdict, r.regressed) {
                    (None, _) => "-".into(),
                    (Some(v), false) => format!("{v:?}").to_uppercase(),
                    (Some(v), true) => format!("{v:?}, REGRESSED").to_uppercase(),
                },
                r.ending.clone(),
                failing_cell(r),
                r.dir
                    .as_ref()
                    .map_or("-".into(), |d| d.display().to_string()),
            ]
        })
        .collect();
    // The regressions in full, below the table: what changed and against
    // which run.
    let mut regressions = String::new();
    for diff in report.runs.iter().filter_map(|r| r.diff.as_ref()) {
        if diff.has_regression() {
            regressions.push('\n');
            regressions.push_str(&diff.render());
        }
    }
    for r in &report.runs {
        if let Some(why) = &r.diff_error {
            regressions.push_str(&format!("\n{}: not compared: {why}\n", r.scenario));
        }
    }
    format!(
        "suite \"{}\": {}\n\n{}{regressions}",
        report.suite,
        report
            .verdict
            .map_or("nothing judged".into(), |v| format!("{v:?}").to_uppercase()),
        table::render(
            "  ",
            &["SCENARIO", "VERDICT", "ENDING", "FAILING", "RUN DIRECTORY"],
            &rows
        )
    )
}
