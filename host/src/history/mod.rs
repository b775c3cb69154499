//! Run history: every run in a runs folder indexed in one SQLite file
//! (`<runs>/history.sqlite`), and what changed between a run and a baseline.
//!
//! - `index.rs`: the file, its schema (versioned, migrated in place) and the
//!   queries `benchctl history` and `diff` need;
//! - `profile.rs`: a DUT's emission profile per phase, computed from a run
//!   directory with the analyzer's own pieces;
//! - `diff.rs`: the comparison, and what counts as a regression.
//!
//! The index only ever holds what can be computed again from the run
//! directories, so a damaged index is never lost data: move it aside and
//! the next `benchctl history` indexes the folder anew.

pub mod diff;
pub mod index;
pub mod profile;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use diff::{Baseline, Change, ChangeKind, Diff, DutDiff, compare};
pub use index::{CatchUp, Index, RunFilter, RunRecord, RunRow};
pub use profile::{DutProfile, PhaseProfile, RunProfile};

/// The index's file name inside the runs folder.
pub const FILE_NAME: &str = "history.sqlite";

/// True for a runs folder's history index: what `runs/*` also matches
/// beside the run directories, and commands that take run directories
/// pass over (said at debug level).
pub fn is_index_file(path: &Path) -> bool {
    let skip = path.is_file() && path.file_name() == Some(std::ffi::OsStr::new(FILE_NAME));
    if skip {
        tracing::debug!(
            "{}: the run history, not a run; passed over",
            path.display()
        );
    }
    skip
}

/// In a run directory: the run compared with its baseline, written by
/// `suite --baseline` (a [`Diff`] as JSON, plus `"accepted": true` once
/// `diff --accept` said the regressions were expected). The index reads
/// which DUTs regressed from it, so a rebuilt index still knows.
pub const BASELINE_FILE: &str = "baseline.json";

/// Write `run_dir`'s [`BASELINE_FILE`]: a [`Diff`], or one marked
/// accepted. The error is in words.
pub fn write_baseline_file(run_dir: &Path, doc: &impl Serialize) -> Result<(), String> {
    let file = run_dir.join(BASELINE_FILE);
    let json = serde_json::to_vec_pretty(doc).map_err(|e| e.to_string())?;
    benchctl_format::write_atomic(&file, &json)
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
}

/// What `run_dir`'s [`BASELINE_FILE`] says of its DUTs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaselineMarks {
    /// The DUTs that regressed against their baseline (none once the
    /// regressions were accepted).
    pub regressed: Vec<String>,
    /// The DUTs whose regressions a lab accepted (`"accepted": true`).
    pub accepted: Vec<String>,
}

/// The DUTs `run_dir`'s [`BASELINE_FILE`] says regressed (none without
/// one, or when its regressions were accepted: `"accepted": true`).
pub fn regressed_duts(run_dir: &Path) -> Result<Vec<String>, HistoryError> {
    Ok(baseline_marks(run_dir)?.regressed)
}

/// Which DUTs `run_dir`'s [`BASELINE_FILE`] says regressed, and which
/// had their regressions accepted (nothing without one).
pub fn baseline_marks(run_dir: &Path) -> Result<BaselineMarks, HistoryError> {
    #[derive(Deserialize)]
    struct Kept {
        #[serde(flatten)]
        diff: Diff,
        #[serde(default)]
        accepted: bool,
    }
    let path = run_dir.join(BASELINE_FILE);
    let bytes = match benchctl_format::input::read_document(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BaselineMarks::default()),
        Err(e) => {
            return Err(HistoryError::Baseline {
                path,
                why: e.to_string(),
            });
        }
    };
    let kept: Kept = serde_json::from_slice(&bytes).map_err(|e| HistoryError::Baseline {
        path: path.clone(),
        why: e.to_string(),
    })?;
    let regressed: Vec<String> = kept
        .diff
        .duts
        .into_iter()
        .filter(DutDiff::regressed)
        .map(|d| d.dut)
        .collect();
    Ok(if kept.accepted {
        BaselineMarks {
            regressed: Vec::new(),
            accepted: regressed,
        }
    } else {
        BaselineMarks {
            regressed,
            accepted: Vec::new(),
        }
    })
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{}: no such runs folder", .0.display())]
    NoRunsFolder(PathBuf),
    /// The file is there but SQLite cannot use it (not a database, damaged,
    /// or unreadable for this user).
    #[error(
        "{}: not a usable run history ({source}); it only holds what the run directories hold: move it aside and `benchctl history` rebuilds it",
        path.display()
    )]
    Unreadable {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{}: written by a newer benchctl (schema version {found}, this one knows up to {known})",
        path.display()
    )]
    Newer {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{}: {source}", path.display())]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Read(#[from] benchctl_format::read::ReadError),
    #[error(transparent)]
    Analyze(#[from] benchctl_detect::analyze::AnalyzeError),
    #[error("{}: not valid findings ({source}); run `benchctl analyze` on the run again", path.display())]
    Findings {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("no run \"{0}\" in the history (a run directory's name or run id, or a path to one)")]
    NoSuchRun(String),
    #[error("{}: not a readable baseline comparison ({why}); remove it and index the run again", path.display())]
    Baseline { path: PathBuf, why: String },
    /// Copies of one run (a run directory copied in under another name)
    /// share its run id: which one is meant must be said.
    #[error("run id \"{0}\" names {n} run directories: {list}; give the directory's name instead", n = .1.len(), list = .1.join(", "))]
    AmbiguousRunId(String, Vec<String>),
}

/// A finding as the history keeps it (findings.md's keys, the ones a
/// comparison needs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    pub kind: String,
    /// "low", "medium", "high".
    pub severity: String,
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub score: f64,
    #[serde(default)]
    pub start_s: Option<f64>,
    #[serde(default)]
    pub summary: String,
}

impl FindingRecord {
    /// Medium and high fail a DUT (findings.md).
    pub fn fails(&self) -> bool {
        matches!(self.severity.as_str(), "medium" | "high")
    }
}

/// One DUT's verdict and findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DutVerdict {
    pub dut: String,
    pub verdict: String,
    #[serde(default)]
    pub findings: Vec<FindingRecord>,
}

/// A run's verdicts: from the analysis just made, or read back from the
/// run's findings.json (written by any benchctl, or another tool).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunVerdict {
    pub verdict: String,
    #[serde(default)]
    pub duts: Vec<DutVerdict>,
}

impl From<&benchctl_detect::analyze::Findings> for RunVerdict {
    fn from(f: &benchctl_detect::analyze::Findings) -> Self {
        let word = |v: benchctl_detect::analyze::Verdict| {
            serde_json::to_value(v)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        RunVerdict {
            verdict: word(f.verdict),
            duts: f
                .duts
                .iter()
                .map(|d| DutVerdict {
                    dut: d.dut.clone(),
                    verdict: word(d.verdict),
                    findings: d
                        .findings
                        .iter()
                        .map(|x| FindingRecord {
                            kind: x.kind.to_string(),
                            severity: serde_json::to_value(x.severity)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default(),
                            phase: x.phase.clone(),
                            channel: x.channel.clone(),
                            score: x.score,
                            start_s: Some(x.start_s),
                            summary: x.summary.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl RunVerdict {
    /// `<dir>/findings.json`, if the run was analyzed; else analyze it now
    /// (without writing findings.json: the run may belong to someone else).
    pub fn of_run(dir: &Path) -> Result<Self, HistoryError> {
        let path = dir.join(benchctl_detect::analyze::FILE_NAME);
        match benchctl_format::input::read_document(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| HistoryError::Findings { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(RunVerdict::from(&benchctl_detect::analyze::analyze(dir)?))
            }
            Err(e) => Err(benchctl_format::read::ReadError::Io { path, source: e }.into()),
        }
    }
}
