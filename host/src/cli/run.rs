//! `benchctl run <scenario.toml>`: put the DUTs through a scenario.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::{CliError, Context, table};
use crate::bench::safety::SafetyGuard;
use crate::config::duration;
use crate::hw::HwError;
use crate::runner::{self, Destination, Ending, RunRequest};
use crate::scenario::{self, Scenario, StepKind};

/// Run a scenario on the bench and record it.
///
/// The scenario is checked against the bench first (file:line:col errors,
/// exit 2, nothing switched). Then benchctl takes the bench (see --wait),
/// puts the DUTs through the scenario's steps on one run clock and records
/// what they emit (RF power per band, supply current, every packet on their
/// links) into a new run directory under --out, named by UTC start time and
/// scenario. The directory follows the run directory format (README, "Run
/// directories"). At the end, and on any failure, Ctrl-C or SIGTERM, every
/// DUT goes to its safe state; a run cut short is marked `complete: false`.
///
/// --dry-run prints the timeline of every DUT on one run clock and touches
/// no hardware.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  benchctl run scenarios/backdoor-hunt.toml            the demo, about a minute
  benchctl run scenarios/nightly.toml --out /srv/runs  keep runs elsewhere
  benchctl run scenarios/airplane-silence.toml --dry-run
  benchctl --wait 10m run scenarios/nightly.toml       queue behind another job")]
pub struct Run {
    #[command(flatten)]
    pub lock: super::LockArgs,
    /// The scenario file, e.g. scenarios/backdoor-hunt.toml
    pub scenario: PathBuf,
    /// Check the scenario and print its timeline; switch nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Where run directories go (one new directory per run)
    #[arg(long, value_name = "DIR", default_value = "runs")]
    pub out: PathBuf,
    /// Also write the analysis as JUnit XML here
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Planned<'a> {
    /// Run-clock seconds, if every action were instant.
    t: f64,
    dut: &'a str,
    line: usize,
    #[serde(flatten)]
    step: &'a StepKind,
}

#[derive(Debug, Serialize)]
struct Plan<'a> {
    scenario: &'a Scenario,
    nominal_duration_s: f64,
    timeline: Vec<Planned<'a>>,
    /// What the phases expect that this bench cannot measure.
    warnings: Vec<String>,
}

impl Run {
    pub async fn run(self, ctx: &Context) -> Result<(), CliError> {
        let bench = ctx.load_config()?;
        let scenario = scenario::load(&self.scenario, &bench)?;
        if !self.dry_run {
            return self.record(ctx, &scenario).await;
        }
        let mut timeline: Vec<Planned> = scenario
            .timelines
            .iter()
            .flat_map(|tl| {
                tl.schedule().into_iter().map(|(at, step)| Planned {
                    t: at.as_secs_f64(),
                    dut: &tl.dut,
                    line: step.line,
                    step: &step.kind,
                })
            })
            .collect();
        // One run clock: interleave the DUTs' timelines by time, stable within a DUT.
        timeline.sort_by(|a, b| a.t.total_cmp(&b.t));
        let warnings = scenario::unmeasured(&scenario, &bench);
        for w in &warnings {
            tracing::warn!("{w}");
        }
        let plan = Plan {
            scenario: &scenario,
            nominal_duration_s: scenario.nominal_duration().as_secs_f64(),
            timeline,
            warnings,
        };
        ctx.print(&plan, || render(&plan, &self.scenario));
        Ok(())
    }
}

impl Run {
    async fn record(&self, ctx: &Context, scenario: &Scenario) -> Result<(), CliError> {
        // Where results go can be written, before the bench is taken.
        super::writable_dir(&self.out, "--out")?;
        if let Some(path) = &self.junit {
            super::writable_file(path, "--junit")?;
        }
        let mut bench = ctx.take_bench().await?;
        let duts: Vec<String> = scenario.timelines.iter().map(|t| t.dut.clone()).collect();
        ready_for(&mut bench, &duts)?;
        for w in scenario::unmeasured(scenario, bench.config()) {
            tracing::warn!("{w}");
        }
        let mut guard = SafetyGuard::new(&mut bench);
        for timeline in &scenario.timelines {
            guard.touch(&timeline.dut);
        }
        let recorded = record_one(ctx, &mut guard, scenario, &self.scenario, &self.out).await;
        // After a recording the runner has driven every DUT to its safe
        // state and journaled it; the guard stays armed for a panic on the
        // way here and for an error, which may have cut that short (it
        // applies the safe state again when it drops).
        let Recorded { outcome, findings } = recorded?;
        guard.hold();
        if let (Some(path), Some(f)) = (&self.junit, &findings) {
            super::analyze::write_junit(path, std::slice::from_ref(f))?;
        }
        #[derive(Serialize)]
        struct Done<'a> {
            #[serde(flatten)]
            outcome: &'a runner::RunOutcome,
            findings: Option<&'a benchctl_detect::analyze::Findings>,
        }
        ctx.print(
            &Done {
                outcome: &outcome,
                findings: findings.as_ref(),
            },
            || {
                let summary = findings
                    .as_ref()
                    .map(benchctl_detect::analyze::summary::render)
                    .unwrap_or_default();
                format!("{summary}{}\n", outcome.dir.display())
            },
        );
        exit_for(&outcome.ending, findings.as_ref(), &outcome.dir)
    }
}

/// Before anything is switched or recorded: every device the DUTs are
/// wired to opens and answers (what `doctor` checks). A bench that cannot
/// drive its DUTs is refused (exit 3) with each problem and its fix,
/// instead of recording a run it cannot carry out.
pub(super) fn ready_for(bench: &mut crate::bench::Bench, duts: &[String]) -> Result<(), CliError> {
    let problems: Vec<String> = bench
        .probe_for(duts)
        .into_iter()
        .flat_map(|p| {
            p.checks
                .into_iter()
                .filter(|c| c.level == crate::hw::CheckLevel::Fail)
                .map(move |c| match &c.fix {
                    Some(fix) => format!("{}: {} (fix: {fix})", p.subject, c.message),
                    None => format!("{}: {}", p.subject, c.message),
                })
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    for p in &problems {
        tracing::error!("{p}");
    }
    Err(CliError::Reported(format!(
        "the bench cannot drive {}: {} (nothing was switched; `benchctl doctor` checks the whole bench)",
        duts.join(", "),
        problems.join("; ")
    )))
}

/// A run recorded and analyzed: what `run` and `suite` make of a scenario.
pub(super) struct Recorded {
    pub outcome: runner::RunOutcome,
    /// None when the recording could not be analyzed (logged).
    pub findings: Option<benchctl_detect::analyze::Findings>,
}

/// Put the DUTs through `scenario` on a bench already taken, record it
/// into a new directory under `out` and analyze it (findings.json).
pub(super) async fn record_one(
    ctx: &Context,
    guard: &mut SafetyGuard<'_>,
    scenario: &Scenario,
    scenario_file: &Path,
    out: &Path,
) -> Result<Recorded, CliError> {
    tracing::info!(
        "running \"{}\" on bench \"{}\" (about {})",
        scenario.name,
        guard.config().name,
        duration::format(scenario.nominal_duration())
    );
    let outcome = runner::run(
        guard,
        RunRequest {
            scenario,
            scenario_file: Some(scenario_file),
            destination: Destination::NewIn(out),
            live: !ctx.global.json,
            quiet: ctx.global.quiet,
        },
        &ctx.shutdown,
    )
    .await
    .map_err(|e| CliError::Hw(HwError::new("run", e.to_string())))?;
    // Judge what was recorded, whatever the ending: a run cut short
    // still shows what happened up to then.
    let findings = after_recording(out, &outcome.dir);
    if !ctx.global.quiet {
        tracing::info!(
            "{} in {:.1}s: {} frames ({} lost), {} packets, {} faults; steps late by p50 {:.1} ms, p99 {:.1} ms",
            outcome.ending,
            outcome.duration_s,
            outcome.frames,
            outcome.frames_lost,
            outcome.packets,
            outcome.faults,
            outcome.step_timing.p50_ms,
            outcome.step_timing.p99_ms,
        );
    }
    Ok(Recorded { outcome, findings })
}

/// What follows every recording into `dir` under the runs folder `out`,
/// live or in virtual time: the analysis (findings.json), the report
/// (report.html) and the entry in the run history (`out`/history.sqlite).
/// None when it could not be analyzed (logged).
pub(super) fn after_recording(
    out: &Path,
    dir: &Path,
) -> Option<benchctl_detect::analyze::Findings> {
    let findings = match super::analyze::analyze_and_keep(dir) {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::error!("analysis of {}: {e}", dir.display());
            None
        }
    };
    super::report::after_run(dir, findings.as_ref());
    super::history::after_run(out, dir, findings.as_ref());
    findings
}

/// The command's result for a run that ended `ending` with `findings`:
/// the verdict when every step ran, else how it stopped.
pub(super) fn exit_for(
    ending: &Ending,
    findings: Option<&benchctl_detect::analyze::Findings>,
    dir: &Path,
) -> Result<(), CliError> {
    match ending {
        Ending::Finished => match findings.map(|f| f.verdict) {
            Some(benchctl_detect::analyze::Verdict::Pass) => Ok(()),
            Some(v) => Err(CliError::Verdict(v)),
            None => Err(CliError::Reported(format!(
                "the run finished but its recording could not be analyzed: {}",
                dir.display()
            ))),
        },
        Ending::Stopped { signal } => Err(CliError::Interrupted(*signal)),
        Ending::Aborted { reason } => Err(CliError::Reported(format!(
            "run aborted: {reason}; the recording so far is in {}",
            dir.display()
        ))),
    }
}

/// The widest the dry run's DETAIL column gets: a long allowlist is cut,
/// the table stays readable in a terminal.
const DETAIL_WIDTH: usize = 72;

fn render(plan: &Plan, path: &std::path::Path) -> String {
    let s = plan.scenario;
    let mut out = format!(
        "scenario \"{}\" ({}), {} DUT(s), about {} if every action is instant; on a fault: {:?}\n",
        s.name,
        path.display(),
        s.timelines.len(),
        duration::format(s.nominal_duration()),
        s.on_fault
    )
    .replace("Abort", "abort")
    .replace("Continue", "continue");
    if let Some(d) = &s.description {
        out.push_str(&format!("  {d}\n"));
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = plan
        .timeline
        .iter()
        .map(|p| {
            let (what, detail) = match p.step {
                StepKind::Action { action } => (
                    action.name().to_string(),
                    action.detail().unwrap_or_default(),
                ),
                StepKind::Wait { duration: d } => ("wait".into(), duration::format(*d)),
                StepKind::Mark { text } => ("mark".into(), text.clone()),
                StepKind::Phase { name, expect } => (
                    format!("phase {name}"),
                    crate::scenario::expect_words(expect),
                ),
            };
            vec![
                format!("{:.1}s", p.t),
                p.dut.to_string(),
                what,
                super::text::cut(&detail, DETAIL_WIDTH).into_owned(),
                format!("line {}", p.line),
            ]
        })
        .collect();
    out.push_str(&table::render(
        "  ",
        &["T", "DUT", "STEP", "DETAIL", "WHERE"],
        &rows,
    ));
    out
}
