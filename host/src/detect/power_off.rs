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

use serde_json::json;

use super::{Finding, Severity, round};
use crate::record::read::{ReadError, SigmfReader};

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
    /// Per channel, the samples measured (not NaN: not lost).
    pub measured: Vec<u64>,
}

/// Per channel, where its samples exceed `limit(channel, t)` (None: no
/// limit at that time). A NaN sample ends a stretch.
pub fn above<F>(reader: &mut SigmfReader, mut limit: F) -> Result<Above, ReadError>
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
        for (ch, &v) in frame.iter().enumerate() {
            measured[ch] += u64::from(v.is_finite());
            let over = v.is_finite() && limit(ch, t).is_some_and(|l| v > l);
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
            "draws {:.1} mA on average (peaks {:.0} mA) for {:.1} s of phase \"{phase}\", where it claims to be off (limit {:.1} mA)",
            mean * 1e3,
            peak * 1e3,
            over_s,
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
