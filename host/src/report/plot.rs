//! One DUT's figure: its phases, RF channels (and the room's), supply
//! current and packet timeline stacked on one time axis, with its findings
//! marked where they happened. One SVG per DUT, so the phase shading and the
//! time axis line up through every trace without any script.

use super::data::{DutInfo, FindingDoc, PeerRow, RunData, Stream, Trace};
use super::envelope::{Column, Envelope};
use super::svg::{Svg, num};

/// Left margin for row labels, right margin, and the plot's width (one
/// pixel per envelope column).
const LEFT: f64 = 200.0;
const RIGHT: f64 = 16.0;
const PHASE_BAND: f64 = 38.0;
const RF_ROW: f64 = 34.0;
const CURRENT_ROW: f64 = 70.0;
const PEER_ROW: f64 = 14.0;
const NOTE_ROW: f64 = 22.0;
const GAP: f64 = 10.0;
const AXIS: f64 = 28.0;
/// The least range of an RF row, dB.
const MIN_DB_SPAN: f64 = 30.0;
/// Space left between a finding's box and the first and last sample it
/// covers, so the box's outline does not hide the bursts it points at.
const FINDING_PAD: f64 = 5.0;

/// Where a finding goes: the id its table row links to, and the finding.
#[derive(Debug)]
pub struct Marked<'a> {
    pub anchor: String,
    pub number: usize,
    pub finding: &'a FindingDoc,
}

/// A horizontal strip of the figure a finding can land on.
struct Strip {
    top: f64,
    height: f64,
}

/// The SVG of `dut`'s figure.
pub fn dut_figure(run: &RunData, dut: &DutInfo, findings: &[Marked<'_>]) -> String {
    let columns = super::data::PLOT_COLUMNS as f64;
    let width = LEFT + columns + RIGHT;
    let x_of = |t: f64| LEFT + (t / run.end_t).clamp(0.0, 1.0) * columns;

    // Lay out the rows first: the SVG's height must be known up front.
    let rf_rows: Vec<&Trace> = match &run.rf {
        Stream::Read(traces) => traces
            .iter()
            .filter(|t| t.dut.as_deref() == Some(dut.name.as_str()))
            .chain(traces.iter().filter(|t| t.dut.is_none()))
            .collect(),
        _ => Vec::new(),
    };
    let current: Option<&Trace> = match &run.power {
        Stream::Read(traces) => traces
            .iter()
            .find(|t| t.dut.as_deref() == Some(dut.name.as_str())),
        _ => None,
    };
    let no_peers = Vec::new();
    let peers: &Vec<PeerRow> = match &run.net {
        Stream::Read(rows) => rows.get(&dut.name).unwrap_or(&no_peers),
        _ => &no_peers,
    };
    let rf_height = if rf_rows.is_empty() {
        NOTE_ROW
    } else {
        rf_rows.len() as f64 * RF_ROW
    };
    let current_height = if current.is_some() {
        CURRENT_ROW
    } else {
        NOTE_ROW
    };
    let net_height = if peers.is_empty() {
        NOTE_ROW
    } else {
        peers.len() as f64 * PEER_ROW
    };
    let rf_top = PHASE_BAND + GAP + 14.0;
    let current_top = rf_top + rf_height + GAP + 14.0;
    let net_top = current_top + current_height + GAP + 14.0;
    let axis_top = net_top + net_height + 4.0;
    let height = axis_top + AXIS;

    let mut svg = Svg::new(
        width,
        height,
        "figure",
        &format!(
            "{}: RF power, supply current and packets over the run",
            dut.name
        ),
    );
    svg.rect(LEFT, 0.0, columns, axis_top, "plot-bg");

    // Phases: shaded through every row, named with their expectations;
    // a phase too narrow for its name shows its number, and the page lists
    // it in full under the figure.
    let labels = phase_labels(&dut.phases, run.end_t);
    for (i, (p, label)) in dut.phases.iter().zip(&labels).enumerate() {
        let (x0, x1) = (x_of(p.start), x_of(p.end));
        let strict = p.expect != "no expectations";
        let class = match (strict, i % 2) {
            (true, _) => "phase phase-strict",
            (false, 0) => "phase phase-even",
            (false, _) => "phase phase-odd",
        };
        svg.group(
            None,
            "phase-group",
            Some(&format!(
                "phase {} ({}): {}",
                p.name,
                span(p.start, p.end, run.end_t),
                p.expect
            )),
        );
        svg.rect(x0, 0.0, x1 - x0, axis_top, class);
        // The settle window: reported at `low` only, so shaded apart.
        if strict && p.settle_s > 0.0 {
            let xs = x_of((p.start + p.settle_s).min(p.end));
            svg.rect(x0, 0.0, xs - x0, axis_top, "phase-settle");
        }
        svg.line(x0, 0.0, x0, axis_top, "phase-edge");
        if let Some((x, anchor)) = label.name_at {
            svg.text(x, 15.0, anchor, "phase-name", &label.name);
        }
        if !label.expect.is_empty() {
            svg.text(x0 + 3.0, 30.0, "start", "phase-expect", &label.expect);
        }
        svg.end_group();
    }
    svg.text(LEFT - 8.0, 15.0, "end", "row-head", "phase");
    svg.text(LEFT - 8.0, 30.0, "end", "row-note", "expects");

    // RF power: one row per channel of this DUT's enclosure, then the room.
    svg.text(
        4.0,
        rf_top - 4.0,
        "start",
        "section",
        "RF power per channel (dBm)",
    );
    let mut rf_strips: Vec<(&str, Strip)> = Vec::new();
    match &run.rf {
        Stream::Read(_) if !rf_rows.is_empty() => {
            for (i, trace) in rf_rows.iter().enumerate() {
                let top = rf_top + i as f64 * RF_ROW;
                let label = match &trace.dut {
                    Some(_) => trace.label.clone(),
                    None => format!("room: {}", trace.label),
                };
                let class = if trace.dut.is_some() {
                    "trace rf"
                } else {
                    "trace room"
                };
                envelope_row(&mut svg, &trace.envelope, top, RF_ROW, &label, "dBm", class);
                if trace.dut.is_some() {
                    rf_strips.push((
                        trace.label.as_str(),
                        Strip {
                            top,
                            height: RF_ROW,
                        },
                    ));
                }
            }
        }
        Stream::Read(_) => note_row(&mut svg, rf_top, "no RF channel in this DUT's enclosure"),
        Stream::Absent(why) | Stream::Unreadable(why) => note_row(&mut svg, rf_top, why),
    }

    // Supply current on the same axis.
    svg.text(
        4.0,
        current_top - 4.0,
        "start",
        "section",
        "supply current (A)",
    );
    match (&run.power, current) {
        (_, Some(trace)) => envelope_row(
            &mut svg,
            &trace.envelope,
            current_top,
            CURRENT_ROW,
            "current",
            "A",
            "trace current",
        ),
        (Stream::Absent(why) | Stream::Unreadable(why), None) => {
            note_row(&mut svg, current_top, why)
        }
        (Stream::Read(_), None) => note_row(
            &mut svg,
            current_top,
            "no current sensor on this DUT's supply",
        ),
    }
    let current_strip = Strip {
        top: current_top,
        height: current_height,
    };

    // Packets: one row per peer, a tick per column with packets.
    svg.text(
        4.0,
        net_top - 4.0,
        "start",
        "section",
        "packets per peer (tall: sent by the DUT, short: received)",
    );
    match &run.net {
        Stream::Read(_) if !peers.is_empty() => {
            for (i, row) in peers.iter().enumerate() {
                peer_row(&mut svg, row, net_top + i as f64 * PEER_ROW);
            }
        }
        Stream::Read(_) => note_row(&mut svg, net_top, "no packets on this DUT's link"),
        Stream::Absent(why) | Stream::Unreadable(why) => note_row(&mut svg, net_top, why),
    }
    let net_strip = Strip {
        top: net_top,
        height: net_height,
    };

    time_axis(&mut svg, run.end_t, axis_top);

    // Findings last, on top of everything they point at.
    for m in findings {
        let f = m.finding;
        let strip = match f.channel.as_deref().and_then(|c| {
            rf_strips
                .iter()
                .find(|(label, _)| *label == c)
                .map(|(_, s)| s)
        }) {
            Some(s) => s,
            None if f.kind.starts_with("power") => &current_strip,
            None if f.kind.starts_with("rf") => {
                rf_strips.first().map(|(_, s)| s).unwrap_or(&current_strip)
            }
            None => &peer_strip(f, peers, net_top).unwrap_or(Strip {
                top: net_strip.top,
                height: net_strip.height,
            }),
        };
        let x0 = x_of(f.start_s.min(f.end_s));
        let x1 = x_of(f.end_s.max(f.start_s)).max(x0 + 4.0);
        svg.group(
            Some(&m.anchor),
            &format!("finding sev-{}", super::svg::id(&f.severity)),
            Some(&format!(
                "#{} {} ({}) {}: {}",
                m.number,
                f.kind,
                f.severity,
                span(f.start_s, f.end_s, run.end_t),
                f.summary
            )),
        );
        let (x0, x1) = (x0 - FINDING_PAD, x1 + FINDING_PAD);
        svg.rect(x0, strip.top, x1 - x0, strip.height, "finding-box");
        let badge_x = x0.min(LEFT + columns - 18.0);
        svg.rect(badge_x, strip.top - 13.0, 18.0, 13.0, "finding-badge");
        svg.text(
            badge_x + 9.0,
            strip.top - 3.0,
            "middle",
            "finding-number",
            &m.number.to_string(),
        );
        svg.end_group();
    }
    svg.finish()
}

/// The packet rows a network finding is about ([`FindingDoc::peers`]):
/// from the first such row to the last. None when no row matches (a DNS
/// name, say): the finding then spans every row.
fn peer_strip(f: &FindingDoc, peers: &[PeerRow], net_top: f64) -> Option<Strip> {
    let wanted = f.peers();
    let rows: Vec<usize> = peers
        .iter()
        .enumerate()
        .filter(|(_, r)| wanted.contains(&r.peer))
        .map(|(i, _)| i)
        .collect();
    let (first, last) = (*rows.first()?, *rows.last()?);
    Some(Strip {
        top: net_top + first as f64 * PEER_ROW,
        height: (last - first + 1) as f64 * PEER_ROW,
    })
}

/// Width of a character of a phase's name (12 px bold), px.
const NAME_CHAR: f64 = 6.2;

/// How a phase is named on its band.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseLabel {
    /// The name as drawn: whole, or `3 air…` / `3` (the phase's number in
    /// the DUT's list, and as much of the name as fits).
    pub name: String,
    /// Where the name is drawn (x, text anchor); None when not even the
    /// number fits without covering its neighbour's label.
    pub name_at: Option<(f64, &'static str)>,
    /// The expectations as drawn, cut to the band.
    pub expect: String,
    /// The name or the expectations are not drawn whole: the page names
    /// the phase in full under the figure.
    pub shortened: bool,
    /// The name shows the phase's number rather than the whole name.
    pub numbered: bool,
}

/// Each phase's label on a run of `end_t` seconds: the name if it fits the
/// band, else its number with as much of the name as fits; the number of
/// a band narrower than it is centred over the band unless that covers a
/// neighbour's label (the page still lists the phase, with its times).
pub fn phase_labels(phases: &[super::data::PhaseBand], end_t: f64) -> Vec<PhaseLabel> {
    let columns = super::data::PLOT_COLUMNS as f64;
    let x_of = |t: f64| LEFT + (t / end_t).clamp(0.0, 1.0) * columns;
    // Right end of the last name drawn, so a centred number does not land
    // on it.
    let mut taken = 0.0_f64;
    phases
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x0, x1) = (x_of(p.start), x_of(p.end));
            let fits = ((x1 - x0 - 6.0) / NAME_CHAR).max(0.0) as usize;
            let expect = clip(&p.expect, fits + fits / 5);
            let whole_name = p.name.chars().count() <= fits;
            let number = (i + 1).to_string();
            let name = if whole_name {
                p.name.clone()
            } else if fits >= number.len() + 4 {
                // `3 air…`: the number, a space, at least two letters.
                format!("{number} {}", clip(&p.name, fits - number.len() - 1))
            } else {
                number
            };
            let width = name.chars().count() as f64 * NAME_CHAR;
            let name_at = if name.chars().count() <= fits {
                Some((x0 + 3.0, "start"))
            } else {
                let centre =
                    ((x0 + x1) / 2.0).clamp(LEFT + width / 2.0, LEFT + columns - width / 2.0);
                // Clear of the label before and of the next band's, which
                // starts 3 px into it.
                (centre - width / 2.0 >= taken + 2.0 && centre + width / 2.0 <= x1 + 2.5)
                    .then_some((centre, "middle"))
            };
            if let Some((x, anchor)) = name_at {
                taken = if anchor == "start" {
                    x + width
                } else {
                    x + width / 2.0
                };
            }
            PhaseLabel {
                shortened: !whole_name || expect != p.expect,
                numbered: !whole_name,
                name,
                name_at,
                expect,
            }
        })
        .collect()
}

/// Cut `text` to `max` characters with an ellipsis.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else if max <= 1 {
        String::new()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

fn note_row(svg: &mut Svg, top: f64, text: &str) {
    svg.text(LEFT + 8.0, top + 15.0, "start", "missing", text);
}

/// One envelope as a filled band between each column's min and max, broken
/// at gaps; lost samples marked under the row.
fn envelope_row(
    svg: &mut Svg,
    env: &Envelope,
    top: f64,
    height: f64,
    label: &str,
    unit: &str,
    class: &str,
) {
    svg.line(
        LEFT,
        top + height,
        LEFT + env.columns().len() as f64,
        top + height,
        "row-line",
    );
    let Some((lo, hi)) = env.range() else {
        svg.text(
            LEFT - 8.0,
            top + height / 2.0 + 4.0,
            "end",
            "row-head",
            label,
        );
        note_row(
            svg,
            top + height / 2.0 - 12.0,
            "no measured sample (all lost)",
        );
        return;
    };
    // Current from zero: "how much does it draw" reads against nothing.
    let lo = if unit == "A" { lo.min(0.0) } else { lo };
    let (lo, hi) = (f64::from(lo), f64::from(hi));
    // RF rows span at least MIN_DB_SPAN: a quiet channel's noise floor then
    // reads as a thin line at the bottom, not as a row full of noise.
    let min_span = if unit == "dBm" { MIN_DB_SPAN } else { 1e-9 };
    let span = if hi - lo > min_span {
        hi - lo
    } else if unit == "dBm" {
        MIN_DB_SPAN
    } else {
        1.0
    };
    let hi = lo + span;
    let y = |v: f32| top + height - 2.0 - (f64::from(v) - lo) / span * (height - 5.0);
    let mut d = String::new();
    let cols = env.columns();
    let mut i = 0;
    while i < cols.len() {
        if cols[i].is_gap() {
            i += 1;
            continue;
        }
        let start = i;
        while i < cols.len() && !cols[i].is_gap() {
            i += 1;
        }
        let run: &[Column] = &cols[start..i];
        let x = |k: usize| LEFT + (start + k) as f64 + 0.5;
        d.push_str(&format!("M{} {}", num(x(0)), num(y(run[0].max))));
        for (k, c) in run.iter().enumerate().skip(1) {
            d.push_str(&format!("L{} {}", num(x(k)), num(y(c.max))));
        }
        for (k, c) in run.iter().enumerate().rev() {
            d.push_str(&format!("L{} {}", num(x(k)), num(y(c.min))));
        }
        d.push('Z');
    }
    svg.path(&d, class);
    // Lost samples: a red mark under each column that lost any.
    let mut lost = String::new();
    for (k, c) in cols.iter().enumerate() {
        if c.lost > 0 {
            lost.push_str(&format!(
                "M{} {}V{}",
                num(LEFT + k as f64 + 0.5),
                num(top + height - 3.0),
                num(top + height)
            ));
        }
    }
    svg.path(&lost, "lost");
    svg.text(
        LEFT - 8.0,
        top + height / 2.0 + 1.0,
        "end",
        "row-head",
        label,
    );
    svg.text(
        LEFT - 8.0,
        top + height / 2.0 + 12.0,
        "end",
        "row-note",
        &format!("{} … {} {unit}", short(lo), short(hi)),
    );
}

/// A value with three significant digits or so.
fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn peer_row(svg: &mut Svg, row: &PeerRow, top: f64) {
    let mut sent = String::new();
    let mut received = String::new();
    for (k, (s, r)) in row.sent.iter().zip(&row.received).enumerate() {
        let x = num(LEFT + k as f64 + 0.5);
        if *s > 0 {
            sent.push_str(&format!(
                "M{x} {}V{}",
                num(top + 1.0),
                num(top + PEER_ROW - 1.0)
            ));
        }
        if *r > 0 {
            received.push_str(&format!(
                "M{x} {}V{}",
                num(top + PEER_ROW / 2.0),
                num(top + PEER_ROW - 1.0)
            ));
        }
    }
    svg.line(
        LEFT,
        top + PEER_ROW,
        LEFT + row.sent.len() as f64,
        top + PEER_ROW,
        "row-line",
    );
    svg.path(&received, "rx");
    svg.path(&sent, "tx");
    svg.group(
        None,
        "peer",
        Some(&format!("{}: {} packets", row.peer, row.total)),
    );
    svg.text(
        LEFT - 8.0,
        top + PEER_ROW - 3.0,
        "end",
        "peer-label",
        &format!("{} ({})", clip(&row.peer, 26), row.total),
    );
    svg.end_group();
}

/// Ticks at a round step giving about ten labels over the run.
fn time_axis(svg: &mut Svg, end_t: f64, top: f64) {
    let columns = super::data::PLOT_COLUMNS as f64;
    svg.line(LEFT, top, LEFT + columns, top, "axis");
    let step = nice_step(end_t / 10.0);
    let mut k = 0u64;
    loop {
        let t = k as f64 * step;
        if t > end_t + 1e-9 || k > 1000 {
            break;
        }
        let x = LEFT + t / end_t * columns;
        svg.line(x, top, x, top + 5.0, "axis");
        svg.text(x, top + 17.0, "middle", "tick", &clock(t, step));
        k += 1;
    }
    svg.text(LEFT - 16.0, top + 17.0, "end", "row-note", "run time");
}

/// 1, 2 or 5 times a power of ten seconds, or a round number of minutes or
/// hours once the run is long enough for those to read better.
pub fn nice_step(rough: f64) -> f64 {
    const HUMAN: [f64; 12] = [
        60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0,
        86400.0,
    ];
    if rough.is_nan() || rough <= 0.0 || rough.is_infinite() {
        return 1.0;
    }
    if rough >= 45.0 {
        return HUMAN
            .iter()
            .copied()
            .find(|s| *s >= rough)
            .unwrap_or_else(|| (rough / 86400.0).ceil() * 86400.0);
    }
    let p = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * p)
}

/// A tick label: seconds for short runs, h:mm for long ones.
pub fn clock(t: f64, step: f64) -> String {
    if step >= 60.0 {
        let minutes = (t / 60.0).round() as u64;
        format!("{}:{:02}", minutes / 60, minutes % 60)
    } else if step >= 1.0 {
        format!("{t:.0} s")
    } else {
        format!("{t:.1} s")
    }
}

/// A moment on a run of `end_t` seconds as its time axis reads it:
/// `h:mm:ss` where the axis counts in h:mm, seconds where it counts in
/// seconds; `ms` keeps the milliseconds.
pub fn moment(t: f64, end_t: f64, ms: bool) -> String {
    let t = t.max(0.0);
    if nice_step(end_t / 10.0) < 60.0 {
        return if ms {
            format!("{t:.3} s")
        } else {
            format!("{t:.0} s")
        };
    }
    let millis = (t * 1000.0).round() as u64;
    let (h, m, s) = (millis / 3_600_000, millis / 60_000 % 60, millis / 1000 % 60);
    if ms {
        format!("{h}:{m:02}:{s:02}.{:03}", millis % 1000)
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

/// A span of a run of `end_t` seconds in the time axis's terms: one
/// moment when it is one, the milliseconds kept unless both ends are whole
/// seconds. `1:01:14.172–1:01:19.669`, `12.500–13.000 s`.
pub fn span(start: f64, end: f64, end_t: f64) -> String {
    let whole = |t: f64| (t * 1000.0).round() % 1000.0 == 0.0;
    let ms = !(whole(start) && whole(end));
    if (end - start).abs() < 0.0005 {
        return moment(start, end_t, ms);
    }
    let (a, b) = (moment(start, end_t, ms), moment(end, end_t, ms));
    // The unit once, after both ends.
    match (a.strip_suffix(" s"), b.strip_suffix(" s")) {
        (Some(a), Some(b)) => format!("{a}–{b} s"),
        _ => format!("{a}–{b}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(8640.0), 10800.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
        assert_eq!(clock(5400.0, 1800.0), "1:30");
        assert_eq!(clock(12.0, 5.0), "12 s");
        assert_eq!(clip("airplane", 4), "air…");
    }

    #[test]
    fn moments_read_like_the_axis() {
        // A day: the axis reads h:mm.
        assert_eq!(span(3674.172, 3679.669, 86400.0), "1:01:14.172–1:01:19.669");
        assert_eq!(span(3600.0, 3610.0, 86400.0), "1:00:00–1:00:10");
        assert_eq!(span(61.5, 61.5, 86400.0), "0:01:01.500");
        // Half a minute: the axis reads seconds.
        assert_eq!(span(12.5, 13.0, 30.0), "12.500–13.000 s");
        assert_eq!(span(5.0, 13.0, 30.0), "5–13 s");
        assert_eq!(moment(7.25, 30.0, true), "7.250 s");
    }

    #[test]
    fn narrow_phases_show_their_number_and_say_they_are_short() {
        let band = |name: &str, start: f64, end: f64| super::super::data::PhaseBand {
            name: name.into(),
            start,
            end,
            expect: "rf silent, net none, power off (≤ 5 mA)".into(),
            settle_s: 0.0,
        };
        // On a day: 2 h is 83 px, 25 min 17 px, 10 s well under a pixel.
        let phases = [
            band("warm-up", 0.0, 7200.0),
            band("airplane", 7200.0, 8700.0),
            band("blip", 8700.0, 8710.0),
            band("flight-mode-long-soak", 8710.0, 86400.0),
        ];
        let labels = phase_labels(&phases, 86400.0);
        assert_eq!(labels[0].name, "warm-up");
        assert!(!labels[0].numbered);
        assert!(labels[0].shortened, "its expectations are cut");
        assert_eq!(labels[1].name, "2");
        assert!(labels[1].name_at.is_some());
        // Sub-pixel: its number would cover its neighbours' labels, so it
        // is not drawn, but it is still listed under the figure.
        assert_eq!(labels[2].name, "3");
        assert!(labels[2].name_at.is_none());
        assert!(labels[2].shortened && labels[2].numbered);
        assert_eq!(labels[3].name, "flight-mode-long-soak");
        assert_eq!(labels[3].expect, "rf silent, net none, power off (≤ 5 mA)");
        assert!(!labels[3].shortened);
    }
}
