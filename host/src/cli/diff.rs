//! `benchctl diff <RUN>`: what changed since a baseline, per DUT.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, Context};
use crate::history::{Baseline, Index, diff};

/// Say what changed between a run and its baseline nights, per DUT, and
/// whether it is a regression.
///
/// The baseline is by default, per DUT, its last good nights (`last-pass`,
/// --nights, default 7): complete earlier runs of the same scenario on the
/// same bench in which that DUT passed and did not regress in a `suite
/// --baseline` night; or any one run given by its directory or run id.
/// Compared: the firmware build (a change is reported, not a regression),
/// and the emission profile per phase: destinations contacted and the bytes
/// and packets sent to each, DNS names and their registrable domains,
/// periodic flows (timers) and their periods, per RF channel the bursts a
/// minute, on-air time, transmission length and level, the supply
/// current's median, mean and high percentiles, and finding kinds. What any
/// baseline night did (or a run whose regressions were accepted) is
/// known; each number is judged against the spread it shows across the
/// baseline nights. What moved beyond its noise rule is a regression, even
/// when no finding crossed its threshold; each change says which measure
/// moved, from what to what. README "History and regression" has the
/// rules and the numbers measured on honest nights.
///
/// Both runs are taken from the runs folder's index (<runs>/history.sqlite),
/// indexed first if they are not in it; a run directory from outside the
/// folder is indexed for this comparison only.
///
/// Exit code: 0 no regression (also when there is nothing to compare
/// with), 1 at least one regression, 2 a run that is not there or an index
/// that cannot be read.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  benchctl diff runs/20261127T010000Z-nightly   each DUT against its last 7 good nights
  benchctl diff runs/20261127T010000Z-nightly --nights 14
  benchctl diff 20261127T010000Z-nightly --baseline 20261120T010000Z-nightly
  benchctl diff runs/20261127T010000Z-nightly --json | jq '.duts[].changes'")]
pub struct Diff {
    /// The run: its directory, or its name or run id in the runs folder
    pub run: String,
    /// What to compare with: `last-pass`, or a run (directory, name or run id)
    #[arg(long, value_name = "RUN|last-pass", default_value = "last-pass")]
    pub baseline: Baseline,
    /// With `last-pass`: judge each DUT against up to N of its last good
    /// nights
    #[arg(long, value_name = "N", default_value_t = crate::history::diff::DEFAULT_NIGHTS as u64,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub nights: u64,
    /// The runs folder [default: the run directory's parent, else ./runs]
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
    /// The run's regressions were expected (a firmware meant to change):
    /// record them as accepted, so the run can be the next nights' baseline
    /// (a regressed run never is otherwise). Exits 0
    #[arg(long)]
    pub accept: bool,
}

impl Diff {
    pub fn run(self, ctx: &Context) -> Result<(), CliError> {
        let given = Path::new(&self.run);
        // A path that is not a run directory is a typo, not a run id to
        // look up in ./runs.
        if self.run.contains('/') && !is_run_dir(given) {
            return Err(CliError::Usage(format!(
                "{}: {}; give a run directory, or a run's name or id with --runs DIR",
                self.run,
                if given.is_dir() {
                    "not a run directory (no run.json in it)"
                } else {
                    "no such run directory"
                }
            )));
        }
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
        if !runs.is_dir() {
            return Err(CliError::Usage(format!(
                "no runs folder {} to look up run \"{}\" in; give the run directory's path, or --runs DIR",
                runs.display(),
                self.run
            )));
        }
        let mut index = super::history::open_and_catch_up(&runs)?;
        // A run directory outside the runs folder is indexed for this
        // comparison only: it is not one of the folder's runs, and must not
        // become a last-pass baseline there.
        let mut visitors = Vec::new();
        let diff = self.compare(&mut index, &runs, &mut visitors);
        // Whatever happened, the visitors leave the folder's history.
        for dir in &visitors {
            if let Err(e) = index.forget(dir) {
                tracing::warn!("{dir} stays in the history of {}: {e}", runs.display());
            }
        }
        let diff = diff?;
        ctx.print(&diff, || diff.render());
        match diff.regressions().count() {
            _ if self.accept => Ok(()),
            0 => Ok(()),
            n => Err(CliError::Regression(n)),
        }
    }

    /// Index what needs it (noting visitors from outside the folder as
    /// they are added), compare, and accept if asked.
    fn compare(
        &self,
        index: &mut Index,
        runs: &Path,
        visitors: &mut Vec<String>,
    ) -> Result<crate::history::Diff, CliError> {
        for key in std::iter::once(self.run.as_str()).chain(match &self.baseline {
            Baseline::Run(b) => Some(b.as_str()),
            Baseline::LastPass => None,
        }) {
            visitors.extend(ensure_indexed(index, key, runs)?);
        }
        let nights = usize::try_from(self.nights).unwrap_or(diff::DEFAULT_NIGHTS);
        let diff = diff::compare_over(index, &self.run, self.baseline.clone(), nights)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        if let Baseline::Run(key) = &self.baseline {
            warn_if_unlike(index, &diff, key);
        }
        if self.accept {
            if visitors.contains(&diff.run) {
                return Err(CliError::Usage(format!(
                    "--accept: {} is not one of the runs in {}; only a run of the folder can be its baseline",
                    self.run,
                    runs.display()
                )));
            }
            accept(index, runs, &diff)?;
        }
        Ok(diff)
    }
}

/// Mark run `diff.run`'s regressions as expected: in its baseline.json (so
/// a rebuilt index agrees) and in the index.
fn accept(index: &mut Index, runs: &Path, diff: &crate::history::Diff) -> Result<(), CliError> {
    let file = runs.join(&diff.run).join(crate::history::BASELINE_FILE);
    let mut doc = match benchctl_format::input::read_document(&file) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            CliError::Usage(format!(
                "{}: not valid JSON ({e}); remove it and accept again",
                file.display()
            ))
        })?,
        Err(_) => serde_json::to_value(diff).map_err(|e| CliError::Usage(e.to_string()))?,
    };
    if let serde_json::Value::Object(map) = &mut doc {
        map.insert("accepted".into(), true.into());
    }
    crate::history::write_baseline_file(&runs.join(&diff.run), &doc).map_err(CliError::Usage)?;
    let accepted: Vec<String> = diff
        .duts
        .iter()
        .filter(|d| d.regressed())
        .map(|d| d.dut.clone())
        .collect();
    index
        .accept_regressions(&diff.run, &accepted)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    tracing::info!(
        "{}: its regressions are accepted; it can be the baseline of the nights after it",
        diff.run
    );
    // The report shows the comparison: keep it in step.
    let dir = runs.join(&diff.run);
    if dir.join(crate::report::FILE_NAME).is_file() {
        super::report::after_run(&dir, None);
    }
    Ok(())
}

/// A baseline from another scenario or bench compares different phases
/// and rooms: every difference is then news. Said before the diff.
fn warn_if_unlike(index: &Index, diff: &crate::history::Diff, baseline: &str) {
    if let Ok(Some(b)) = index.run(baseline) {
        if b.scenario != diff.scenario {
            tracing::warn!(
                "the baseline {} is a run of scenario \"{}\", not \"{}\": phases are matched by name, expect changes that are only the scenarios' differences",
                b.dir,
                b.scenario,
                diff.scenario
            );
        }
        if b.bench != diff.bench {
            tracing::warn!(
                "the baseline {} was recorded on bench \"{}\", not \"{}\"",
                b.dir,
                b.bench,
                diff.bench
            );
        }
    }
}

fn is_run_dir(p: &Path) -> bool {
    p.join(benchctl_format::run_json::FILE_NAME).is_file()
}

/// Index run `key` if it is a run directory the index lacks; its name when
/// it lies outside the runs folder `runs` (to forget after the diff).
fn ensure_indexed(index: &mut Index, key: &str, runs: &Path) -> Result<Option<String>, CliError> {
    let usage = |e: crate::history::HistoryError| CliError::Usage(e.to_string());
    let path = Path::new(key);
    let known = index.run(key).map_err(usage)?;
    if let Some(record) = &known
        && is_run_dir(path)
    {
        // A directory outside the folder named like one of its runs: the
        // index would answer with the folder's run, not this one.
        let same = match (path.canonicalize(), runs.join(&record.dir).canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if !same {
            return Err(CliError::Usage(format!(
                "{key}: the history of {} already has a run named {}; compare a copy of this one under another name",
                runs.display(),
                record.dir
            )));
        }
    }
    if known.is_some() || !is_run_dir(path) {
        return Ok(None);
    }
    let record = index.add_run_dir(path).map_err(usage)?;
    let inside = match (path.canonicalize(), runs.canonicalize()) {
        (Ok(p), Ok(r)) => p.parent() == Some(r.as_path()),
        _ => false,
    };
    Ok((!inside).then_some(record.dir))
}
