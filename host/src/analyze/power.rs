//! Supply current: one pass over `power.sigmf-data`, keeping per channel
//! only the stretches above a limit the caller asks about. Memory stays
//! flat: a stretch is two numbers and a peak.

use crate::record::read::{ReadError, SigmfReader};

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

/// A finished stretch: (start t, samples, sum, peak) at `period` s a sample.
fn excess((start, len, sum, peak): (f64, u64, f64, f64), period: f64) -> Excess {
    Excess {
        start_s: start,
        end_s: start + len as f64 * period,
        peak_a: peak,
        mean_a: sum / len as f64,
    }
}
