//! Current while "off" (`power-in-off`): a phone the scenario switched off
//! in software (`power = "off"`) that still draws more than the phase's
//! `off_current_a` is running something.
//!
//! One pass over `power.sigmf-data`, keeping per channel only the stretches
//! above a limit the caller asks about. Memory stays flat: a stretch is two
//! numbers and a peak. A stretch shorter than [`MIN_EXCESS_S`] is a spike
//! (a capacitor charging when a relay switches, the PMIC's own housekeeping),
//! not a draw.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde_json::json;

use super::{Finding, Severity, round};
use benchctl_format::read::{ReadError, SigmfReader};

/// Current above the limit for less than this is a spike, not a draw.
pub const MIN_EXCESS_S: f64 = 0.05;

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
    /// Per channel, the samples measured (not NaN: not lost) at run times
    /// inside the `counted` span given to [`above`].
    pub measured: Vec<u64>,
}

/// Per channel, where its samples exceed `limit(channel, t)` (None: no
/// limit at that time), and how many were measured in `counted`. A NaN
/// sample is lost and ends a stretch; +inf (a sensor driven past its range)
/// is measured, and above any limit.
pub fn above<F>(
    reader: &mut SigmfReader,
    counted: RangeInclusive<f64>,
    limit: F,
) -> Result<Above, ReadError>
where
    F: FnMut(usize, f64) -> Option<f64>,
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
    F: FnMut(usize, f64) -> Option<f64>,
{
    let n = reader.num_channels();
    let period = 1.0 / reader.sample_rate();
    let mut out = vec![Vec::new(); n];
    let mut measured = vec![0u64; n];
    // (start t, samples, sum, peak)
    let mut open: Vec<Option<(f64, u64, f64, f64)>> = vec![None; n];
    reader.for_each_frame(|t, frame| {
        watch(t, frame);
        for (ch, &v) in frame.iter().enumerate() {
            measured[ch] += u64::from(!v.is_nan() && counted.contains(&t));
            let over = !v.is_nan() && limit(ch, t).is_some_and(|l| v > l);
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
    }
    Ok(Above {
        excess: out,
        measured,
    })
}

/// The `power-in-off` finding for one "off" phase `(name, from, to)` of a
/// DUT's supply channel, from that channel's stretches above `limit_a`;
/// None when none lasts [`MIN_EXCESS_S`]. `judged_s` is how long the phase
/// was judged (its length less the bench's settling), for the score.
pub fn finding(
    stretches: &[Excess],
    (phase, from, to): (&str, f64, f64),
    judged_s: f64,
    limit_a: f64,
    channel: &str,
) -> Option<Finding> {
    let inside: Vec<&Excess> = stretches
        .iter()
        .filter(|e| e.start_s >= from && e.start_s < to)
        .filter(|e| e.end_s - e.start_s >= MIN_EXCESS_S)
        .collect();
    let (first, last) = (inside.first()?, inside.last()?);
    let over_s: f64 = inside.iter().map(|e| e.end_s - e.start_s).sum();
    let peak = inside.iter().map(|e| e.peak_a).fold(0.0, f64::max);
    let mean = inside
        .iter()
        .map(|e| e.mean_a * (e.end_s - e.start_s))
        .sum::<f64>()
        / over_s;
    // A sensor driven past its range reads +inf: more than any limit, by
    // no number worth printing.
    let draws = if mean.is_finite() {
        format!(
            "draws {:.1} mA on average (peaks {:.0} mA)",
            mean * 1e3,
            peak * 1e3
        )
    } else {
        "drives the current sensor past its range".to_string()
    };
    let mut evidence = BTreeMap::new();
    evidence.insert("limit_a".into(), json!(limit_a));
    evidence.insert("mean_a".into(), json!(round(mean, 4)));
    evidence.insert("peak_a".into(), json!(round(peak, 4)));
    evidence.insert("seconds_above".into(), json!(round(over_s, 2)));
    Some(Finding {
        kind: "power-in-off",
        severity: Severity::High,
        phase: Some(phase.to_string()),
        start_s: first.start_s,
        end_s: last.end_s,
        channel: Some(channel.to_string()),
        // The share of the phase spent above the limit, at least half sure.
        score: (over_s / judged_s.max(over_s)).clamp(0.5, 1.0),
        summary: format!(
            "{draws} for {over_s:.1} s of phase \"{phase}\", where it claims to be off (limit {:.1} mA)",
            limit_a * 1e3
        ),
        evidence,
    })
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
        let above = above(&mut reader, 0.0..=8.995, |_, _| Some(0.005)).unwrap();
        // 0..=8.995 s: 900 samples, less the 10 lost.
        assert_eq!(above.measured, [890]);
        assert_eq!(above.excess[0].len(), 1, "{above:?}");
        let e = above.excess[0][0];
        assert!(
            (e.start_s - 5.0).abs() < 1e-9 && (e.end_s - 5.2).abs() < 1e-9,
            "{e:?}"
        );
        let found = finding(
            &above.excess[0],
            ("soft-off", 1.0, 10.0),
            9.0,
            0.005,
            "supply",
        )
        .expect("the saturated draw is found");
        assert!(
            found
                .summary
                .starts_with("drives the current sensor past its range for 0.2 s"),
            "{}",
            found.summary
        );
    }
}
