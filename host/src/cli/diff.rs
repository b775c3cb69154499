//! `benchctl diff <RUN>`: what changed since a baseline, per DUT.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, Context};
use crate::history::{Baseline, Index, diff};

/// Say what changed between a run and a baseline, per DUT, and whether it
/// is a regression.
///
/// The baseline is by default, per DUT, the last complete earlier run of
/// the same scenario on the same bench in which that DUT passed
/// (`last-pass`); or any run given by its directory or run id. Compared:
/// the firmware build (a change is reported, not a regression), and the
/// emission profile per phase: destinations contacted, periodic flows
/// (timers), RF bursts per minute per channel, supply current, and finding
/// kinds. New destinations, new timers, clearly more bursts, clearly
/// higher current and new failing findings are regressions, even when no
/// finding crossed its threshold. README "History and regression" has the
/// thresholds.
///
/// Both runs are taken from the runs folder's index (<runs>/history.sqlite),
/// indexed first if they are not in it.
///
/// Exit code: 0 no regression (also when there is nothing to compare
/// with), 1 at least one regression, 2 a run that is not there or an index
/// that cannot be read.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  benchctl diff runs/20261127T010000Z-nightly   each DUT against its last passing night
  benchctl diff 20261127T010000Z-nightly --baseline 20261120T010000Z-nightly
  benchctl diff runs/20261127T010000Z-nightly --json | jq '.duts[].changes'")]
pub struct Diff {
    /// The run: its directory, or its name or run id in the runs folder
    pub run: String,
    /// What to compare with: `last-pass`, or a run (directory, name or run id)
    #[arg(long, value_name = "RUN|last-pass", default_value = "last-pass")]
    pub baseline: Baseline,
    /// The runs folder [default: the run directory's parent, else ./runs]
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
}

impl Diff {
    pub fn run(self, ctx: &Context) -> Result<(), CliError> {
        let given = Path::new(&self.run);
        let runs = self.runs.clone().unwrap_or_else(|| {
            if is_run_dir(given) {
                given
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            } else {
                PathBuf::from("runs")
            }
        });
        let mut index = super::history::open_and_catch_up(&runs)?;
        // A run directory outside the runs folder is indexed where it is.
        for key in std::iter::once(self.run.as_str()).chain(match &self.baseline {
            Baseline::Run(b) => Some(b.as_str()),
            Baseline::LastPass => None,
        }) {
            ensure_indexed(&mut index, key)?;
        }
        let diff = diff::compare(&index, &self.run, self.baseline.clone())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        ctx.print(&diff, || diff.render());
        if diff.has_regression() {
            // A regression is the bench's answer, as a failing verdict is.
            Err(CliError::Verdict(crate::analyze::Verdict::Fail))
        } else {
            Ok(())
        }
    }
}

fn is_run_dir(p: &Path) -> bool {
    p.join(crate::record::run_json::FILE_NAME).is_file()
}

fn ensure_indexed(index: &mut Index, key: &str) -> Result<(), CliError> {
    let usage = |e: crate::history::HistoryError| CliError::Usage(e.to_string());
    let path = Path::new(key);
    let known = index.run(key).map_err(usage)?.is_some();
    if !known && is_run_dir(path) {
        index.add_run_dir(path).map_err(usage)?;
    }
    Ok(())
}
