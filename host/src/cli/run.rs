//! `benchctl run <scenario.toml>`: put the DUTs through a scenario.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{CliError, Context, table};
use crate::config::duration;
use crate::scenario::{self, Scenario, StepKind};

/// Run a scenario on the bench.
///
/// The scenario is checked against the bench first (file:line:col errors,
/// exit 2, nothing switched). --dry-run prints the timeline of every DUT
/// on one run clock and touches no hardware.
#[derive(Debug, Args)]
pub struct Run {
    /// The scenario file, e.g. scenarios/backdoor-hunt.toml
    pub scenario: PathBuf,
    /// Check the scenario and print its timeline; switch nothing
    #[arg(long)]
    pub dry_run: bool,
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
}

impl Run {
    pub async fn run(self, ctx: &Context) -> Result<(), CliError> {
        let bench = ctx.load_config()?;
        let scenario = scenario::load(&self.scenario, &bench)?;
        if !self.dry_run {
            return Err(CliError::Usage(
                "recording runs are not built yet: `--dry-run` checks the scenario and prints its timeline".into(),
            ));
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
        let plan = Plan {
            scenario: &scenario,
            nominal_duration_s: scenario.nominal_duration().as_secs_f64(),
            timeline,
        };
        ctx.print(&plan, || render(&plan, &self.scenario));
        Ok(())
    }
}

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
                    serde_json::to_string(expect).expect("expect serializes"),
                ),
            };
            vec![
                format!("{:.1}s", p.t),
                p.dut.to_string(),
                what,
                detail,
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
