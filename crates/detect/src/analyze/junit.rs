//! JUnit XML for CI: one `<testsuite>` per analyzed run, one `<testcase>`
//! per DUT and phase expectation and per covert-pattern check, failures
//! carrying the findings. The shape is the one Jenkins, GitLab and GitHub
//! test reporters read (the Ant JUnit task's schema: testsuites > testsuite
//! > testcase > failure | error | skipped).
//!
//! Written here rather than with `quick-junit` (judged 2026-12, 0.8): what
//! it would save is the few `format!` calls below, and it would bring
//! chrono, uuid, indexmap, quick-xml and vte into the crate a notebook
//! uses to read findings. The escaping is the one rule the HTML report
//! shares (`crate::xml`: markup escaped, characters XML forbids marked
//! U+FFFD), and the files are read back by `junitparser` in the tests.

use crate::xml::escape as esc;
use std::fmt::Write;

use super::{Findings, Verdict};

/// A run compared with its baseline (`suite --baseline last-pass`): one
/// testcase per DUT in the run's testsuite, failing with what regressed.
/// The testcase is named after what was asked (`no regression against
/// last-pass`), not the baseline run, so CI keeps one history per test.
#[derive(Debug, Clone)]
pub struct BaselineCheck {
    /// What was asked for, e.g. `last-pass`.
    pub asked: String,
    /// Per DUT; Err: the run history could not be read (a testcase error).
    pub duts: Result<Vec<DutAgainstBaseline>, String>,
}

/// One DUT of a run against its baseline.
#[derive(Debug, Clone)]
pub struct DutAgainstBaseline {
    pub dut: String,
    /// The baseline run; None: nothing to compare with (a skipped testcase).
    pub baseline: Option<String>,
    /// The regressions in words (empty: none).
    pub regressions: Vec<String>,
}

/// One run of a suite, as the JUnit file shows it.
#[derive(Debug, Clone)]
pub enum SuiteRun<'a> {
    /// Analyzed; with `suite --baseline`, compared with its baseline too.
    Judged {
        findings: &'a Findings,
        baseline: Option<BaselineCheck>,
    },
    /// Not judged: not run (an earlier run stopped the suite), or its
    /// recording could not be analyzed. One testcase in error, so the CI
    /// report shows the hole instead of a shorter, green night.
    Unjudged { name: String, why: String },
}

/// The XML document for `runs`.
pub fn render(runs: &[Findings]) -> String {
    let runs: Vec<SuiteRun> = runs
        .iter()
        .map(|findings| SuiteRun::Judged {
            findings,
            baseline: None,
        })
        .collect();
    render_suite(&runs)
}

/// The XML document for a suite's runs, in order.
pub fn render_suite(runs: &[SuiteRun]) -> String {
    let mut total = (0usize, 0usize, 0usize);
    let mut suites = String::new();
    for run in runs {
        let (xml, counts) = match run {
            SuiteRun::Judged { findings, baseline } => suite(findings, baseline.as_ref()),
            SuiteRun::Unjudged { name, why } => unjudged(name, why),
        };
        suites.push_str(&xml);
        total = (total.0 + counts.0, total.1 + counts.1, total.2 + counts.2);
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"benchctl\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n{suites}</testsuites>\n",
        total.0, total.1, total.2
    )
}

/// The `<testsuite>` of a run that was not judged: one testcase in error.
fn unjudged(name: &str, why: &str) -> (String, (usize, usize, usize)) {
    let xml = format!(
        "  <testsuite name=\"{n}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n    <testcase classname=\"{n}\" name=\"recording complete\" time=\"0\"><error type=\"not-judged\" message=\"{w}\"/></testcase>\n  </testsuite>\n",
        n = esc(name),
        w = esc(why)
    );
    (xml, (1, 0, 1))
}

/// One run's `<testsuite>` and its (tests, failures, errors).
fn suite(run: &Findings, baseline: Option<&BaselineCheck>) -> (String, (usize, usize, usize)) {
    let name = run.run_id.clone().unwrap_or_else(|| run.input.clone());
    let mut cases = String::new();
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    // The recording itself: an incomplete run is an error, not a failure
    // of the DUT.
    tests += 1;
    let _ = write!(
        cases,
        "    <testcase classname=\"{}\" name=\"recording complete\" time=\"0\">",
        esc(&name)
    );
    if run.verdict == Verdict::Incomplete || !run.complete {
        errors += 1;
        let problems = run.all_problems();
        let why = if problems.is_empty() {
            "the run did not finish".to_string()
        } else {
            problems.join("; ")
        };
        let _ = write!(
            cases,
            "<error type=\"incomplete\" message=\"{}\"/>",
            esc(&why)
        );
    }
    cases.push_str("</testcase>\n");
    for check in &run.checks {
        tests += 1;
        let _ = write!(
            cases,
            "    <testcase classname=\"{}.{}\" name=\"{}\" time=\"0\">",
            esc(&name),
            esc(&check.dut),
            esc(&check.name)
        );
        let failing: Vec<_> = run.failing(check).collect();
        if !check.ran {
            skipped += 1;
            cases.push_str("<skipped message=\"not recorded in this run\"/>");
        } else if !failing.is_empty() {
            failures += 1;
            let message = failing
                .iter()
                .map(|f| f.summary.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let mut body = String::new();
            for f in &failing {
                let _ = writeln!(
                    body,
                    "{} {:?} t={:.3}-{:.3}s{}: {} (score {:.2})",
                    f.kind,
                    f.severity,
                    f.start_s,
                    f.end_s,
                    f.channel
                        .as_deref()
                        .map(|c| format!(" [{c}]"))
                        .unwrap_or_default(),
                    f.summary,
                    f.score
                );
            }
            let _ = write!(
                cases,
                "<failure type=\"{}\" message=\"{}\">{}</failure>",
                check.kind,
                esc(&message),
                esc(&body)
            );
        }
        cases.push_str("</testcase>\n");
    }
    if let Some(check) = baseline {
        let case = |cases: &mut String, dut: Option<&str>| {
            let _ = write!(
                cases,
                "    <testcase classname=\"{}\" name=\"no regression against {}\" time=\"0\">",
                esc(&dut.map_or_else(|| name.clone(), |d| format!("{name}.{d}"))),
                esc(&check.asked)
            );
        };
        match &check.duts {
            Err(why) => {
                tests += 1;
                errors += 1;
                case(&mut cases, None);
                let _ = write!(cases, "<error type=\"history\" message=\"{}\"/>", esc(why));
                cases.push_str("</testcase>\n");
            }
            Ok(duts) => {
                for d in duts {
                    tests += 1;
                    case(&mut cases, Some(&d.dut));
                    match &d.baseline {
                        None => {
                            skipped += 1;
                            cases.push_str("<skipped message=\"no earlier passing run of this scenario to compare with\"/>");
                        }
                        Some(b) if !d.regressions.is_empty() => {
                            failures += 1;
                            let _ = write!(
                                cases,
                                "<failure type=\"regression\" message=\"{}\">against {}:\n{}</failure>",
                                esc(&d.regressions.join("; ")),
                                esc(b),
                                esc(&d.regressions.join("\n"))
                            );
                        }
                        Some(b) => {
                            let _ = write!(
                                cases,
                                "<system-out>against {}: no regression</system-out>",
                                esc(b)
                            );
                        }
                    }
                    cases.push_str("</testcase>\n");
                }
            }
        }
    }
    let xml = format!(
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n    <properties><property name=\"verdict\" value=\"{}\"/><property name=\"input\" value=\"{}\"/></properties>\n{cases}  </testsuite>\n",
        esc(&name),
        match run.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Incomplete => "incomplete",
        },
        esc(&run.input)
    );
    (xml, (tests, failures, errors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{Check, DutFindings, Findings, Verdict};
    use crate::{Finding, Severity};

    #[test]
    fn failures_carry_findings_and_text_is_escaped() {
        let finding = Finding {
            kind: "rf-in-silence",
            severity: Severity::High,
            phase: Some("airplane".into()),
            start_s: 1.0,
            end_s: 2.0,
            channel: Some("LTE <B3> & co".into()),
            score: 0.9,
            summary: "burst \"loud\"".into(),
            evidence: Default::default(),
            settle: false,
        };
        let run = Findings {
            format: crate::analyze::FORMAT,
            input: "runs/x".into(),
            run_id: Some("x".into()),
            complete: true,
            verdict: Verdict::Fail,
            duts: vec![DutFindings {
                dut: "phone-b".into(),
                verdict: Verdict::Fail,
                findings: vec![finding],
                problems: vec![],
                frames: None,
            }],
            problems: vec![],
            checks: vec![
                Check {
                    dut: "phone-b".into(),
                    name: "airplane: rf silent".into(),
                    kind: "rf-in-silence",
                    phase: Some("airplane".into()),
                    ran: true,
                },
                Check {
                    dut: "phone-b".into(),
                    name: "net-beacon".into(),
                    kind: "net-beacon",
                    phase: None,
                    ran: false,
                },
            ],
        };
        let xml = render(&[run]);
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" errors=\"0\""),
            "{xml}"
        );
        assert!(
            xml.contains("<failure type=\"rf-in-silence\" message=\"burst &quot;loud&quot;\">"),
            "{xml}"
        );
        assert!(xml.contains("[LTE &lt;B3&gt; &amp; co]"), "{xml}");
        assert!(
            xml.contains("<skipped message=\"not recorded in this run\"/>"),
            "{xml}"
        );
    }
}
