//! `benchctl history`: the runs in a runs folder, newest first, from its
//! index (`<runs>/history.sqlite`); `after_run` indexes what `run` and `suite`
//! just recorded.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, Context, table};
use crate::history::{Index, RunFilter, RunRow};

/// List the runs in a runs folder, newest first: when, scenario, each DUT
/// with its firmware build, verdict and findings.
///
/// Runs are read from the folder's index, <runs>/history.sqlite, which
/// `benchctl run` keeps up to date. Run directories the index does not
/// know yet (recorded by another tool, copied in) are indexed first, which
/// analyzes those without a findings.json. `benchctl diff` compares a run
/// with an earlier one.
///
/// Exit code: 0, or 2 when the runs folder or its index cannot be read.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  benchctl history                          every run in ./runs
  benchctl history --dut phone-a --limit 5  phone-a's last five runs
  benchctl history --scenario nightly --json")]
pub struct History {
    /// The runs folder (where `benchctl run --out` put the runs)
    #[arg(long, value_name = "DIR", default_value = "runs")]
    pub runs: PathBuf,
    /// Only runs with this DUT, and only its line
    #[arg(long, value_name = "DUT")]
    pub dut: Option<String>,
    /// Only runs of this scenario (its name, as in run.json)
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// At most this many runs
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
}

impl History {
    pub fn run(self, ctx: &Context) -> Result<(), CliError> {
        let index = open_and_catch_up(&self.runs)?;
        let rows = index
            .rows(&RunFilter {
                dut: self.dut.clone(),
                scenario: self.scenario.clone(),
                limit: self.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            })
            .map_err(|e| CliError::Usage(e.to_string()))?;
        ctx.print(&rows, || render(&rows, &self.runs, &self.filters()));
        Ok(())
    }
}

/// Open a runs folder's index and index the run directories it lacks
/// (each one that cannot be read is logged and skipped).
pub fn open_and_catch_up(runs: &Path) -> Result<Index, CliError> {
    let mut index = Index::open(runs).map_err(|e| CliError::Usage(e.to_string()))?;
    let caught_up = index
        .index_new_runs()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    for r in &caught_up.added {
        tracing::info!("indexed {}", r.dir);
    }
    for (dir, e) in &caught_up.failed {
        tracing::warn!("{} not indexed: {e}", dir.display());
    }
    Ok(index)
}

/// Index a run `run` or `suite` just recorded. A problem with the index is
/// logged and never changes the run's outcome: the recording is what
/// matters, and the next `benchctl history` indexes it.
pub fn after_run(
    runs: &Path,
    run_dir: &Path,
    findings: Option<&benchctl_detect::analyze::Findings>,
) {
    let Some(findings) = findings else {
        tracing::warn!(
            "{} not added to the run history: it could not be analyzed",
            run_dir.display()
        );
        return;
    };
    match Index::open(runs).and_then(|mut index| index.add_run(run_dir, findings)) {
        Ok(r) => tracing::debug!("run history: indexed {}", r.dir),
        Err(e) => tracing::warn!("{} not added to the run history: {e}", run_dir.display()),
    }
}

impl History {
    /// The filters given, in words (empty: none).
    fn filters(&self) -> String {
        let mut words = Vec::new();
        if let Some(d) = &self.dut {
            words.push(format!("with DUT \"{d}\""));
        }
        if let Some(s) = &self.scenario {
            words.push(format!("of scenario \"{s}\""));
        }
        words.join(" ")
    }
}

fn render(rows: &[RunRow], runs: &Path, filters: &str) -> String {
    if rows.is_empty() {
        return if filters.is_empty() {
            format!("no runs in {}\n", runs.display())
        } else {
            format!("no runs {filters} in {}\n", runs.display())
        };
    }
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let findings = match (r.findings, r.failing) {
                (0, _) => "0".to_string(),
                (n, 0) => format!("{n}"),
                (n, f) => format!("{n} ({f} failing)"),
            };
            vec![
                when(&r.started_utc),
                r.scenario.clone(),
                r.dut.clone(),
                r.build.clone().unwrap_or_else(|| "-".into()),
                match (r.complete, r.regressed) {
                    (true, false) => r.verdict.to_uppercase(),
                    (true, true) => format!("{}, REGRESSED", r.verdict.to_uppercase()),
                    (false, _) => format!("{} (incomplete)", r.verdict.to_uppercase()),
                },
                findings,
                r.dir.clone(),
            ]
        })
        .collect();
    table::render(
        "",
        &[
            "WHEN (UTC)",
            "SCENARIO",
            "DUT",
            "BUILD",
            "VERDICT",
            "FINDINGS",
            "RUN",
        ],
        &table_rows,
    )
}

/// `2026-11-26T15:30:00.000Z` as `2026-11-26 15:30:00`.
fn when(rfc3339: &str) -> String {
    rfc3339
        .get(..19)
        .map_or_else(|| rfc3339.to_string(), |s| s.replace('T', " "))
}
