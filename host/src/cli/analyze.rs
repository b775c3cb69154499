//! `benchctl analyze <RUN_DIR|FILE.pcap|FILE.pcapng>...`: findings per DUT.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, Context};
use benchctl_detect::analyze::junit::SuiteRun;
use benchctl_detect::analyze::{self, Findings, Verdict};

/// Look for covert behaviour in recordings and judge each DUT.
///
/// Takes run directories (any that follows the run directory format,
/// whoever wrote it: recording-format.md) and bare packet captures
/// (.pcap/.pcapng: each interface is judged as a DUT with no phases). For
/// a run directory the findings also go to <RUN_DIR>/findings.json (the
/// format is findings.md; a read-only directory is still judged, with a
/// warning; --no-write judges without writing). A run is incomplete when it was cut short or when something
/// its phases expect was not measured; the summary says what.
///
/// Exit code, over all inputs: 1 if any DUT fails (even if another input
/// could not be read: a failing phone is a definite answer), else 2 if an
/// input cannot be read, else 3 if a run was incomplete, else 0.
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
    /// Judge without writing findings.json into the run directories (an
    /// archive, someone else's recording, a fixture under version control)
    #[arg(long)]
    pub no_write: bool,
}

impl Analyze {
    pub fn run(self, ctx: &Context) -> Result<(), CliError> {
        // In input order; Err: could not be read, and why.
        let mut outcomes: Vec<(String, Result<Findings, String>)> = Vec::new();
        // `runs/*` also matches the runs folder's history index.
        for input in self
            .inputs
            .iter()
            .filter(|p| !crate::history::is_index_file(p))
        {
            let name = input.display().to_string();
            match analyze::analyze(input) {
                Ok(f) => {
                    // The verdict stands without its copy on disk (an
                    // archive mounted read-only is still worth judging).
                    if input.is_dir()
                        && !self.no_write
                        && let Err(e) = analyze::write(input, &f)
                    {
                        tracing::warn!("{e}: the verdict below is not kept in the run directory");
                    }
                    ctx.print_line(&f, || analyze::summary::render(&f));
                    outcomes.push((name, Ok(f)));
                }
                Err(e) => {
                    tracing::error!("{e}");
                    outcomes.push((name, Err(e.to_string())));
                }
            }
        }
        if outcomes.is_empty() {
            return Err(CliError::Usage(
                "nothing to analyze: history.sqlite is a runs folder's history, not a run".into(),
            ));
        }
        if let Some(path) = &self.junit {
            // An input that could not be read is a testsuite in error, so
            // CI shows the hole instead of a shorter, green report.
            let runs: Vec<SuiteRun> = outcomes
                .iter()
                .map(|(name, outcome)| match outcome {
                    Ok(findings) => SuiteRun::Judged {
                        findings,
                        baseline: None,
                    },
                    Err(why) => SuiteRun::Unjudged {
                        name: name.clone(),
                        why: format!("could not be analyzed: {why}"),
                    },
                })
                .collect();
            write_junit_file(path, &analyze::junit::render_suite(&runs))?;
        }
        let mut results = Vec::new();
        let mut unreadable = Vec::new();
        for (name, outcome) in outcomes {
            match outcome {
                Ok(f) => results.push(f),
                Err(_) => unreadable.push(name),
            }
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
    write_junit_file(path, &analyze::junit::render(runs))
}

fn write_junit_file(path: &Path, xml: &str) -> Result<(), CliError> {
    benchctl_format::write_atomic(path, xml.as_bytes())
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
