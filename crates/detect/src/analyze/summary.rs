//! The terminal summary: the verdict per DUT first, then each finding in a
//! sentence, with where it happened.

use std::fmt::Write;

use super::{Findings, Verdict};

pub fn render(run: &Findings) -> String {
    let mut out = String::new();
    let verdict = |v: Verdict| match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Incomplete => "INCOMPLETE",
    };
    let _ = writeln!(out, "{}: {}", run.input, verdict(run.verdict));
    for p in &run.problems {
        let _ = writeln!(out, "  note: {p}");
    }
    let width = run
        .duts
        .iter()
        .map(|d| d.dut.len())
        .max()
        .unwrap_or(0)
        .max(8);
    for d in &run.duts {
        let failing = d
            .findings
            .iter()
            .filter(|f| f.severity >= crate::Severity::Medium)
            .count();
        let _ = writeln!(
            out,
            "  {:<width$}  {:<4}  {}",
            d.dut,
            verdict(d.verdict),
            match (failing, d.findings.len()) {
                (0, 0) => "nothing found".to_string(),
                (0, n) => format!("{n} finding(s) worth a look, none failing"),
                (f, _) => format!("{f} failing finding(s)"),
            }
        );
        if let Some(c) = d.frames.as_ref().filter(|c| c.frames > 0) {
            let _ = writeln!(
                out,
                "    frames: {} read, {} not read, {} malformed, {} cut by the snap length (of {})",
                c.read, c.not_read, c.malformed, c.cut, c.frames
            );
        }
        for p in &d.problems {
            let _ = writeln!(out, "    note: {p}");
        }
        for f in &d.findings {
            let _ = writeln!(
                out,
                "    {:<6} {:<27} {:>8.1}s  {}{}",
                format!("{:?}", f.severity).to_uppercase(),
                f.kind,
                f.start_s,
                f.phase
                    .as_deref()
                    .map(|p| format!("[{p}] "))
                    .unwrap_or_default(),
                f.summary
            );
        }
    }
    out
}
