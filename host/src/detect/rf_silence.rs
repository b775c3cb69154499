//! RF in a silent phase (`rf-in-silence`): bursts above each channel's
//! noise floor, told apart from the room.
//!
//! A phone in airplane mode, or "switched off", must not transmit; any
//! burst its enclosure's antenna hears that the room did not cause fails
//! it. Two passes over `rf.sigmf-data`, memory flat however long the recording:
//!
//! 1. **Noise floor per channel**, robustly: the median and the median
//!    absolute deviation (MAD) of all its samples, from a 0.1 dB histogram
//!    (Hampel's MAD, scaled by 1.4826 to a Gaussian σ; Rousseeuw & Croux,
//!    "Alternatives to the median absolute deviation", JASA 1993). A phone
//!    that transmits less than half the time does not move it.
//! 2. **Bursts**: runs of at least `MIN_BURST_SAMPLES` samples above
//!    `floor + max(MIN_ABOVE_DB, K_MAD · σ)`. A lost sample (NaN) ends a run.
//!
//! **The room**: a burst on a DUT's channel is the room's, not the DUT's,
//! when the ambient antenna (a channel with no DUT) in an overlapping band
//! hears something at the same time, or when every other DUT's enclosure
//! hears a burst in an overlapping band that starts within a couple of
//! samples of it (a signal from outside reaches every enclosure at once; two
//! phones' own transmissions do not start on the same millisecond).

use std::collections::BTreeMap;

use serde_json::json;

use super::{Finding, Severity, plural, round};
use crate::record::read::{ChannelKind, ReadError, SigmfReader};

/// At least this far above the floor, whatever the MAD says: a log-amp
/// detector's repeatability is about ±0.5 dB, a CC1101's RSSI ±1 dB.
pub const MIN_ABOVE_DB: f64 = 6.0;
/// ...and this many robust standard deviations above it: with Gaussian
/// noise, a 6σ excursion happens about once in 10^9 samples (a day of 9
/// channels at 1 kS/s is 8·10^8), and a burst needs two in a row.
pub const K_MAD: f64 = 6.0;
/// A burst in a silent phase lasts at least this many samples: one noisy
/// sample is not a transmission worth failing a phone for.
pub const MIN_BURST_SAMPLES: usize = 2;
/// How close (s) the ambient antenna's burst must be to count as the same.
const ROOM_WINDOW_S: f64 = 0.02;

/// Histogram range and resolution for the floor estimate.
const HIST_LO_DBM: f64 = -160.0;
const HIST_HI_DBM: f64 = 40.0;
const HIST_STEP_DB: f64 = 0.1;

/// One channel's noise floor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floor {
    pub median_dbm: f64,
    /// Robust σ: 1.4826 · MAD.
    pub sigma_db: f64,
    /// Samples above this belong to bursts.
    pub threshold_dbm: f64,
    pub samples: u64,
}

/// A burst on one channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    pub channel: usize,
    pub start_s: f64,
    /// One sample period after its last sample.
    pub end_s: f64,
    pub peak_dbm: f64,
    /// Heard by the ambient antenna or by every enclosure at once.
    pub room: bool,
}

impl Burst {
    pub fn duration_s(&self) -> f64 {
        self.end_s - self.start_s
    }

    /// Long enough to count as a transmission on its own (see
    /// `MIN_BURST_SAMPLES`). Shorter ones are kept for the timing of
    /// bursts: a BLE advertisement (under 1 ms) is one sample at 1 kS/s,
    /// and dropping those would turn a steady 300 ms rhythm into gaps at
    /// multiples of 300 ms, which is what a slotted covert channel looks like.
    pub fn counts(&self, period_s: f64) -> bool {
        self.duration_s() >= MIN_BURST_SAMPLES as f64 * period_s - 1e-9
    }
}

/// The channels' floors and bursts.
#[derive(Debug, Clone, Default)]
pub struct RfAnalysis {
    pub floors: Vec<Floor>,
    /// Per channel, in time order.
    pub bursts: Vec<Vec<Burst>>,
}

/// Both passes over `reader`.
pub fn analyze(reader: &mut SigmfReader) -> Result<RfAnalysis, ReadError> {
    let floors = floors(reader)?;
    let mut bursts = find_bursts(reader, &floors)?;
    mark_room(reader, &mut bursts);
    Ok(RfAnalysis { floors, bursts })
}

/// The `rf-in-silence` finding for one silent phase of a DUT's channel:
/// the channel's own bursts (`bursts`, the room's already left out) that
/// count as transmissions and start in `[from, to)`; None when there are none.
pub fn finding(
    bursts: &[&Burst],
    floor: &Floor,
    period_s: f64,
    (phase, from, to): (&str, f64, f64),
    channel: &str,
) -> Option<Finding> {
    let inside: Vec<&Burst> = bursts
        .iter()
        .copied()
        .filter(|b| b.counts(period_s) && b.start_s >= from && b.start_s < to)
        .collect();
    let (first, last) = (inside.first()?, inside.last()?);
    let peak = inside.iter().map(|b| b.peak_dbm).fold(f64::MIN, f64::max);
    let longest = inside.iter().map(|b| b.duration_s()).fold(0.0, f64::max);
    let above = peak - floor.median_dbm;
    let mut evidence = BTreeMap::new();
    evidence.insert("bursts".into(), json!(inside.len()));
    evidence.insert("peak_dbm".into(), json!(round(peak, 1)));
    evidence.insert("floor_dbm".into(), json!(round(floor.median_dbm, 1)));
    evidence.insert("threshold_dbm".into(), json!(round(floor.threshold_dbm, 1)));
    evidence.insert("above_floor_db".into(), json!(round(above, 1)));
    evidence.insert("longest_ms".into(), json!(round(longest * 1e3, 1)));
    Some(Finding {
        kind: "rf-in-silence",
        severity: Severity::High,
        phase: Some(phase.to_string()),
        start_s: first.start_s,
        end_s: last.end_s,
        channel: Some(channel.to_string()),
        // 10 dB above the floor is half sure, 20 dB and more sure.
        score: (above / 20.0).clamp(0.5, 1.0),
        summary: format!(
            "{} burst{} up to {:.0} dB above the noise floor (longest {:.0} ms) in {channel} during phase \"{phase}\", which expects RF silence",
            inside.len(),
            plural(inside.len()),
            above,
            longest * 1e3,
        ),
        evidence,
    })
}

fn floors(reader: &mut SigmfReader) -> Result<Vec<Floor>, ReadError> {
    let n = reader.num_channels();
    let bins = ((HIST_HI_DBM - HIST_LO_DBM) / HIST_STEP_DB) as usize + 1;
    let mut hist = vec![vec![0u64; bins]; n];
    reader.for_each_frame(|_, frame| {
        for (h, v) in hist.iter_mut().zip(frame) {
            if v.is_finite() {
                h[bin(*v, bins)] += 1;
            }
        }
    })?;
    Ok(hist.iter().map(|h| floor_of(h)).collect())
}

fn bin(v: f64, bins: usize) -> usize {
    (((v - HIST_LO_DBM) / HIST_STEP_DB).round().max(0.0) as usize).min(bins - 1)
}

fn center(i: usize) -> f64 {
    HIST_LO_DBM + i as f64 * HIST_STEP_DB
}

/// Median and MAD from a histogram (no second pass over the data).
fn floor_of(hist: &[u64]) -> Floor {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return Floor {
            median_dbm: f64::NAN,
            sigma_db: f64::NAN,
            threshold_dbm: f64::INFINITY,
            samples: 0,
        };
    }
    let median_bin = quantile_bin(hist.iter().copied().enumerate(), total);
    let median = center(median_bin);
    // Deviations from the median, binned by whole bins of distance.
    let mut dev = vec![0u64; hist.len()];
    for (i, &c) in hist.iter().enumerate() {
        dev[i.abs_diff(median_bin)] += c;
    }
    let mad = quantile_bin(dev.iter().copied().enumerate(), total) as f64 * HIST_STEP_DB;
    // Half a bin of resolution is the least spread a histogram can show.
    let sigma = 1.4826 * mad.max(HIST_STEP_DB / 2.0);
    Floor {
        median_dbm: median,
        sigma_db: sigma,
        threshold_dbm: median + MIN_ABOVE_DB.max(K_MAD * sigma),
        samples: total,
    }
}

/// The bin holding the median of `total` counts. Also the history's
/// per-phase idle current (`history::profile`), so a histogram's median is
/// taken one way.
pub(crate) fn quantile_bin(counts: impl Iterator<Item = (usize, u64)>, total: u64) -> usize {
    let half = total.div_ceil(2);
    let mut seen = 0;
    for (i, c) in counts {
        seen += c;
        if seen >= half {
            return i;
        }
    }
    0
}

fn find_bursts(reader: &mut SigmfReader, floors: &[Floor]) -> Result<Vec<Vec<Burst>>, ReadError> {
    let n = reader.num_channels();
    let period = 1.0 / reader.sample_rate();
    let mut bursts = vec![Vec::new(); n];
    // Per channel: (first sample's time, samples, peak) of the run going on.
    let mut open: Vec<Option<(f64, usize, f64)>> = vec![None; n];
    let close = |bursts: &mut Vec<Vec<Burst>>, ch: usize, run: (f64, usize, f64)| {
        let (start_s, len, peak) = run;
        if len >= 1 {
            bursts[ch].push(Burst {
                channel: ch,
                start_s,
                end_s: start_s + len as f64 * period,
                peak_dbm: peak,
                room: false,
            });
        }
    };
    reader.for_each_frame(|t, frame| {
        for (ch, &v) in frame.iter().enumerate() {
            let above = v.is_finite() && v > floors[ch].threshold_dbm;
            match (&mut open[ch], above) {
                (Some((_, len, peak)), true) => {
                    *len += 1;
                    *peak = peak.max(v);
                }
                (slot @ None, true) => *slot = Some((t, 1, v)),
                (slot @ Some(_), false) => {
                    if let Some(run) = slot.take() {
                        close(&mut bursts, ch, run);
                    }
                }
                (None, false) => {}
            }
        }
    })?;
    for (ch, slot) in open.iter_mut().enumerate() {
        if let Some(run) = slot.take() {
            close(&mut bursts, ch, run);
        }
    }
    Ok(bursts)
}

/// The band of channel `ch`, if it is an RF band.
fn band(reader: &SigmfReader, ch: usize) -> Option<(f64, f64)> {
    match &reader.channels().get(ch)?.kind {
        ChannelKind::Band {
            low_hz, high_hz, ..
        } => Some((*low_hz, *high_hz)),
        ChannelKind::Supply { .. } => None,
    }
}

fn overlaps(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// Whether `list` (in time order) has a burst overlapping `[from, to)`.
fn any_in(list: &[Burst], from: f64, to: f64) -> bool {
    let i = list.partition_point(|b| b.end_s <= from);
    list.get(i).is_some_and(|b| b.start_s < to)
}

/// Whether `list` (in time order) has a burst starting within `tol` of `t`.
fn starts_near(list: &[Burst], t: f64, tol: f64) -> bool {
    let i = list.partition_point(|b| b.start_s < t - tol);
    list.get(i).is_some_and(|b| b.start_s <= t + tol)
}

fn mark_room(reader: &SigmfReader, bursts: &mut [Vec<Burst>]) {
    let channels = reader.channels();
    let period = 1.0 / reader.sample_rate();
    let ambient: Vec<usize> = (0..channels.len())
        .filter(|&c| channels[c].dut.is_none() && band(reader, c).is_some())
        .collect();
    let mut duts: Vec<&str> = channels.iter().filter_map(|c| c.dut.as_deref()).collect();
    duts.sort_unstable();
    duts.dedup();
    let mut room = Vec::new();
    for ch in 0..channels.len() {
        let (Some(dut), Some(my_band)) = (channels[ch].dut.as_deref(), band(reader, ch)) else {
            continue;
        };
        // Per channel, not per burst: the ambient channels in this band, and
        // per other DUT its channels in this band.
        let outside: Vec<usize> = ambient
            .iter()
            .copied()
            .filter(|&a| band(reader, a).is_some_and(|ab| overlaps(ab, my_band)))
            .collect();
        let others: Vec<Vec<usize>> = duts
            .iter()
            .filter(|d| **d != dut)
            .map(|other| {
                (0..channels.len())
                    .filter(|&c| {
                        channels[c].dut.as_deref() == Some(*other)
                            && band(reader, c).is_some_and(|ob| overlaps(ob, my_band))
                    })
                    .collect()
            })
            .collect();
        for (k, b) in bursts[ch].iter().enumerate() {
            let (from, to) = (b.start_s - ROOM_WINDOW_S, b.end_s + ROOM_WINDOW_S);
            let heard_outside = outside.iter().any(|&a| any_in(&bursts[a], from, to));
            let everywhere = !others.is_empty()
                && others.iter().all(|theirs| {
                    theirs
                        .iter()
                        .any(|&c| starts_near(&bursts[c], b.start_s, 2.0 * period))
                });
            if heard_outside || everywhere {
                room.push((ch, k));
            }
        }
    }
    for (ch, k) in room {
        bursts[ch][k].room = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_ignores_a_busy_minority() {
        let bins = ((HIST_HI_DBM - HIST_LO_DBM) / HIST_STEP_DB) as usize + 1;
        let mut h = vec![0u64; bins];
        let mut rng = crate::sim::rng::SimRng::new(1);
        for i in 0..100_000 {
            let v = if i % 5 == 0 {
                -40.0 // a phone transmitting 20% of the time
            } else {
                -95.0 + rng.range(-1.5, 1.5)
            };
            h[bin(v, bins)] += 1;
        }
        let f = floor_of(&h);
        // The busy fifth shifts the median by less than half a dB (to the
        // noise's 62.5% quantile), where a mean would move 11 dB.
        assert!((f.median_dbm + 95.0).abs() < 0.5, "{f:?}");
        // Uniform ±1.5 dB: MAD 0.75 dB; the contamination widens it a little.
        assert!((f.sigma_db - 1.4826 * 0.75).abs() < 0.5, "{f:?}");
        assert!(
            f.threshold_dbm > -95.0 + 6.0 && f.threshold_dbm < -85.0,
            "{f:?}"
        );
    }
}
