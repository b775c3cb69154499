//! Current while "off" (`power-in-off`): a phone the scenario switched off
//! in software (`power = "off"`) that still draws more than the phase's
//! `off_current_a` is running something.
//!
//! One pass over `power.sigmf-data`, keeping per channel only the stretches
//! above a limit the caller asks about and the mean of each stretch of time
//! the limit applies, whole and in [`WINDOW_S`] windows. Memory stays flat:
//! a stretch is two numbers and a peak.
//!
//! Three ways to draw too much, each enough:
//!
//! - **A draw**: a stretch above the limit lasting [`MIN_EXCESS_S`]. A
//!   shorter stretch is a spike (a capacitor charging, the PMIC's own
//!   housekeeping), not a draw...
//! - **Energy**: ...unless the spikes add up. The mean over the phase, or
//!   over any [`WINDOW_S`] window of it, above the limit is a draw however
//!   it is spread: a processor waking 45 ms every second at 250 mA averages
//!   11 mA, and noise around a mean above the limit, which cuts the draw
//!   into stretches shorter than [`MIN_EXCESS_S`], cannot split the mean.
//! - **A spike no switched-off phone draws**: a sample at
//!   [`never_off_a`] or above, however short (a processor or a radio
//!   awake: a shut-down phone's PMIC and RTC draw milliamperes).
//!
//! What a rate can show: a spike of at least one sample period (1 ms at
//! 1 kS/s, 100 ms at 10 S/s); a shorter spike shows only as much as it
//! lifts the sample it falls in (an averaging sensor such as the INA226
//! averages over its conversion time, so its energy is seen in the mean).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde_json::json;

use super::{Finding, Severity, round};
use benchctl_format::read::{ReadError, SigmfReader};

/// Current above the limit for less than this is a spike, not a draw.
pub const MIN_EXCESS_S: f64 = 0.05;

/// The mean of every window this long of an "off" phase must stay within
/// the limit: short enough that a wake-up every second shows, long enough
/// to hold many samples at any rate above 10 S/s.
pub const WINDOW_S: f64 = 1.0;

/// A window counts when it holds at least this share of its samples (the
/// rest lost): a mean over a few samples is a spike, judged as one.
const WINDOW_MIN_SHARE: f64 = 0.5;

/// The current no switched-off phone draws, even for one sample, given the
/// phase's limit: twenty times the limit and at least 100 mA. A phone shut
/// down draws a few mA (PMIC, RTC); 100 mA is a processor or a radio awake
/// (a suspended phone with its modem attached draws 60-90 mA).
pub fn never_off_a(limit_a: f64) -> f64 {
    (20.0 * limit_a).max(0.1)
}

/// The limit that applies to a channel at one moment, and since when: a
/// change of either starts new stretches and means (a phase's settle window
/// and its judged part are judged apart, even under the same limit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub amps: f64,
    pub from_s: f64,
}

/// The mean current over a stretch of time in which the limit applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mean {
    pub start_s: f64,
    pub end_s: f64,
    pub mean_a: f64,
    pub limit_a: f64,
    /// Measured samples it is the mean of.
    pub samples: u64,
}

/// A stretch of samples above a limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Excess {
    pub start_s: f64,
    pub end_s: f64,
    pub peak_a: f64,
    /// Mean over the stretch.
    pub mean_a: f64,
}

/// What one pass over the current found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Above {
    /// Per channel, the stretches above the limit.
    pub excess: Vec<Vec<Excess>>,
    /// Per channel, the mean over each stretch of time the limit applied
    /// (a phase's judged part), in time order.
    pub spans: Vec<Vec<Mean>>,
    /// Per channel, the means of its [`WINDOW_S`] windows, in time order.
    pub windows: Vec<Vec<Mean>>,
    /// Per channel, the samples measured (not NaN: not lost) at run times
    /// inside the `counted` span given to [`above`].
    pub measured: Vec<u64>,
}

/// Per channel, where its samples exceed `limit(channel, t)` (None: no
/// limit at that time; a new [`Limit`] closes what the last one opened),
/// and how many were measured in `counted`. A NaN
/// sample is lost and ends a stretch; +inf (a sensor driven past its range)
/// is measured, and above any limit.
pub fn above<F>(
    reader: &mut SigmfReader,
    counted: RangeInclusive<f64>,
    limit: F,
) -> Result<Above, ReadError>
where
    F: FnMut(usize, f64) -> Option<Limit>,
{
    above_watching(reader, counted, limit, |_, _| {})
}

/// [`above`], showing every frame (in order, from the first, NaN kept) to
/// `watch` on the way: the analysis tallies where each channel was
/// measured (`analyze::coverage`) without another pass over the data.
pub fn above_watching<F>(
    reader: &mut SigmfReader,
    counted: RangeInclusive<f64>,
    mut limit: F,
    mut watch: impl FnMut(f64, &[f64]),
) -> Result<Above, ReadError>
where
    F: FnMut(usize, f64) -> Option<Limit>,
{
    let n = reader.num_channels();
    let period = 1.0 / reader.sample_rate();
    let mut out = vec![Vec::new(); n];
    let mut measured = vec![0u64; n];
    // (start t, samples, sum, peak)
    let mut open: Vec<Option<(f64, u64, f64, f64)>> = vec![None; n];
    let mut spans = vec![Vec::new(); n];
    let mut windows = vec![Vec::new(); n];
    let mut span: Vec<Option<Mean>> = vec![None; n];
    let mut window: Vec<Option<Mean>> = vec![None; n];
    let mut applies: Vec<Option<Limit>> = vec![None; n];
    let per_window = (WINDOW_S / period).round().max(1.0);
    reader.for_each_frame(|t, frame| {
        watch(t, frame);
        for (ch, &v) in frame.iter().enumerate() {
            measured[ch] += u64::from(!v.is_nan() && counted.contains(&t));
            let now = limit(ch, t);
            // The means: a span while the same limit applies, cut into
            // windows; a lost sample is left out of both. A stretch above
            // ends with its limit too.
            if applies[ch] != now {
                close_mean(&mut span[ch], &mut spans[ch], 1.0);
                close_mean(&mut window[ch], &mut windows[ch], per_window);
                if let Some(run) = open[ch].take() {
                    out[ch].push(excess(run, period));
                }
                applies[ch] = now;
            }
            let limit_now = now.map(|l| l.amps);
            if window[ch].is_some_and(|m| t + 0.5 * period - m.start_s >= WINDOW_S) {
                close_mean(&mut window[ch], &mut windows[ch], per_window);
            }
            if let Some(l) = limit_now {
                for m in [&mut span[ch], &mut window[ch]] {
                    let m = m.get_or_insert(Mean {
                        start_s: t,
                        end_s: t,
                        mean_a: 0.0,
                        limit_a: l,
                        samples: 0,
                    });
                    m.end_s = t + period;
                    if !v.is_nan() {
                        // A running sum until closed: `close_mean` divides.
                        m.mean_a += v;
                        m.samples += 1;
                    }
                }
            }
            let over = !v.is_nan() && limit_now.is_some_and(|l| v > l);
            match (&mut open[ch], over) {
                (Some((_, len, sum, peak)), true) => {
                    *len += 1;
                    *sum += v;
                    *peak = peak.max(v);
                }
                (slot @ None, true) => *slot = Some((t, 1, v, v)),
                (slot, false) => {
                    if let Some(run) = slot.take() {
                        out[ch].push(excess(run, period));
                    }
                }
            }
        }
    })?;
    for (ch, slot) in open.iter_mut().enumerate() {
        if let Some(run) = slot.take() {
            out[ch].push(excess(run, period));
        }
        close_mean(&mut span[ch], &mut spans[ch], 1.0);
        close_mean(&mut window[ch], &mut windows[ch], per_window);
    }
    Ok(Above {
        excess: out,
        spans,
        windows,
        measured,
    })
}

/// One channel's share of [`Above`].
#[derive(Debug, Clone, Copy)]
pub struct ChannelDraw<'a> {
    pub excess: &'a [Excess],
    pub spans: &'a [Mean],
    pub windows: &'a [Mean],
}

impl Above {
    /// Channel `ch`'s stretches and means.
    pub fn channel(&self, ch: usize) -> ChannelDraw<'_> {
        ChannelDraw {
            excess: self.excess.get(ch).map_or(&[][..], Vec::as_slice),
            spans: self.spans.get(ch).map_or(&[][..], Vec::as_slice),
            windows: self.windows.get(ch).map_or(&[][..], Vec::as_slice),
        }
    }
}

/// The `power-in-off` finding for the part `[from, to)` of an "off" phase
/// (its judged part, or its settle window) of a DUT's supply channel, from
/// that channel's stretches above `limit_a` and its means that start there
/// (see the module docs for the three rules); None when none applies.
pub fn finding(
    draw: ChannelDraw<'_>,
    (phase, from, to): (&str, f64, f64),
    limit_a: f64,
    channel: &str,
) -> Option<Finding> {
    let starts_inside = |start: f64| start >= from && start < to;
    let stretches: Vec<&Excess> = draw
        .excess
        .iter()
        .filter(|e| starts_inside(e.start_s))
        .collect();
    let draws: Vec<&&Excess> = stretches
        .iter()
        .filter(|e| e.end_s - e.start_s >= MIN_EXCESS_S)
        .collect();
    let never = never_off_a(limit_a);
    let spikes: Vec<&&Excess> = stretches.iter().filter(|e| e.peak_a >= never).collect();
    let span_over: Vec<&Mean> = draw
        .spans
        .iter()
        .filter(|m| starts_inside(m.start_s) && m.mean_a > limit_a)
        .collect();
    let windows_over: Vec<&Mean> = draw
        .windows
        .iter()
        .filter(|m| starts_inside(m.start_s) && m.mean_a > limit_a)
        .collect();
    if draws.is_empty() && spikes.is_empty() && span_over.is_empty() && windows_over.is_empty() {
        return None;
    }
    let phase_mean = {
        let inside: Vec<&Mean> = draw
            .spans
            .iter()
            .filter(|m| starts_inside(m.start_s))
            .collect();
        let n: u64 = inside.iter().map(|m| m.samples).sum();
        (n > 0).then(|| {
            inside
                .iter()
                .map(|m| m.mean_a * m.samples as f64)
                .sum::<f64>()
                / n as f64
        })
    };
    let over_s: f64 = draws.iter().map(|e| e.end_s - e.start_s).sum();
    let peak = stretches.iter().map(|e| e.peak_a).fold(0.0, f64::max);
    let first = stretches
        .first()
        .map(|e| e.start_s)
        .into_iter()
        .chain(windows_over.first().map(|m| m.start_s))
        .chain(span_over.first().map(|m| m.start_s))
        .fold(f64::INFINITY, f64::min);
    let last = stretches
        .last()
        .map(|e| e.end_s)
        .into_iter()
        .chain(windows_over.last().map(|m| m.end_s))
        .chain(span_over.last().map(|m| m.end_s))
        .fold(f64::NEG_INFINITY, f64::max);
    let ma = |a: f64| a * 1e3;
    // What it did, in the order a person would weigh it.
    let mut what = Vec::new();
    if !peak.is_finite() {
        what.push("drives the current sensor past its range".to_string());
    }
    if let Some(mean) = phase_mean.filter(|m| m.is_finite() && *m > limit_a) {
        what.push(format!(
            "draws {:.1} mA on average over the phase",
            ma(mean)
        ));
    } else if let Some(worst) = windows_over
        .iter()
        .map(|m| m.mean_a)
        .filter(|m| m.is_finite())
        .reduce(f64::max)
    {
        what.push(format!(
            "averages up to {:.1} mA over {WINDOW_S:.0} s ({} of its {WINDOW_S:.0} s windows above the limit)",
            ma(worst),
            windows_over.len()
        ));
    }
    if !draws.is_empty() {
        what.push(format!("stays above the limit for {over_s:.1} s"));
    }
    if !spikes.is_empty() && peak.is_finite() {
        what.push(format!(
            "spikes to {:.0} mA {} time{} (a switched-off phone never draws {:.0} mA)",
            ma(peak),
            spikes.len(),
            crate::plural(spikes.len()),
            ma(never)
        ));
    }
    let mut evidence = BTreeMap::new();
    evidence.insert("limit_a".into(), json!(limit_a));
    if let Some(mean) = phase_mean.filter(|m| m.is_finite()) {
        evidence.insert("mean_a".into(), json!(round(mean, 4)));
    }
    if peak.is_finite() {
        evidence.insert("peak_a".into(), json!(round(peak, 4)));
    }
    evidence.insert("seconds_above".into(), json!(round(over_s, 2)));
    evidence.insert("windows_above".into(), json!(windows_over.len()));
    evidence.insert("spikes".into(), json!(spikes.len()));
    // How sure: the share of the phase spent above the limit, or of its
    // windows over it, at least half sure; a draw over the whole phase's
    // mean or a spike no off phone draws is sure.
    let windows_total = draw
        .windows
        .iter()
        .filter(|m| starts_inside(m.start_s))
        .count()
        .max(1);
    let score = if !span_over.is_empty() || !spikes.is_empty() {
        1.0
    } else {
        (over_s / (to - from).max(over_s))
            .max(windows_over.len() as f64 / windows_total as f64)
            .clamp(0.5, 1.0)
    };
    Some(Finding {
        kind: "power-in-off",
        severity: Severity::High,
        phase: Some(phase.to_string()),
        start_s: first.min(last),
        end_s: last.max(first),
        channel: Some(channel.to_string()),
        score,
        summary: format!(
            "{} in phase \"{phase}\", where it claims to be off (limit {:.1} mA)",
            what.join(", "),
            ma(limit_a)
        ),
        evidence,
        settle: false,
    })
}

/// Close a running mean (its `mean_a` a sum so far) into `into`, if it
/// holds enough measured samples: at least one, and for a window
/// [`WINDOW_MIN_SHARE`] of the `full` samples a whole one holds.
fn close_mean(open: &mut Option<Mean>, into: &mut Vec<Mean>, full: f64) {
    let Some(mut m) = open.take() else { return };
    if m.samples == 0 || (full > 1.0 && (m.samples as f64) < WINDOW_MIN_SHARE * full) {
        return;
    }
    m.mean_a /= m.samples as f64;
    into.push(m);
}

/// A finished stretch: (start t, samples, sum, peak) at `period` s a sample.
fn excess((start, len, sum, peak): (f64, u64, f64, f64), period: f64) -> Excess {
    Excess {
        start_s: start,
        end_s: start + len as f64 * period,
        peak_a: peak,
        mean_a: sum / len as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use benchctl_format::read::Stream;
    use benchctl_format::sigmf::{SigmfWriter, Unit, current_channel};

    /// A current sensor driven past its range writes +inf: a measured
    /// sample above any limit, not a lost one. NaN is lost. Only samples
    /// inside the counted span are counted as measured.
    #[test]
    fn plus_infinity_is_above_the_limit_and_nan_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SigmfWriter::create(
            dir.path(),
            "power",
            100.0,
            vec![current_channel(Some("phone-a"))],
            Unit::Ampere,
            "2026-11-26T15:30:00.000Z",
        )
        .unwrap();
        // 10 s at 100 S/s: 1 mA, but +inf for 0.2 s at 5 s and NaN for
        // 0.1 s at 7 s.
        let samples: Vec<f32> = (0..1000)
            .map(|i| match i {
                500..520 => f32::INFINITY,
                700..710 => f32::NAN,
                _ => 0.001,
            })
            .collect();
        writer.push_frames(&samples).unwrap();
        writer.finish().unwrap();
        let mut reader = SigmfReader::open(dir.path(), Stream::Power).unwrap();
        let above = above(&mut reader, 0.0..=8.995, |_, _| {
            Some(Limit {
                amps: 0.005,
                from_s: 0.0,
            })
        })
        .unwrap();
        // 0..=8.995 s: 900 samples, less the 10 lost.
        assert_eq!(above.measured, [890]);
        assert_eq!(above.excess[0].len(), 1, "{above:?}");
        let e = above.excess[0][0];
        assert!(
            (e.start_s - 5.0).abs() < 1e-9 && (e.end_s - 5.2).abs() < 1e-9,
            "{e:?}"
        );
        let found = finding(above.channel(0), ("soft-off", 1.0, 10.0), 0.005, "supply")
            .expect("the saturated draw is found");
        assert!(
            found
                .summary
                .starts_with("drives the current sensor past its range, "),
            "{}",
            found.summary
        );
    }

    /// A 1 kS/s supply channel, `secs` long, drawing `amps(t)`, read with
    /// `limit` (channel, t) as [`above`] takes it.
    fn draw(
        secs: f64,
        amps: impl Fn(f64) -> f64,
        limit: impl FnMut(usize, f64) -> Option<Limit>,
    ) -> Above {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SigmfWriter::create(
            dir.path(),
            "power",
            1000.0,
            vec![current_channel(Some("phone-b"))],
            Unit::Ampere,
            "2026-11-26T15:30:00.000Z",
        )
        .unwrap();
        let samples: Vec<f32> = (0..(secs * 1000.0) as u64)
            .map(|i| amps(i as f64 / 1000.0) as f32)
            .collect();
        writer.push_frames(&samples).unwrap();
        writer.finish().unwrap();
        let mut reader = SigmfReader::open(dir.path(), Stream::Power).unwrap();
        above(&mut reader, 0.0..=secs, limit).unwrap()
    }

    /// [`draw`] judged as one "off" phase over all of it with a 5 mA limit.
    fn judge_off(secs: f64, amps: impl Fn(f64) -> f64) -> Option<Finding> {
        let limit = |_: usize, _: f64| {
            Some(Limit {
                amps: 0.005,
                from_s: 0.0,
            })
        };
        let above = draw(secs, amps, limit);
        finding(above.channel(0), ("soft-off", 0.0, secs), 0.005, "supply")
    }

    /// A draw that starts inside a 2 s settle window and runs on is cut at
    /// the window's end: its part after it is a draw of the judged phase,
    /// not hidden in a stretch that started while the DUT was settling.
    #[test]
    fn a_draw_running_on_past_the_settle_window_is_judged_after_it() {
        // 30 mA from 1 s to 4 s of a 6 s "off" phase settling for 2 s.
        let amps = |t: f64| if (1.0..4.0).contains(&t) { 0.03 } else { 0.001 };
        let limit = |_: usize, t: f64| {
            Some(Limit {
                amps: 0.005,
                from_s: if t < 2.0 { 0.0 } else { 2.0 },
            })
        };
        let above = draw(6.0, amps, limit);
        let settling = finding(above.channel(0), ("soft-off", 0.0, 2.0), 0.005, "supply")
            .expect("the draw while settling");
        assert!((settling.end_s - 2.0).abs() < 1e-9, "{settling:?}");
        let judged = finding(above.channel(0), ("soft-off", 2.0, 6.0), 0.005, "supply")
            .expect("the draw after the window");
        assert!((judged.start_s - 2.0).abs() < 1e-9, "{judged:?}");
        assert_eq!(judged.evidence["seconds_above"], 2.0, "{judged:?}");
    }

    /// Issue 21, class 3: awake 45 ms at 250 mA once a second (mean 11.6 mA
    /// against 5 mA): no stretch lasts 50 ms, yet it is a draw three ways.
    #[test]
    fn short_wakes_that_add_up_are_a_draw() {
        let found = judge_off(6.0, |t| if t.fract() < 0.045 { 0.25 } else { 0.001 })
            .expect("the wakes are found");
        assert!(
            found.summary.contains("on average over the phase"),
            "{}",
            found.summary
        );
        assert!(
            found.summary.contains("spikes to 250 mA 6 times"),
            "{}",
            found.summary
        );
        assert_eq!(found.evidence["seconds_above"], 0.0);
        assert_eq!(found.score, 1.0);
    }

    /// Noise around a mean above the limit cuts it into stretches shorter
    /// than 50 ms: the mean still counts.
    #[test]
    fn noise_does_not_split_a_draw_into_passing_pieces() {
        let mut rng = benchctl_rng::SimRng::new(3);
        let noisy: Vec<f64> = (0..6000)
            .map(|_| 0.0065 + rng.range(-0.004, 0.004))
            .collect();
        let found = judge_off(6.0, |t| noisy[((t * 1000.0).round() as usize).min(5999)])
            .expect("the draw is found");
        assert!(
            found.summary.contains("on average over the phase"),
            "{}",
            found.summary
        );
    }

    /// One sample a switched-off phone never draws is enough; an honest
    /// phone's few mA, with now and then a short PMIC blip, is not a draw.
    #[test]
    fn one_sample_no_off_phone_draws_is_enough_and_housekeeping_is_not() {
        let found = judge_off(6.0, |t| {
            if (3.0..3.001).contains(&t) {
                0.15
            } else {
                0.002
            }
        })
        .expect("the spike is found");
        assert!(
            found.summary.contains("spikes to 150 mA 1 time"),
            "{}",
            found.summary
        );
        assert_eq!(
            judge_off(6.0, |t| {
                if t.fract() < 0.02 && (t as u64).is_multiple_of(3) {
                    0.03
                } else {
                    0.002
                }
            }),
            None
        );
        assert_eq!(judge_off(6.0, |t| 0.002 + 0.0001 * (t * 7.0).sin()), None);
    }
}
