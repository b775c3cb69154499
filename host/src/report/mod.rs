//! The HTML report of a run directory: `<RUN_DIR>/report.html`, one
//! self-contained file (inline CSS, SVG and a few lines of script; no
//! network, no external fonts) that lab engineers open from a mail or a CI
//! artifact and look at before they read a table.
//!
//! - `data.rs`: the run directory read in one streaming pass per file (two
//!   over the packets, to pick their rows; memory flat in the run's length);
//! - `envelope.rs`: min/max per pixel column, so no burst is lost;
//! - `plot.rs`: one DUT's figure (phases, RF, current, packets, findings);
//! - `html.rs`: the page, the header and the findings table;
//! - `svg.rs`: escaping and SVG elements.

pub mod data;
pub mod envelope;
pub mod html;
pub mod plot;
pub mod svg;

use std::path::{Path, PathBuf};

use benchctl_detect::analyze::Findings;
use benchctl_format::read::ReadError;

/// The report's name in a run directory.
pub const FILE_NAME: &str = "report.html";

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{}: not a directory; a report is made from a run directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The report of the run directory `dir` as HTML. `findings`: an analysis
/// the caller already has; without it findings.json is read, or the run is
/// analyzed now.
pub fn render(dir: &Path, findings: Option<&Findings>) -> Result<String, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::NotADirectory(dir.to_path_buf()));
    }
    let run = data::load(dir, findings)?;
    Ok(html::page(&run))
}

/// Render and write the report to `out` (atomically: a half-written report
/// never replaces a whole one).
pub fn write(dir: &Path, findings: Option<&Findings>, out: &Path) -> Result<(), ReportError> {
    let page = render(dir, findings)?;
    benchctl_format::write_atomic(out, page.as_bytes()).map_err(|source| ReportError::Write {
        path: out.to_path_buf(),
        source,
    })
}
