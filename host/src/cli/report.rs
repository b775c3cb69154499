//! `benchctl report <RUN_DIR>...`: the HTML report of recorded runs.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, Context};
use crate::report;
use benchctl_detect::analyze::Findings;

/// Write an HTML report of each run directory: <RUN_DIR>/report.html.
///
/// One self-contained file per run (no network, nothing external): the
/// verdict per DUT, RF power per channel, supply current and packets per
/// peer on one time axis with the phases shaded, the findings marked where
/// they happened, and a table of the findings with their evidence. Uses
/// findings.json when the run has one, else analyzes the run first.
/// `benchctl run` writes the report itself.
///
/// Exit code: 0 when every report was written, 2 if a run directory cannot
/// be read or a report cannot be written.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  benchctl report runs/20261126T153000Z-backdoor-hunt
  benchctl report runs/*                                 one report.html in each
  benchctl report runs/20261127T010000Z-nightly --out /tmp/night.html   elsewhere (one run only)")]
pub struct Report {
    /// Run directories
    #[arg(required = true, value_name = "RUN_DIR")]
    pub runs: Vec<PathBuf>,
    /// Write the report here instead of <RUN_DIR>/report.html (one run only)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl Report {
    pub fn run(self, ctx: &Context) -> Result<(), CliError> {
        if self.out.is_some() && self.runs.len() > 1 {
            return Err(CliError::Usage(format!(
                "--out names one file, and {} run directories were given; leave --out out to write report.html into each",
                self.runs.len()
            )));
        }
        let mut failed = Vec::new();
        // `runs/*` also matches the runs folder's history index.
        for dir in self
            .runs
            .iter()
            .filter(|p| !crate::history::is_index_file(p))
        {
            let out = self
                .out
                .clone()
                .unwrap_or_else(|| dir.join(report::FILE_NAME));
            match report::write(dir, None, &out) {
                Ok(()) => ctx.print_line(&serde_json::json!({ "run": dir, "report": out }), || {
                    format!("{}\n", out.display())
                }),
                Err(e) => {
                    tracing::error!("no report for {}: {e}", dir.display());
                    failed.push(dir.display().to_string());
                }
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(CliError::Usage(format!(
                "could not write a report for {}",
                failed.join(", ")
            )))
        }
    }
}

/// After `benchctl run`: write `<dir>/report.html` from the run's own
/// findings. A report that cannot be written is logged, never fatal: the
/// recording and its verdict are what the run's exit code speaks of.
pub fn after_run(dir: &Path, findings: Option<&Findings>) {
    let out = dir.join(report::FILE_NAME);
    match report::write(dir, findings, &out) {
        Ok(()) => tracing::info!("report: {}", out.display()),
        Err(e) => tracing::error!("no report for {}: {e}", dir.display()),
    }
}
