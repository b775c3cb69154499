//! RF in a silent phase (`rf-in-silence`): bursts above each channel's
//! noise floor, told apart from the room.
//!
//! A phone in airplane mode, or "switched off", must not transmit; any
//! burst its enclosure's antenna hears that the room did not cause fails
//! it. Two passes over `rf.sigmf-data`, memory flat however long the recording:
//!
//! 1. **Noise floor per channel**, robustly: the median and the median
//!    absolute deviation (MAD) of its samples, from a 0.1 dB histogram
//!    (Hampel's MAD, scaled by 1.4826 to a Gaussian σ; Rousseeuw & Croux,
//!    "Alternatives to the median absolute deviation", JASA 1993). A phone
//!    that transmits less than half the time does not move it.
//!
//!    **Which samples**: the channel's recording in *segments*, its DUT's
//!    phases from the journal (the caller's `cuts`; a channel with no DUT,
//!    the ambient antenna, is one segment), each segment's floor taken when
//!    it ends (two histograms per channel however many phases: the
//!    segment under way and the whole recording). ±inf readings (a
//!    detector out of its range) are measured samples but no measure of
//!    the noise, so they stay out of the floor. The floor is the quietest segment's (lowest median) among
//!    those holding at least [`MIN_REFERENCE_S`] of samples; when none
//!    does, the whole recording's. A median of the whole recording would let
//!    a phone busy in its "any" phases for more than half the run lift its
//!    own floor by tens of dB and hide every burst of its silent phases; a
//!    median of the silent phase alone would let a phone that transmits
//!    through most of that phase do the same. The quietest phase is neither:
//!    it is the one where the DUT, whatever it did elsewhere, sent least.
//!    The boot phase is usually that reference: until the bench's
//!    `power.on` and the first seconds of a cold boot the phone is
//!    unpowered or has no radio up, so the enclosure hears only itself and
//!    the room. It is kept as a candidate like any phase, not taken as the
//!    reference outright: a journal's boot phase may be shorter than
//!    `MIN_REFERENCE_S`, or start with the phone already running.
//!    Choosing the lowest of a few medians biases the floor down by a
//!    fraction of a 0.1 dB bin at thousands of samples a segment, far
//!    inside the [`MIN_ABOVE_DB`] margin. A phone that transmits through
//!    more than half of *every* phase still lifts its floor; no floor taken
//!    from its own channel can see it then.
//! 2. **Bursts**: runs of samples above `floor + max(MIN_ABOVE_DB, K_MAD ·
//!    σ)`. A lost sample (NaN) ends a run; a saturated detector's +inf is a
//!    measured sample far above any threshold (a burst), -inf one below.
//!    For the finding, runs apart by at most [`JOIN_GAP_SAMPLES`] samples are
//!    one transmission ([`transmissions`]), and a transmission counts when
//!    it lasts [`MIN_BURST_SAMPLES`]. The timing detector gets the runs as
//!    they are.
//!
//! **The room**: a burst on a DUT's channel is the room's, not the DUT's,
//! only when the room explains its level. A signal from outside reaches an
//! enclosure's antenna weakened by the enclosure's isolation (the channel's
//! `isolation_db`, 30 dB when the recording does not say); a signal from
//! inside reaches the antennas outside weakened the same way. So each
//! antenna outside the DUT's enclosure that hears a burst at the same time
//! says how loud the room was (its peak plus its own isolation: 0 for the
//! ambient antenna), and the DUT's burst is the room's when it is no louder
//! than that room leaking in, give or take [`ROOM_MARGIN_DB`]. The outside
//! antennas that count: the ambient antenna (a channel with no DUT) in an
//! overlapping band, hearing something at the same time; or every other
//! DUT's enclosure, each hearing a burst in an overlapping band that starts
//! within a couple of samples of it (a signal from outside reaches every
//! enclosure at once; two phones' own transmissions do not start on the
//! same millisecond). A loud implant that leaks into the room's antenna is
//! therefore the DUT's (its own antenna hears it far louder than the room
//! could explain), and so is a DUT's burst while the room is busy.
//!
//! **The neighbours**: another DUT's own transmission leaves its enclosure
//! and enters this one, weakened by both isolations. A burst that another
//! DUT's antenna hears in an overlapping band, starting within a couple of
//! samples, loud enough that it explains this one after both isolations
//! (give or take [`ROOM_MARGIN_DB`]) is the neighbour's: a control phone
//! that stays online while the others are in airplane mode leaks its BLE
//! into their enclosures (issue 14, honest phones failed for it). The same
//! level rule as the room: the DUT's own transmission reads far louder on
//! its own antenna than any neighbour's leak could.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde_json::json;

use super::{Finding, Severity, plural, round};
use benchctl_format::read::{ChannelKind, ReadError, SigmfReader};

/// At least this far above the floor, whatever the MAD says: a log-amp
/// detector's repeatability is about ±0.5 dB, a CC1101's RSSI ±1 dB.
pub const MIN_ABOVE_DB: f64 = 6.0;
/// ...and this many robust standard deviations above it: with Gaussian
/// noise, a 6σ excursion happens about once in 10^9 samples (a day of 9
/// channels at 1 kS/s is 8·10^8), and a burst needs two in a row.
pub const K_MAD: f64 = 6.0;
/// A burst in a silent phase lasts at least this many samples: one noisy
/// sample is not a transmission worth failing a phone for...
pub const MIN_BURST_SAMPLES: usize = 2;
/// ...but this many shorter ones in one silent phase are, whatever their
/// length. At 1 kS/s a BLE advertisement (128-376 µs) fits in one sample;
/// an implant advertising every 100 ms in soft-off is 60 of them in 6 s,
/// while a 6σ noise excursion comes once in 10^9 samples.
pub const MIN_SHORT_EVENTS: usize = 3;
/// ...and so is one shorter event this far above the threshold (itself
/// at least 6σ and 6 dB above the floor): 12σ of Gaussian noise does not
/// happen, and an implant's one advertisement in airplane mode fits in one
/// sample at 1 kS/s and below (issue 14: single 1 ms bursts 13-23 dB above
/// the floor at 100 S/s were passed).
pub const LOUD_SAMPLE_DB: f64 = 6.0;
/// Runs of above-threshold samples at most this many samples apart are one
/// transmission in the finding. A burst 10 dB above a floor with ±1.5-2 dB
/// of noise dips under the threshold now and then for a sample or two (at
/// 1 kS/s, a millisecond or two), which would otherwise report one 50 ms
/// burst as five short ones. Three samples bridge those dips and no more:
/// a radio's own pauses between separate transmissions (BLE advertising
/// intervals of 20 ms and up, LTE's scheduling requests, Wi-Fi probes) are
/// longer, so separate transmissions stay separate.
pub const JOIN_GAP_SAMPLES: usize = 3;
/// A segment must hold this much recording (s) to give the floor: long
/// enough for a median and MAD over thousands of samples at 1 kS/s, short
/// enough that a bench's boot phase qualifies.
pub const MIN_REFERENCE_S: f64 = 5.0;
/// How close (s) the ambient antenna's burst must be to count as the same.
const ROOM_WINDOW_S: f64 = 0.02;
/// How much louder than the room leaking in (dB) a burst on an enclosure's
/// antenna may be and still be the room's: detector repeatability (±1 dB),
/// the peak of noisy samples, and an enclosure whose isolation differs a
/// little from what the bench says. Half a typical enclosure's isolation is
/// far more than these and would let a phone transmitting 15 dB above the
/// leak pass for the room.
pub const ROOM_MARGIN_DB: f64 = 6.0;

/// Histogram range and resolution for the floor estimate.
const HIST_LO_DBM: f64 = -160.0;
const HIST_HI_DBM: f64 = 40.0;
const HIST_STEP_DB: f64 = 0.1;
/// `1 / HIST_STEP_DB`, to multiply by: a division on every sample costs
/// as much as the rest of the floor pass.
const BINS_PER_DB: f64 = 10.0;

/// One channel's noise floor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floor {
    pub median_dbm: f64,
    /// Robust σ: 1.4826 · MAD.
    pub sigma_db: f64,
    /// Samples above this belong to bursts.
    pub threshold_dbm: f64,
    /// Samples in the segment the floor was taken from.
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
    /// Not the DUT's: heard by the ambient antenna or by every enclosure at
    /// once (the room), or a neighbouring DUT's own transmission leaking in.
    pub room: bool,
}

impl Burst {
    pub fn duration_s(&self) -> f64 {
        self.end_s - self.start_s
    }

    /// Long enough (see `MIN_BURST_SAMPLES`), or loud enough over the
    /// channel's `floor` ([`LOUD_SAMPLE_DB`]), to count as a transmission
    /// on its own. Shorter, quieter ones are kept for the timing of
    /// bursts: a BLE advertisement (under 1 ms) is one sample at 1 kS/s,
    /// and dropping those would turn a steady 300 ms rhythm into gaps at
    /// multiples of 300 ms, which is what a slotted covert channel looks like.
    pub fn counts(&self, period_s: f64, floor: &Floor) -> bool {
        self.duration_s() >= MIN_BURST_SAMPLES as f64 * period_s - 1e-9
            || self.peak_dbm >= floor.threshold_dbm + LOUD_SAMPLE_DB
    }
}

/// The channels' floors and bursts.
#[derive(Debug, Clone, Default)]
pub struct RfAnalysis {
    pub floors: Vec<Floor>,
    /// Per channel, in time order.
    pub bursts: Vec<Vec<Burst>>,
    /// Per channel, the samples measured (not NaN: not lost) at run times
    /// inside the `counted` span given to [`analyze`].
    pub measured: Vec<u64>,
}

/// Both passes over `reader`. `phase_starts(dut)` (ascending run times;
/// empty for a DUT without phases) cuts each channel of that DUT into the
/// segments its floor is chosen from; a channel without a DUT is one
/// segment. `counted` is the span of run time whose measured samples
/// [`RfAnalysis::measured`] counts (the run, for its coverage).
pub fn analyze(
    reader: &mut SigmfReader,
    phase_starts: impl Fn(&str) -> Vec<f64>,
    counted: RangeInclusive<f64>,
) -> Result<RfAnalysis, ReadError> {
    analyze_watching(reader, phase_starts, counted, |_, _| {})
}

/// [`analyze`], showing every frame (in order, from the first, NaN kept)
/// to `watch` on the way: the analysis tallies where each channel was
/// measured (`analyze::coverage`) without another pass over the data.
pub fn analyze_watching(
    reader: &mut SigmfReader,
    phase_starts: impl Fn(&str) -> Vec<f64>,
    counted: RangeInclusive<f64>,
    watch: impl FnMut(f64, &[f64]),
) -> Result<RfAnalysis, ReadError> {
    let cuts: Vec<Vec<f64>> = reader
        .channels()
        .iter()
        .map(|c| c.dut.as_deref().map(&phase_starts).unwrap_or_default())
        .collect();
    let (floors, measured) = floors(reader, &cuts, &counted, watch)?;
    let mut bursts = find_bursts(reader, &floors)?;
    mark_room(reader, &mut bursts);
    Ok(RfAnalysis {
        floors,
        bursts,
        measured,
    })
}

/// A channel's bursts (in time order) as transmissions: runs at most
/// [`JOIN_GAP_SAMPLES`] samples apart joined into one, from the first's
/// start to the last's end, with the highest peak.
pub fn transmissions(bursts: &[&Burst], period_s: f64) -> Vec<Burst> {
    let join_s = JOIN_GAP_SAMPLES as f64 * period_s + 1e-9;
    let mut out: Vec<Burst> = Vec::new();
    for b in bursts {
        match out.last_mut() {
            Some(last) if b.start_s - last.end_s <= join_s => {
                last.end_s = last.end_s.max(b.end_s);
                last.peak_dbm = last.peak_dbm.max(b.peak_dbm);
            }
            _ => out.push(**b),
        }
    }
    out
}

/// The transmissions of `sent` (a channel's [`transmissions`], in time
/// order) that overlap `[from, to)`, clipped to it, and that still count
/// there: a phone that keeps sending through the switch into airplane mode
/// is judged on what it sent after the switch, however early it started.
pub fn within(sent: &[Burst], floor: &Floor, period_s: f64, from: f64, to: f64) -> Vec<Burst> {
    clipped(sent, from, to)
        .filter(|b| b.counts(period_s, floor))
        .collect()
}

/// The transmissions of `sent` overlapping `[from, to)`, clipped to it,
/// however short.
fn clipped(sent: &[Burst], from: f64, to: f64) -> impl Iterator<Item = Burst> + '_ {
    // Transmissions do not overlap, so their ends are in order too.
    let first = sent.partition_point(|b| b.end_s <= from);
    sent[first..]
        .iter()
        .take_while(move |b| b.start_s < to)
        .map(move |b| Burst {
            start_s: b.start_s.max(from),
            end_s: b.end_s.min(to),
            ..*b
        })
}

/// The `rf-in-silence` finding for one silent phase `(name, from, to)` of
/// a DUT's channel, from the channel's own transmissions (`sent`, see
/// [`transmissions`]; the room's bursts already left out) [`within`] it
/// that last long enough or are loud enough ([`LOUD_SAMPLE_DB`]), or from
/// [`MIN_SHORT_EVENTS`] or more shorter ones; None when there are none.
pub fn finding(
    sent: &[Burst],
    floor: &Floor,
    period_s: f64,
    (phase, from, to): (&str, f64, f64),
    channel: &str,
) -> Option<Finding> {
    let all: Vec<Burst> = clipped(sent, from, to).collect();
    let counted = all.iter().filter(|b| b.counts(period_s, floor)).count();
    let short = all.len() - counted;
    // Short events alone count when there are enough of them; with a
    // counted burst they are evidence too.
    let inside: Vec<Burst> = if counted == 0 && short < MIN_SHORT_EVENTS {
        return None;
    } else if counted > 0 && short < MIN_SHORT_EVENTS {
        all.into_iter()
            .filter(|b| b.counts(period_s, floor))
            .collect()
    } else {
        all
    };
    let (first, last) = (inside.first()?, inside.last()?);
    let peak = inside.iter().map(|b| b.peak_dbm).fold(f64::MIN, f64::max);
    let longest = inside.iter().map(|b| b.duration_s()).fold(0.0, f64::max);
    let above = peak - floor.median_dbm;
    // A saturated detector reads +inf: far above the floor, by no number.
    let how_far = if above.is_finite() {
        format!("up to {above:.0} dB above the noise floor")
    } else {
        "saturating the detector, far above the noise floor".to_string()
    };
    let mut evidence = BTreeMap::new();
    evidence.insert("bursts".into(), json!(inside.len()));
    evidence.insert("peak_dbm".into(), json!(round(peak, 1)));
    evidence.insert("floor_dbm".into(), json!(round(floor.median_dbm, 1)));
    evidence.insert("threshold_dbm".into(), json!(round(floor.threshold_dbm, 1)));
    evidence.insert("above_floor_db".into(), json!(round(above, 1)));
    evidence.insert("longest_ms".into(), json!(round(longest * 1e3, 1)));
    evidence.insert(
        "short_events".into(),
        json!(if short >= MIN_SHORT_EVENTS { short } else { 0 }),
    );
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
            "{} burst{} {how_far} (longest {:.0} ms) in {channel} during phase \"{phase}\", which expects RF silence",
            inside.len(),
            plural(inside.len()),
            longest * 1e3,
        ),
        evidence,
        settle: false,
    })
}

/// Per channel its floor (see the module docs: the quietest segment's) and
/// its measured samples inside `counted`.
fn floors(
    reader: &mut SigmfReader,
    cuts: &[Vec<f64>],
    counted: &RangeInclusive<f64>,
    mut watch: impl FnMut(f64, &[f64]),
) -> Result<(Vec<Floor>, Vec<u64>), ReadError> {
    let n = reader.num_channels();
    let min_samples = (MIN_REFERENCE_S * reader.sample_rate()).ceil() as u64;
    let no_cuts = Vec::new();
    let mut channels: Vec<SegmentFloors> = (0..n)
        .map(|ch| SegmentFloors::new(cuts.get(ch).unwrap_or(&no_cuts), min_samples))
        .collect();
    let mut measured = vec![0u64; n];
    reader.for_each_frame(|t, frame| {
        watch(t, frame);
        for (ch, v) in frame.iter().enumerate() {
            // Only NaN is lost: ±inf is a reading out of the detector's
            // range, measured but no measure of the noise.
            if v.is_nan() {
                continue;
            }
            measured[ch] += u64::from(counted.contains(&t));
            if v.is_finite() {
                channels[ch].add(t, *v);
            }
        }
    })?;
    let floors = channels.into_iter().map(SegmentFloors::finish).collect();
    Ok((floors, measured))
}

/// One channel's floor, taken as the samples come: the segment under way
/// in one histogram, the quietest finished segment's floor so far, and all
/// samples in another histogram for the fallback. Two histograms however
/// many phases the run has (frames come in time order).
struct SegmentFloors<'a> {
    cuts: &'a [f64],
    /// The segment the recording has reached.
    segment: usize,
    current: Vec<u64>,
    current_samples: u64,
    all: Vec<u64>,
    best: Option<Floor>,
    min_samples: u64,
}

impl<'a> SegmentFloors<'a> {
    fn new(cuts: &'a [f64], min_samples: u64) -> Self {
        SegmentFloors {
            cuts,
            segment: 0,
            current: vec![0; bins()],
            current_samples: 0,
            all: vec![0; bins()],
            best: None,
            min_samples,
        }
    }

    fn add(&mut self, t: f64, v: f64) {
        while self.cuts.get(self.segment).is_some_and(|&cut| t >= cut) {
            self.close_segment();
            self.segment += 1;
        }
        let b = bin(v, self.current.len());
        self.current[b] += 1;
        self.current_samples += 1;
    }

    /// The segment under way is done: keep its floor if it is the quietest
    /// long enough one so far, fold it into `all`, start the next.
    fn close_segment(&mut self) {
        if self.current_samples == 0 {
            return;
        }
        if self.current_samples >= self.min_samples {
            let floor = floor_of(&self.current);
            if self
                .best
                .is_none_or(|best| floor.median_dbm < best.median_dbm)
            {
                self.best = Some(floor);
            }
        }
        for (a, c) in self.all.iter_mut().zip(&mut self.current) {
            *a += *c;
            *c = 0;
        }
        self.current_samples = 0;
    }

    fn finish(mut self) -> Floor {
        self.close_segment();
        self.best.unwrap_or_else(|| floor_of(&self.all))
    }
}

fn bins() -> usize {
    ((HIST_HI_DBM - HIST_LO_DBM) / HIST_STEP_DB) as usize + 1
}

/// The nearest bin of `v`. On every sample of every channel: `+ 0.5` and
/// the float-to-int cast (which floors positives and saturates negatives
/// and NaN to 0) instead of `round()`, a libm call; together with the
/// multiplication they halved the analysis time.
fn bin(v: f64, bins: usize) -> usize {
    (((v - HIST_LO_DBM) * BINS_PER_DB + 0.5) as usize).min(bins - 1)
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
pub fn quantile_bin(counts: impl Iterator<Item = (usize, u64)>, total: u64) -> usize {
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
            // +inf (a saturated detector) is above; NaN (lost) ends a run.
            let above = !v.is_nan() && v > floors[ch].threshold_dbm;
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

/// The loudest burst of `list` (in time order) overlapping `[from, to)`.
fn peak_in(list: &[Burst], from: f64, to: f64) -> Option<f64> {
    let i = list.partition_point(|b| b.end_s <= from);
    list[i..]
        .iter()
        .take_while(|b| b.start_s < to)
        .map(|b| b.peak_dbm)
        .reduce(f64::max)
}

/// The loudest burst of `list` (in time order) starting within `tol` of `t`.
fn peak_starting_near(list: &[Burst], t: f64, tol: f64) -> Option<f64> {
    let i = list.partition_point(|b| b.start_s < t - tol);
    list[i..]
        .iter()
        .take_while(|b| b.start_s <= t + tol)
        .map(|b| b.peak_dbm)
        .reduce(f64::max)
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
        let isolation = channels[ch].isolation_db();
        // Whether a room as loud as `room_dbm` (outside every enclosure)
        // explains burst `b` on this antenna.
        let explains =
            |b: &Burst, room_dbm: f64| b.peak_dbm <= room_dbm - isolation + ROOM_MARGIN_DB;
        for (k, b) in bursts[ch].iter().enumerate() {
            let (from, to) = (b.start_s - ROOM_WINDOW_S, b.end_s + ROOM_WINDOW_S);
            let heard_outside = outside.iter().any(|&a| {
                peak_in(&bursts[a], from, to)
                    .is_some_and(|p| explains(b, p + channels[a].isolation_db()))
            });
            let everywhere = !others.is_empty()
                && others.iter().all(|theirs| {
                    theirs.iter().any(|&c| {
                        peak_starting_near(&bursts[c], b.start_s, 2.0 * period)
                            .is_some_and(|p| explains(b, p + channels[c].isolation_db()))
                    })
                });
            // A neighbour's own burst, as loud outside its enclosure as its
            // antenna's reading less its isolation, leaking in here.
            let neighbour = others.iter().flatten().any(|&c| {
                peak_starting_near(&bursts[c], b.start_s, 2.0 * period)
                    .is_some_and(|p| explains(b, p - channels[c].isolation_db()))
            });
            if heard_outside || everywhere || neighbour {
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
    use benchctl_format::read::Stream;
    use benchctl_format::sigmf::{SigmfWriter, Unit, rf_channel};

    const RATE: f64 = 1000.0;
    const FLOOR_DBM: f64 = -95.0;

    /// A 1 kS/s recording of phone-b's LTE antenna and the ambient one,
    /// `secs` long: the floor with ±1.5 dB of noise, plus what `dut(t)`
    /// adds (dB) on phone-b's channel. The reader over it.
    fn recording(dir: &std::path::Path, secs: f64, dut: impl Fn(f64) -> f64) -> SigmfReader {
        let mut writer = SigmfWriter::create(
            dir,
            "rf",
            RATE,
            vec![
                rf_channel(Some("phone-b"), "lte-b3-ul", 1_710_000_000, 1_785_000_000),
                rf_channel(None, "lte-b3-ul", 1_710_000_000, 1_785_000_000),
            ],
            Unit::Dbm,
            "2026-11-26T15:30:00.000Z",
        )
        .unwrap();
        let mut rng = benchctl_rng::SimRng::new(5);
        for i in 0..(secs * RATE) as u64 {
            let t = i as f64 / RATE;
            let noise = |rng: &mut benchctl_rng::SimRng| FLOOR_DBM + rng.range(-1.5, 1.5);
            let frame = [(noise(&mut rng) + dut(t)) as f32, noise(&mut rng) as f32];
            writer.push_frame(&frame).unwrap();
        }
        writer.finish().unwrap();
        SigmfReader::open(dir, Stream::Rf).unwrap()
    }

    /// phone-b's channel's floor is the noise the recording was made with.
    fn assert_floor_is_the_noise(floor: &Floor) {
        assert!((floor.median_dbm - FLOOR_DBM).abs() < 0.5, "{floor:?}");
    }

    /// Phases: "online" (any) from 0 s, "airplane" (silent) from `silent_from`.
    fn judge(
        reader: &mut SigmfReader,
        silent_from: f64,
        end: f64,
    ) -> (RfAnalysis, Option<Finding>) {
        let rf = analyze(reader, |_| vec![0.0, silent_from], 0.0..=end).unwrap();
        let mine: Vec<&Burst> = rf.bursts[0].iter().filter(|b| !b.room).collect();
        let found = finding(
            &transmissions(&mine, 1.0 / RATE),
            &rf.floors[0],
            1.0 / RATE,
            ("airplane", silent_from + 1.0, end),
            "LTE B3 uplink",
        );
        (rf, found)
    }

    /// The reviewer's repro: phone-b's LTE channel 30 dB up for most of an
    /// "any" phase, then one 50 ms burst 10 dB up in airplane mode. A floor
    /// over the whole recording sits 30 dB up and hides the burst.
    #[test]
    fn a_phone_busy_in_another_phase_does_not_lift_its_silent_phase_floor() {
        let dir = tempfile::tempdir().unwrap();
        let dut = |t: f64| {
            if (1.0..51.0).contains(&t) {
                30.0
            } else if (70.0..70.05).contains(&t) {
                10.0
            } else {
                0.0
            }
        };
        let mut reader = recording(dir.path(), 80.0, dut);
        let (rf, found) = judge(&mut reader, 60.0, 80.0);
        assert_floor_is_the_noise(&rf.floors[0]);
        let found = found.expect("the airplane burst is found");
        assert_eq!(found.evidence["bursts"], 1, "{found:?}");
        assert!((found.start_s - 70.0).abs() < 0.01, "{found:?}");
        // The ambient antenna has no DUT: its floor is the whole recording's.
        assert_eq!(rf.floors[1].samples, 80_000);
    }

    /// ...nor does a phone that transmits through most of its silent phase
    /// lift the floor that phase is judged against: the quiet phase before
    /// sets it.
    #[test]
    fn a_phone_busy_through_its_silent_phase_does_not_lift_its_own_floor() {
        let dir = tempfile::tempdir().unwrap();
        let dut = |t: f64| if (45.0..58.0).contains(&t) { 12.0 } else { 0.0 };
        let mut reader = recording(dir.path(), 60.0, dut);
        let (rf, found) = judge(&mut reader, 40.0, 60.0);
        assert_floor_is_the_noise(&rf.floors[0]);
        let found = found.expect("the airplane transmission is found");
        assert_eq!(found.evidence["longest_ms"], 13_000.0, "{found:?}");
    }

    /// One 50 ms burst whose samples dip under the threshold now and then is
    /// one transmission in the finding, not five short ones; two bursts
    /// 10 ms apart stay two. The timing detector's list keeps the runs.
    #[test]
    fn a_burst_that_dips_under_the_threshold_is_one_transmission() {
        let dir = tempfile::tempdir().unwrap();
        let dut = |t: f64| {
            let ms = ((t - 30.0) * 1e3).round() as i64;
            match ms {
                // Dips of one, two and three samples inside the burst.
                10 | 20 | 21 | 33..=35 => 0.0,
                0..50 => 10.0,
                // Ten samples of silence, then a second burst.
                60..70 => 10.0,
                _ => 0.0,
            }
        };
        let mut reader = recording(dir.path(), 40.0, dut);
        let (rf, found) = judge(&mut reader, 20.0, 40.0);
        assert_eq!(rf.bursts[0].len(), 5, "{:?}", rf.bursts[0]);
        let found = found.expect("found");
        assert_eq!(found.evidence["bursts"], 2, "{found:?}");
        assert_eq!(found.evidence["longest_ms"], 50.0, "{found:?}");
        assert!(
            found.summary.starts_with("2 bursts up to"),
            "{}",
            found.summary
        );
    }

    /// A saturated detector writes +inf: a measured sample far above the
    /// threshold, so a burst, and counted as measured; only NaN is lost.
    /// Samples outside the counted span are not counted.
    #[test]
    fn plus_infinity_is_a_burst_and_nan_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let dut = |t: f64| {
            if (30.0..30.02).contains(&t) {
                f64::INFINITY
            } else if (35.0..36.0).contains(&t) {
                f64::NAN
            } else {
                0.0
            }
        };
        let mut reader = recording(dir.path(), 40.0, dut);
        let (rf, found) = judge(&mut reader, 20.0, 39.0);
        assert_floor_is_the_noise(&rf.floors[0]);
        let found = found.expect("the saturated burst is found");
        assert_eq!(found.evidence["longest_ms"], 20.0, "{found:?}");
        assert!(
            found.summary.contains("saturating the detector"),
            "{}",
            found.summary
        );
        // 0..=39 s: 39 001 samples, less the lost second.
        assert_eq!(rf.measured, [38_001, 39_001]);
    }

    /// A phone that starts sending before the switch into airplane mode
    /// and keeps on through it: one transmission that starts in the
    /// previous phase, judged on what it sent after the switch.
    #[test]
    fn a_transmission_that_runs_into_a_silent_phase_is_judged_there() {
        let dir = tempfile::tempdir().unwrap();
        // A carrier 20 dB up from 55 s to 70 s; airplane from 60 s (judged
        // from 61 s).
        let dut = |t: f64| if (55.0..70.0).contains(&t) { 20.0 } else { 0.0 };
        let mut reader = recording(dir.path(), 80.0, dut);
        let (_, found) = judge(&mut reader, 60.0, 80.0);
        let found = found.expect("the carrier is found in airplane mode");
        assert_eq!((found.start_s, found.end_s), (61.0, 70.0), "{found:?}");
        assert_eq!(found.evidence["longest_ms"], 9000.0);
    }

    /// A detector that reads -inf (under its range) for a whole phase is
    /// not a floor: it stays out of the noise estimate, so the next phase's
    /// ordinary noise is not taken for bursts.
    #[test]
    fn minus_infinity_is_no_floor() {
        let dir = tempfile::tempdir().unwrap();
        let dut = |t: f64| if t < 60.0 { f64::NEG_INFINITY } else { 0.0 };
        let mut reader = recording(dir.path(), 80.0, dut);
        let (rf, found) = judge(&mut reader, 60.0, 80.0);
        assert_floor_is_the_noise(&rf.floors[0]);
        assert!(found.is_none(), "{found:?}");
    }

    #[test]
    fn the_floor_ignores_a_busy_minority() {
        let bins = bins();
        let mut h = vec![0u64; bins];
        let mut rng = benchctl_rng::SimRng::new(1);
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

    /// phone-b's LTE antenna (inside its enclosure, `isolation_db` as
    /// given) and the ambient one, 1 kS/s: the floor with ±1.5 dB of
    /// noise, and where `dut(t)` / `room(t)` give a level (dBm), that level
    /// on that antenna instead. Judged as "online" then "airplane" from
    /// `silent_from`; the finding on phone-b's channel, if any.
    fn judge_levels(
        secs: f64,
        silent_from: f64,
        isolation_db: Option<f64>,
        dut: impl Fn(f64) -> Option<f64>,
        room: impl Fn(f64) -> Option<f64>,
    ) -> Option<Finding> {
        judge_beside(secs, silent_from, isolation_db, None, dut, room)
    }

    /// [`judge_levels`] with the second antenna in `neighbour`'s enclosure
    /// (30 dB, the default) instead of the ambient one.
    fn judge_beside(
        secs: f64,
        silent_from: f64,
        isolation_db: Option<f64>,
        neighbour: Option<&str>,
        dut: impl Fn(f64) -> Option<f64>,
        room: impl Fn(f64) -> Option<f64>,
    ) -> Option<Finding> {
        let dir = tempfile::tempdir().unwrap();
        let mut inside = rf_channel(Some("phone-b"), "lte-b3-ul", 1_710_000_000, 1_785_000_000);
        if let Some(db) = isolation_db {
            inside["isolation_db"] = json!(db);
        }
        let mut writer = SigmfWriter::create(
            dir.path(),
            "rf",
            RATE,
            vec![
                inside,
                rf_channel(neighbour, "lte-b3-ul", 1_710_000_000, 1_785_000_000),
            ],
            Unit::Dbm,
            "2026-11-26T15:30:00.000Z",
        )
        .unwrap();
        let mut rng = benchctl_rng::SimRng::new(7);
        for i in 0..(secs * RATE) as u64 {
            let t = i as f64 / RATE;
            let mut noise = || FLOOR_DBM + rng.range(-1.5, 1.5);
            let a = dut(t).unwrap_or_else(&mut noise);
            let b = room(t).unwrap_or_else(&mut noise);
            writer.push_frame(&[a as f32, b as f32]).unwrap();
        }
        writer.finish().unwrap();
        let mut reader = SigmfReader::open(dir.path(), Stream::Rf).unwrap();
        judge(&mut reader, silent_from, secs).1
    }

    /// Issue 21, class 1: phone-b's bursts at -40 dBm on its own antenna,
    /// heard 45 dB weaker (-85 dBm) by the room's antenna at the same
    /// samples: the louder the implant, the surer its excuse used to be.
    /// Its own antenna hears it far louder than the room could explain.
    #[test]
    fn a_loud_burst_that_leaks_out_is_the_dut_s_not_the_room_s() {
        let bursts = |t: f64| (20.0..20.03).contains(&t) || (21.0..21.03).contains(&t);
        let found = judge_levels(
            30.0,
            15.0,
            None,
            |t| bursts(t).then_some(-40.0),
            |t| bursts(t).then_some(-85.0),
        )
        .expect("the DUT's bursts are found");
        assert_eq!(found.evidence["bursts"], 2, "{found:?}");
        // The room at -40 dBm, heard 30 dB weaker inside: the room's.
        assert_eq!(
            judge_levels(
                30.0,
                15.0,
                None,
                |t| bursts(t).then_some(-70.0),
                |t| bursts(t).then_some(-40.0),
            ),
            None
        );
        // The same with a better enclosure the bench measured (50 dB).
        assert_eq!(
            judge_levels(
                30.0,
                15.0,
                Some(50.0),
                |t| bursts(t).then_some(-90.0 + 1.0),
                |t| bursts(t).then_some(-40.0),
            ),
            None
        );
        // A busy room (the lab's phones at -40 dBm on the ambient antenna)
        // does not hide the DUT's own -60 dBm: 10 dB more than the room
        // leaking in could give.
        let found = judge_levels(
            30.0,
            15.0,
            None,
            |t| bursts(t).then_some(-60.0),
            |t| (19.9..21.5).contains(&t).then_some(-40.0),
        )
        .expect("the DUT's bursts are found in a busy room");
        assert_eq!(found.evidence["bursts"], 2, "{found:?}");
    }

    /// A control phone that stays online beside phone-b: its own bursts at
    /// -30 dBm on its antenna leak into phone-b's enclosure through both
    /// enclosures (30 + 30 dB) and read -90 + 2 dBm there: the neighbour's,
    /// not phone-b's. phone-b's own bursts between the neighbour's stay
    /// its own, and so do its own bursts 25 dB above the leak at the same
    /// moments when a third phone is quiet then.
    #[test]
    fn a_neighbour_s_burst_leaking_in_is_not_the_dut_s() {
        let bursts = |t: f64| (20.0..20.03).contains(&t) || (21.0..21.03).contains(&t);
        let neighbour = |t: f64| (bursts(t) || (22.0..26.0).contains(&t)).then_some(-30.0);
        let beside = |dut: &dyn Fn(f64) -> Option<f64>| {
            judge_beside(30.0, 15.0, None, Some("phone-a"), dut, neighbour)
        };
        assert_eq!(beside(&|t| bursts(t).then_some(-88.0)), None);
        let own =
            |t: f64| ((20.5..20.53).contains(&t) || (21.5..21.53).contains(&t)).then_some(-60.0);
        let found = beside(&own).expect("phone-b's own bursts");
        assert_eq!(found.evidence["bursts"], 2, "{found:?}");
        // Inside a long neighbour transmission, not at its start: its own.
        let inside = |t: f64| (24.0..24.03).contains(&t).then_some(-60.0);
        assert!(beside(&inside).is_some());
    }

    /// Issue 21, class 2: one-sample events (a BLE advertisement is
    /// 128-376 µs, one sample at 1 kS/s) every ~100 ms of a silent phase:
    /// many short events are a finding whatever their length; two just over
    /// the threshold are not (one noisy sample is not a transmission), two
    /// far over it are (issue 14).
    #[test]
    fn many_one_sample_bursts_are_a_finding_and_two_are_not() {
        let adverts = |t: f64| {
            let k = (t * RATE).round() as u64;
            ((20.0..26.0).contains(&t) && k.is_multiple_of(103)).then_some(FLOOR_DBM + 9.0)
        };
        let found = judge_levels(30.0, 15.0, None, adverts, |_| None).expect("the adverts");
        assert!(
            found.evidence["short_events"].as_u64().unwrap() >= 50,
            "{found:?}"
        );
        assert!(found.summary.contains("longest 1 ms"), "{}", found.summary);
        // Two single samples just over the threshold (about 7 dB over the
        // floor here) are no finding: they could be noise.
        let two = |level: f64| {
            move |t: f64| {
                let k = (t * RATE).round() as u64;
                (k == 21_000 || k == 23_000).then_some(FLOOR_DBM + level)
            }
        };
        assert_eq!(judge_levels(30.0, 15.0, None, two(9.0), |_| None), None);
        // One sample 15 dB over the floor is not: an implant's one
        // advertisement in airplane mode.
        let found = judge_levels(30.0, 15.0, None, two(15.0), |_| None).expect("loud samples");
        assert_eq!(found.evidence["bursts"], 2, "{found:?}");
    }
}
