//! `benchctl analyze <RUN_DIR|FILE.pcap|FILE.pcapng>...`: findings per DUT.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, Context};
use crate::analyze::{self, Findings, Verdict};

/// Look for covert behaviour in recordings and judge each DUT.
///
/// Takes run directories (any that follows the run directory format,
/// whoever wrote it) and bare packet captures (.pcap/.pcapng: each
/// interface is judged as a DUT with no phases). For a run directory the
/// findings also go to <RUN_DIR>/findings.json.
///
/// Exit code: 1 if any DUT fails, 2 if an input cannot be read, 3 if a
/// run was incomplete and nothing failed, 0 if everything passes.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  benchctl analyze runs/20261126T153000Z-backdoor-hunt
  benchctl analyze runs/* --junit analysis.xml        one JUnit testsuite per run
  benchctl analyze capture.pcapng --json              findings.json documents, one per line")]
pub struct Analyze {
    /// Run directories or .pcap/.pcapng files
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Also write JUnit XML here (one testsuite per input)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

impl Analyze {
    pub fn run(self, ctx: &Context) -> Result<(), CliError> {
        let mut results = Vec::new();
        let mut unreadable = Vec::new();
        // `runs/*` also matches the runs folder's history index.
        for input in self
            .inputs
            .iter()
            .filter(|p| !crate::history::is_index_file(p))
        {
            match analyze_and_keep(input) {
                Ok(f) => {
                    ctx.print_line(&f, || analyze::summary::render(&f));
                    results.push(f);
                }
                Err(e) => {
                    tracing::error!("{e}");
                    unreadable.push(input.display().to_string());
                }
            }
        }
        if results.is_empty() && unreadable.is_empty() {
            return Err(CliError::Usage(
                "nothing to analyze: history.sqlite is a runs folder's history, not a run".into(),
            ));
        }
        if let Some(path) = &self.junit {
            write_junit(path, &results)?;
        }
        let worst = worst(&results);
        match (worst, unreadable.is_empty()) {
            (Some(Verdict::Fail), _) => Err(CliError::Verdict(Verdict::Fail)),
            (_, false) => Err(CliError::Usage(format!(
                "could not analyze {}",
                unreadable.join(", ")
            ))),
            (Some(Verdict::Incomplete), true) => Err(CliError::Verdict(Verdict::Incomplete)),
            _ => Ok(()),
        }
    }
}

/// Analyze `input`; for a run directory, also write its findings.json.
pub fn analyze_and_keep(input: &Path) -> Result<Findings, analyze::AnalyzeError> {
    let findings = analyze::analyze(input)?;
    if input.is_dir() {
        analyze::write(input, &findings)?;
    }
    Ok(findings)
}

pub fn write_junit(path: &Path, runs: &[Findings]) -> Result<(), CliError> {
    crate::state::write_atomic(path, analyze::junit::render(runs).as_bytes())
        .map_err(|e| CliError::Usage(format!("cannot write JUnit XML to {}: {e}", path.display())))
}

/// The verdict that decides the exit code: fail over incomplete over pass.
pub fn worst(results: &[Findings]) -> Option<Verdict> {
    let vs = results.iter().map(|f| f.verdict);
    vs.clone()
        .find(|v| *v == Verdict::Fail)
        .or_else(|| vs.clone().find(|v| *v == Verdict::Incomplete))
        .or_else(|| vs.clone().next())
}
