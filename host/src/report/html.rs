//! The page around the figures: header, faults, one section per DUT, the
//! findings table, inline CSS and a few lines of script. Everything is in
//! the one file, so a report mailed or kept as a CI artifact opens as it
//! was written, with no network.

use std::fmt::Write;

use serde_json::Value;

use super::data::{FindingDoc, FindingsDoc, RunData, Stream};
use super::plot::{self, Marked};
use super::svg::{escape, id};

/// The findings' marker is magenta (#e6007e), a colour no trace uses, so it
/// stands out on any plot; tests/report.rs looks for it in the screenshot.
const CSS: &str = r#"
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:20px 24px;color:#1d232a;background:#fff}
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 6px}
table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{color:#555;font-weight:600}.meta td:first-child{color:#555}
.verdict{display:inline-block;padding:1px 8px;border-radius:3px;font-weight:700;color:#fff}
.v-pass{background:#1f8a3b}.v-fail{background:#c62828}.v-incomplete{background:#b26a00}.v-unknown{background:#666}
.notes li,.missing-list li{color:#8a4b00}
.findings td{border-top:1px solid #ddd}.findings .ev{font-family:ui-monospace,monospace;font-size:12px;color:#333}
.sev-high{color:#c62828;font-weight:700}.sev-medium{color:#b26a00;font-weight:700}.sev-low{color:#555}
svg.figure{display:block;max-width:100%;height:auto;font-family:system-ui,sans-serif}
.plot-bg{fill:#fafbfc}.phase-even{fill:#f1f3f5}.phase-odd{fill:#fafbfc}.phase-strict{fill:#fff4d6}.phase-settle{fill:#e3e7ec}
.phase-edge{stroke:#9aa4ae;stroke-width:1}.phase-name{font-size:12px;font-weight:700;fill:#333}
.phase-expect{font-size:10.5px;fill:#7a5a00}
.section{font-size:12px;font-weight:700;fill:#333}.row-head{font-size:11.5px;fill:#222}
.row-note{font-size:10px;fill:#777}.peer-label{font-size:10px;fill:#333;font-family:ui-monospace,monospace}
.row-line{stroke:#dde1e5;stroke-width:1}.axis{stroke:#555;stroke-width:1}.tick{font-size:10.5px;fill:#444}
.trace{stroke-width:1;stroke-linejoin:round}
.rf{fill:#1f5fbf;stroke:#1f5fbf}.room{fill:#8a8f96;stroke:#8a8f96}.current{fill:#2e8b57;stroke:#2e8b57}
.lost{stroke:#d32f2f;stroke-width:1}.tx{stroke:#263238;stroke-width:1}.rx{stroke:#90a4ae;stroke-width:1}
.missing{font-size:12px;fill:#8a4b00;font-style:italic}
.finding-box{fill:#e6007e;fill-opacity:.08;stroke:#e6007e;stroke-width:2}
.finding-badge{fill:#e6007e}.finding-number{font-size:10px;font-weight:700;fill:#fff}
g.finding:target .finding-box,g.finding.here .finding-box{stroke-width:5;fill-opacity:.3}
a.finding-link{color:#e6007e;font-weight:700;text-decoration:none}
.phase-legend{margin:4px 0 0;font-size:12.5px;color:#444}ul.phase-legend{padding-left:20px}
footer{margin-top:30px;color:#888;font-size:12px}
.changes td{border-top:1px solid #ddd}.regression{color:#c62828;font-weight:700}.change{color:#555}
.nights{font-size:12.5px;color:#444}h3{font-size:15px;margin:16px 0 4px}
"#;

/// The script: marks the finding a link points at (also after the page
/// jumps there), and leaves a sign that it ran for the browser test.
const SCRIPT: &str = r#"
(function(){
  function mark(){
    document.querySelectorAll("g.finding.here").forEach(function(g){g.classList.remove("here");});
    var id=decodeURIComponent(location.hash.slice(1));
    var g=id&&document.getElementById(id);
    if(g&&g.classList.contains("finding")){g.classList.add("here");}
  }
  window.addEventListener("hashchange",mark);
  mark();
  document.body.setAttribute("data-report-ready","yes");
})();
"#;

/// The whole page.
pub fn page(run: &RunData) -> String {
    let mut out = String::with_capacity(1 << 16);
    let verdict = match &run.findings {
        Ok(f) => f.verdict.clone(),
        Err(_) => "unknown".into(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{} {}: benchctl report</title><style>{CSS}</style></head><body>",
        escape(&run.run_id),
        escape(&verdict.to_uppercase())
    );
    header(&mut out, run, &verdict);
    baseline_section(&mut out, run);
    let numbered = number_findings(run);
    for dut in &run.duts {
        let marked: Vec<Marked<'_>> = numbered
            .iter()
            .filter(|(d, _)| d == &dut.name)
            .map(|(_, m)| Marked {
                anchor: m.anchor.clone(),
                number: m.number,
                finding: m.finding,
            })
            .collect();
        let dut_verdict = dut_verdict(run, &dut.name);
        let _ = write!(
            out,
            "<section id=\"dut-{}\"><h2>{} {}</h2>",
            id(&dut.name),
            escape(&dut.name),
            badge(&dut_verdict)
        );
        out.push_str(&plot::dut_figure(run, dut, &marked));
        phase_legend(&mut out, run, dut);
        out.push_str("</section>");
    }
    findings_table(&mut out, run, &numbered);
    let _ = write!(
        out,
        "<footer>Written by benchctl {} from {}. Plots: each pixel column shows the lowest and highest sample in its time slice, so no burst is lost however long the run; red marks under a trace are lost samples.</footer>",
        env!("CARGO_PKG_VERSION"),
        escape(&run.dir.display().to_string())
    );
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
    out
}

/// The phases the figure names in short (too narrow for their name or
/// their expectations), in full: readable without hovering.
fn phase_legend(out: &mut String, run: &RunData, dut: &super::data::DutInfo) {
    let labels = plot::phase_labels(&dut.phases, run.end_t);
    if !labels.iter().any(|l| l.shortened) {
        return;
    }
    out.push_str("<p class=\"phase-legend\">Phases named in short on the plot:</p><ul class=\"phase-legend\">");
    for (i, (p, l)) in dut.phases.iter().zip(&labels).enumerate() {
        if !l.shortened {
            continue;
        }
        let number = if l.numbered {
            format!("<b>{}</b> ", i + 1)
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<li>{number}{}, {}: {}</li>",
            escape(&p.name),
            escape(&plot::span(p.start, p.end, run.end_t)),
            escape(&p.expect)
        );
    }
    out.push_str("</ul>");
}

fn badge(verdict: &str) -> String {
    let class = match verdict {
        "pass" | "fail" | "incomplete" => verdict,
        _ => "unknown",
    };
    format!(
        "<span class=\"verdict v-{class}\">{}</span>",
        escape(&verdict.to_uppercase())
    )
}

fn dut_verdict(run: &RunData, dut: &str) -> String {
    match &run.findings {
        Ok(f) => f
            .dut(dut)
            .map_or_else(|| "unknown".into(), |d| d.verdict.clone()),
        Err(_) => "unknown".into(),
    }
}

fn header(out: &mut String, run: &RunData, verdict: &str) {
    let _ = write!(
        out,
        "<header><h1>{} {}</h1><table class=\"meta\">",
        escape(&run.run_id),
        badge(verdict)
    );
    let complete = if run.complete {
        "yes".to_string()
    } else {
        format!(
            "no: the run was cut short{}",
            run.ending
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        )
    };
    let rows = [
        ("scenario", run.scenario.clone()),
        ("bench", run.bench.clone()),
        ("started", run.started_utc.clone()),
        ("duration", duration_words(run.end_t)),
        ("complete", complete),
        (
            "faults",
            if run.faults.is_empty() {
                "none".into()
            } else {
                run.faults.len().to_string()
            },
        ),
    ];
    for (k, v) in rows {
        let _ = write!(out, "<tr><td>{k}</td><td>{}</td></tr>", escape(&v));
    }
    out.push_str("</table><table class=\"duts\"><tr><th>DUT</th><th>verdict</th><th>findings</th><th>model</th><th>build</th><th>address</th></tr>");
    for dut in &run.duts {
        let (count, failing) = match &run.findings {
            Ok(f) => f.dut(&dut.name).map_or((0, 0), |d| {
                (
                    d.findings.len(),
                    d.findings
                        .iter()
                        .filter(|f| f.severity == "medium" || f.severity == "high")
                        .count(),
                )
            }),
            Err(_) => (0, 0),
        };
        let found = match (count, failing) {
            (0, _) => "nothing found".to_string(),
            (n, 0) => format!("{n} (none failing)"),
            (n, k) => format!("{n} ({k} failing)"),
        };
        let _ = write!(
            out,
            "<tr><td><a href=\"#dut-{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            id(&dut.name),
            escape(&dut.name),
            badge(&dut_verdict(run, &dut.name)),
            escape(&found),
            escape(&dut.model),
            escape(dut.build.as_deref().unwrap_or("-")),
            escape(&dut.ips.join(", "))
        );
    }
    out.push_str("</table>");

    // What the recording lacks, and why the verdict may be partial.
    let mut missing: Vec<String> = Vec::new();
    for (stream, name) in [(&run.rf, "RF"), (&run.power, "supply current")] {
        match stream {
            Stream::Absent(why) => missing.push(why.clone()),
            Stream::Unreadable(why) => missing.push(format!("{name} unreadable: {why}")),
            Stream::Read(_) => {}
        }
    }
    match &run.net {
        Stream::Absent(why) => missing.push(why.clone()),
        Stream::Unreadable(why) => missing.push(format!("packets unreadable: {why}")),
        Stream::Read(_) => {}
    }
    if run.duts.is_empty() {
        missing.push("run.json lists no DUT: nothing to plot".into());
    }
    missing.extend(run.notes.iter().cloned());
    match &run.findings {
        Ok(f) => {
            missing.extend(f.problems.iter().cloned());
            for d in &f.duts {
                missing.extend(d.problems.iter().map(|p| format!("{}: {p}", d.dut)));
            }
        }
        Err(e) => missing.push(e.clone()),
    }
    if !missing.is_empty() {
        out.push_str("<ul class=\"notes\">");
        for m in &missing {
            let _ = write!(out, "<li>{}</li>", escape(m));
        }
        out.push_str("</ul>");
    }
    if !run.faults.is_empty() {
        out.push_str("<h2>Faults</h2><table class=\"faults\"><tr><th>t</th><th>source</th><th>DUT</th><th>what</th></tr>");
        for f in &run.faults {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&plot::moment(f.t, run.end_t, true)),
                escape(&f.source),
                escape(f.dut.as_deref().unwrap_or("-")),
                escape(&f.detail)
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</header>");
}

/// The run against its DUTs' baseline nights (`baseline.json`): per DUT
/// the nights it was judged against, and each change with the measure that
/// moved, from what to what and how far the noise rule let it go.
fn baseline_section(out: &mut String, run: &RunData) {
    let Some(doc) = &run.baseline else {
        return;
    };
    out.push_str("<section id=\"baseline\"><h2>Against the baseline nights</h2>");
    let doc = match doc {
        Ok(doc) => doc,
        Err(why) => {
            let _ = write!(out, "<p class=\"notes\">{}</p></section>", escape(why));
            return;
        }
    };
    let diff = &doc.diff;
    let n = diff.regressions().count();
    let _ = write!(
        out,
        "<p>Compared with {} ({}): <b class=\"{}\">{}</b>{}.</p>",
        escape(&diff.baseline),
        if diff.nights > 1 {
            format!("each DUT's last {} good nights at most", diff.nights)
        } else {
            "one run".to_string()
        },
        if n > 0 { "regression" } else { "change" },
        match n {
            0 => "no regression".to_string(),
            1 => "1 regression".to_string(),
            n => format!("{n} regressions"),
        },
        if doc.accepted {
            "; a lab accepted the regressions as expected (<code>diff --accept</code>)"
        } else {
            ""
        }
    );
    for d in &diff.duts {
        let _ = write!(out, "<h3>{}</h3>", escape(&d.dut));
        if d.baseline.is_none() {
            out.push_str("<p class=\"nights\">No baseline night: nothing to compare with.</p>");
        } else {
            let nights: Vec<String> = if d.baseline_nights.is_empty() {
                vec![format!(
                    "{} ({})",
                    d.baseline.as_deref().unwrap_or("?"),
                    d.baseline_started_utc.as_deref().unwrap_or("?")
                )]
            } else {
                d.baseline_nights
                    .iter()
                    .map(|n| format!("{} ({})", n.dir, n.started_utc))
                    .collect()
            };
            let _ = write!(
                out,
                "<p class=\"nights\">Judged against {}: {}.</p>",
                match nights.len() {
                    1 => "one night".to_string(),
                    k => format!("{k} nights, the latest first"),
                },
                escape(&nights.join(", "))
            );
        }
        for note in &d.notes {
            let _ = write!(out, "<p class=\"notes\">{}</p>", escape(note));
        }
        if d.changes.is_empty() {
            if d.baseline.is_some() {
                out.push_str("<p>No change.</p>");
            }
            continue;
        }
        out.push_str("<table class=\"changes\"><tr><th></th><th>change</th><th>phase</th><th>measure</th><th>baseline nights</th><th>now</th><th>noise allows</th><th>what</th></tr>");
        for c in &d.changes {
            let cell = |v: &Option<String>| escape(v.as_deref().unwrap_or("-"));
            let _ = write!(
                out,
                "<tr><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if c.regression { "regression" } else { "change" },
                if c.regression { "REGRESSION" } else { "change" },
                escape(c.kind.as_str()),
                escape(c.phase.as_deref().unwrap_or("-")),
                cell(&c.measure),
                cell(&c.was),
                cell(&c.now),
                cell(&c.limit),
                escape(&c.summary),
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

/// "54 s", "12 min 3 s", "24 h 0 min".
fn duration_words(s: f64) -> String {
    let whole = s.max(0.0).round() as u64;
    if whole < 120 {
        format!("{s:.1} s")
    } else if whole < 7200 {
        format!("{} min {} s", whole / 60, whole % 60)
    } else {
        format!("{} h {} min", whole / 3600, (whole % 3600) / 60)
    }
}

/// Every finding with its number within its DUT and its anchor on the
/// plots.
fn number_findings(run: &RunData) -> Vec<(String, Marked<'_>)> {
    let Ok(doc) = &run.findings else {
        return Vec::new();
    };
    doc.duts
        .iter()
        .flat_map(|d| {
            d.findings.iter().enumerate().map(move |(i, f)| {
                (
                    d.dut.clone(),
                    Marked {
                        anchor: format!("finding-{}-{}", id(&d.dut), i + 1),
                        number: i + 1,
                        finding: f,
                    },
                )
            })
        })
        .collect()
}

fn findings_table(out: &mut String, run: &RunData, numbered: &[(String, Marked<'_>)]) {
    out.push_str("<section id=\"findings\"><h2>Findings</h2>");
    match &run.findings {
        Err(e) => {
            let _ = write!(out, "<p class=\"notes\">{}</p></section>", escape(e));
            return;
        }
        Ok(FindingsDoc { duts, .. }) if duts.iter().all(|d| d.findings.is_empty()) => {
            out.push_str("<p>Nothing found.</p></section>");
            return;
        }
        Ok(_) => {}
    }
    out.push_str("<table class=\"findings\"><tr><th>#</th><th>DUT</th><th>severity</th><th>finding</th><th>phase</th><th>when</th><th>channel / flow</th><th>what and why</th></tr>");
    let on_plot = |dut: &str| run.duts.iter().any(|d| d.name == dut);
    for (dut, m) in numbered {
        let f = m.finding;
        let number = if on_plot(dut) {
            format!(
                "<a class=\"finding-link\" href=\"#{}\">#{}</a>",
                escape(&m.anchor),
                m.number
            )
        } else {
            format!("#{}", m.number)
        };
        let _ = write!(
            out,
            "<tr id=\"row-{}\"><td>{number}</td><td>{}</td><td class=\"sev-{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}<div class=\"ev\">{}</div></td></tr>",
            escape(&m.anchor),
            escape(dut),
            id(&f.severity),
            escape(&f.severity),
            escape(&f.kind),
            escape(f.phase.as_deref().unwrap_or("-")),
            escape(&plot::span(f.start_s, f.end_s, run.end_t)),
            escape(f.channel.as_deref().unwrap_or("-")),
            escape(&f.summary),
            evidence_words(f)
        );
    }
    out.push_str("</table></section>");
}

/// The evidence map as `key: value` lines (escaped HTML), with the score.
fn evidence_words(f: &FindingDoc) -> String {
    let mut lines = vec![format!("score: {}", number(f.score))];
    for (k, v) in &f.evidence {
        lines.push(format!("{}: {}", k.replace('_', " "), value_words(v)));
    }
    lines
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// A JSON value as a person reads it: numbers rounded, lists joined (the
/// first dozen), objects as `key value` pairs.
pub fn value_words(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => number(x),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let mut shown: Vec<String> = items.iter().take(12).map(value_words).collect();
            if items.len() > 12 {
                shown.push(format!("… ({} more)", items.len() - 12));
            }
            shown.join(", ")
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{} {}", k.replace('_', " "), value_words(v)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Four significant digits, no trailing zeros.
fn number(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == x.trunc() && x.abs() < 1e12 {
        return format!("{x:.0}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 9) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::data::{DutFindingsDoc, DutInfo, PhaseBand};
    use serde_json::json;

    /// Two hours, nothing recorded but the journal, two DUTs whose names
    /// differ in one character that ids cannot hold, each with a finding
    /// an hour in; phone.a has a ten-second phase in between long ones.
    fn two_hour_run() -> RunData {
        // Phases that expect something settle for a minute.
        let phase = |name: &str, start: f64, end: f64, expect: &str| PhaseBand {
            name: name.into(),
            start,
            end,
            expect: expect.into(),
            settle_s: if expect == "no expectations" {
                0.0
            } else {
                60.0
            },
        };
        let dut = |name: &str, phases: Vec<PhaseBand>| DutInfo {
            name: name.into(),
            model: "sim-android".into(),
            build: None,
            ips: vec!["10.77.1.2".into()],
            phases,
        };
        // As findings.json says it.
        let finding = || -> FindingDoc {
            serde_json::from_value(json!({
                "kind": "net-in-none", "severity": "high", "phase": "airplane",
                "start_s": 3674.172, "end_s": 3679.669, "channel": "203.0.113.9",
                "summary": "packets in airplane mode"
            }))
            .expect("a finding")
        };
        let findings = FindingsDoc {
            verdict: "fail".into(),
            complete: true,
            duts: ["phone.a", "phone-a"]
                .iter()
                .map(|d| DutFindingsDoc {
                    dut: (*d).into(),
                    verdict: "fail".into(),
                    findings: vec![finding(), finding()],
                    problems: Vec::new(),
                })
                .collect(),
            problems: Vec::new(),
        };
        RunData {
            dir: "runs/x".into(),
            run_id: "x".into(),
            bench: "sim-lab".into(),
            scenario: "fixture".into(),
            started_utc: "2026-11-26T15:30:00.000Z".into(),
            complete: true,
            ending: None,
            end_t: 7200.0,
            duts: vec![
                dut(
                    "phone.a",
                    vec![
                        phase("boot", 0.0, 3600.0, "no expectations"),
                        phase(
                            "airplane",
                            3600.0,
                            3610.0,
                            "rf silent, net none, power off (≤ 5 mA)",
                        ),
                        phase("online", 3610.0, 7200.0, "net allowlist (6)"),
                    ],
                ),
                dut("phone-a", Vec::new()),
            ],
            faults: Vec::new(),
            rf: Stream::Absent("no rf".into()),
            power: Stream::Absent("no power".into()),
            net: Stream::Absent("no net".into()),
            findings: Ok(findings),
            baseline: None,
            notes: Vec::new(),
        }
    }

    /// Every `attr="…"` value in `html`.
    fn values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
        html.split(attr)
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect()
    }

    #[test]
    fn anchors_are_unique_and_every_link_has_one_target() {
        let html = page(&two_hour_run());
        let ids = values(&html, " id=\"");
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "duplicate ids: {ids:?}");
        let links = values(&html, "href=\"#");
        assert_eq!(links.len(), 2 + 4, "two DUT rows, four findings");
        for link in links {
            assert_eq!(
                ids.iter().filter(|i| **i == link).count(),
                1,
                "#{link} in {ids:?}"
            );
        }
    }

    /// Each phase that expects something shows its settle window shaded
    /// apart (the airplane phase's is cut at its 10 s end); the boot phase,
    /// which expects nothing, has none.
    #[test]
    fn settle_windows_are_shaded_where_something_is_expected() {
        let html = page(&two_hour_run());
        assert_eq!(
            html.matches("class=\"phase-settle\"").count(),
            2,
            "airplane and online"
        );
    }

    #[test]
    fn finding_times_read_like_the_axis() {
        let html = page(&two_hour_run());
        assert!(html.contains(">1:00</text>"), "the axis in h:mm");
        assert!(
            html.contains("<td>1:01:14.172–1:01:19.669</td>"),
            "the table in h:mm:ss"
        );
        assert!(!html.contains("3674.172"), "no bare seconds");
    }

    #[test]
    fn a_narrow_phase_is_named_without_hovering() {
        let html = page(&two_hour_run());
        let names: Vec<&str> = html
            .split("class=\"phase-name\"")
            .skip(1)
            .filter_map(|rest| {
                rest.split_once('>')
                    .map(|(_, t)| t.split('<').next().unwrap_or(""))
            })
            .collect();
        assert_eq!(names, ["boot", "2", "online"], "the narrow one by number");
        // In full under the figure: name, when, every expectation.
        assert!(
            html.contains(
                "<li><b>2</b> airplane, 1:00:00–1:00:10: rf silent, net none, power off (≤ 5 mA)</li>"
            ),
            "{html}"
        );
    }

    #[test]
    fn evidence_reads_as_words() {
        assert_eq!(value_words(&json!(0.123456)), "0.1235");
        assert_eq!(value_words(&json!(55.0)), "55");
        assert_eq!(value_words(&json!(12)), "12");
        assert_eq!(value_words(&json!([1, 2])), "1, 2");
        assert_eq!(value_words(&json!({"level_db": 14.25})), "level db 14.25");
        assert_eq!(value_words(&json!(true)), "yes");
        assert_eq!(duration_words(54.0), "54.0 s");
        assert_eq!(duration_words(86400.0), "24 h 0 min");
    }
}
