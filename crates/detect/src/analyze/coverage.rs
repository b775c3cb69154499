//! Whether the recording measured each phase where an expectation needs it
//! (issue 18): per DUT channel and per phase that expects something of it
//! (`rf = "silent"` for its RF channels, `power = "off"` for its current),
//! the stretches of the phase's judged window (its start plus the settle
//! time to its end) with no measured sample.
//!
//! A share of the whole run is not enough: a recording can lose under a
//! tenth of its frames exactly where a phone transmits in airplane mode,
//! and pass it. So the unit is the judged window of one phase on one
//! channel, on the recording's own sample grid (`t0 + i / rate`): every
//! grid instant in the window that holds no measured sample (NaN, or before
//! the recording started or after it stopped) is unmeasured, and runs of
//! such instants are gaps. A window is not measured when
//!
//! 1. a gap is at least as long as the shortest burst the phase's detector
//!    flags ([`Need::samples`]): the whole burst can sit in it. Shorter gaps
//!    can only clip a burst;
//! 2. or it holds fewer measured samples than that burst has: nothing can
//!    be flagged in it at all (a sample rate so low that a phase falls
//!    between two samples);
//! 3. or more than a tenth of its instants are unmeasured (`1 -
//!    MIN_MEASURED_SHARE`), in gaps too short for rule 1: a burst cut by
//!    a lost sample can fall under what the detector counts.
//!
//! Memory is flat: per channel and window, a few counters, fed frame by
//! frame from the detectors' own pass over the data.

use std::collections::BTreeMap;

use benchctl_format::read::SigmfReader;

use super::MIN_MEASURED_SHARE;

/// A stretch of run time where a channel must be measured: the judged part
/// of one phase of its DUT.
#[derive(Debug, Clone)]
pub(super) struct Window {
    pub dut: String,
    pub phase: String,
    pub from: f64,
    pub to: f64,
}

/// What a detector needs from a channel to flag anything, for the words.
#[derive(Debug, Clone, Copy)]
pub(super) struct Need {
    /// The shortest burst the detector flags, in samples at the
    /// recording's rate.
    pub samples: u64,
    /// The finding kind it raises.
    pub check: &'static str,
    /// What it flags: "burst", "draw".
    pub what: &'static str,
}

/// Per channel, its windows' tallies, fed frame by frame.
pub(super) struct PhaseCoverage {
    t0: f64,
    rate: f64,
    /// Per channel of the recording (empty: no window on it).
    channels: Vec<Vec<Tally>>,
    /// Per channel, the first window not yet behind the frames.
    cursor: Vec<usize>,
    /// The channels with a window, to skip the others quickly.
    watched: Vec<usize>,
    /// The channels whose current window the frames are in, until frame
    /// `boundary`, where a window starts or ends (the set is taken again
    /// there, not on every frame: this runs on every frame of the RF pass).
    active: Vec<usize>,
    boundary: i64,
    /// The grid index after the last frame seen.
    next: i64,
    /// Frames `[pending_from, next)` came one after the other with no NaN,
    /// inside the current windows, and are not yet in the tallies: nearly
    /// every frame is such a one, and is then only counted (see `frame`).
    pending_from: i64,
}

/// One window on one channel, in grid indices `[first, end)`.
#[derive(Debug, Clone)]
struct Tally {
    window: Window,
    first: i64,
    end: i64,
    measured: u64,
    /// The last measured index seen in the window.
    last: Option<i64>,
    /// Unmeasured instants, gaps, the longest gap and where it starts.
    missing: u64,
    gaps: u64,
    longest: u64,
    longest_at: i64,
}

impl Tally {
    fn gap(&mut self, start: i64, len: i64) {
        let Ok(len) = u64::try_from(len) else { return };
        if len == 0 {
            return;
        }
        self.missing += len;
        self.gaps += 1;
        if len > self.longest {
            self.longest = len;
            self.longest_at = start;
        }
    }

    fn observe(&mut self, i: i64) {
        let prev = self.last.unwrap_or(self.first - 1);
        // Nearly every frame follows the one before: no gap to tally.
        if i != prev + 1 {
            self.gap(prev + 1, i - prev - 1);
        }
        self.last = Some(i);
        self.measured += 1;
    }

    fn finish(&mut self) {
        let prev = self.last.unwrap_or(self.first - 1);
        self.gap(prev + 1, self.end - prev - 1);
    }
}

#[inline]
/// `x` rounded to the nearest grid index. A cast rounds toward zero, so
/// half is added for the (usual) non-negative case: this runs on every
/// frame, and `f64::round` is a libm call on the baseline x86-64 target.
fn grid_index(x: f64) -> i64 {
    if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        x.round() as i64
    }
}

impl PhaseCoverage {
    /// Tallies for `windows` (per channel of `reader`, in time order, not
    /// overlapping).
    pub fn new(reader: &SigmfReader, windows: Vec<Vec<Window>>) -> Self {
        let (t0, rate) = (reader.t0(), reader.sample_rate());
        let channels: Vec<Vec<Tally>> = windows
            .into_iter()
            .map(|list| {
                list.into_iter()
                    .map(|window| Tally {
                        first: grid_at_or_after(t0, rate, window.from),
                        end: grid_at_or_after(t0, rate, window.to),
                        window,
                        measured: 0,
                        last: None,
                        missing: 0,
                        gaps: 0,
                        longest: 0,
                        longest_at: 0,
                    })
                    .collect()
            })
            .collect();
        let watched = (0..channels.len())
            .filter(|&ch| !channels[ch].is_empty())
            .collect();
        PhaseCoverage {
            t0,
            rate,
            cursor: vec![0; channels.len()],
            channels,
            watched,
            active: Vec::new(),
            boundary: i64::MIN,
            next: 0,
            pending_from: 0,
        }
    }

    /// The next frame of the recording (frames come in order from the
    /// first).
    #[inline]
    pub fn frame(&mut self, t: f64, frame: &[f64]) {
        // The frame's place on the recording's grid, from its time: a
        // recording of several capture segments skips grid points between
        // them, which then count as unmeasured.
        let i = grid_index((t - self.t0) * self.rate);
        if i < self.next {
            return; // not after the frame before: nothing new measured
        }
        // The common case, kept cheap (this runs on every frame of the RF
        // and current passes): the frame follows the one before, inside the
        // same windows, and every channel measured. It joins the pending run.
        if i == self.next
            && i < self.boundary
            && !frame.iter().fold(false, |nan, v| nan | v.is_nan())
        {
            self.next = i + 1;
            return;
        }
        self.frame_at(i, frame);
    }

    /// [`frame`](Self::frame) at grid index `i` when it is not the common
    /// case: a gap before it, a NaN in it, or a window starting or ending.
    #[inline(never)]
    fn frame_at(&mut self, i: i64, frame: &[f64]) {
        self.flush();
        self.next = i + 1;
        if i >= self.boundary {
            self.rearm(i);
        }
        for &ch in &self.active {
            if frame.get(ch).is_some_and(|v| !v.is_nan()) {
                self.channels[ch][self.cursor[ch]].observe(i);
            }
        }
        self.pending_from = i + 1;
    }

    /// Put the pending run of whole frames into the active windows' tallies.
    fn flush(&mut self) {
        let (from, to) = (self.pending_from, self.next);
        if from < to {
            for &ch in &self.active {
                let tally = &mut self.channels[ch][self.cursor[ch]];
                tally.observe(from);
                tally.measured += u64::try_from(to - from - 1).unwrap_or(0);
                tally.last = Some(to - 1);
            }
        }
        self.pending_from = to;
    }

    /// At frame `i`, a window starts or ends: which channels are in one
    /// now, and until when.
    fn rearm(&mut self, i: i64) {
        self.active.clear();
        self.boundary = i64::MAX;
        for &ch in &self.watched {
            let tallies = &self.channels[ch];
            let cursor = &mut self.cursor[ch];
            while tallies.get(*cursor).is_some_and(|w| w.end <= i) {
                *cursor += 1;
            }
            let Some(tally) = tallies.get(*cursor) else {
                continue;
            };
            if tally.first <= i {
                self.active.push(ch);
                self.boundary = self.boundary.min(tally.end);
            } else {
                self.boundary = self.boundary.min(tally.first);
            }
        }
    }

    /// The windows `need` could not judge, in words, per DUT: `file` and
    /// the channels' labels name where. Channels of one DUT that lost the
    /// same stretch (a lost frame loses every channel) are named together.
    pub fn problems(mut self, file: &str, labels: &[&str], need: Need) -> Vec<(String, String)> {
        self.flush();
        let period = 1.0 / self.rate;
        // (DUT, what is wrong) -> the channels it is wrong on, in order.
        let mut grouped: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        let mut order: Vec<(String, String)> = Vec::new();
        for (ch, tallies) in self.channels.into_iter().enumerate() {
            for mut tally in tallies {
                tally.finish();
                let Some(what) = self::what(&tally, self.t0, period, need) else {
                    continue;
                };
                let key = (tally.window.dut.clone(), what);
                let label = labels.get(ch).copied().unwrap_or("?").to_string();
                let names = grouped.entry(key.clone()).or_default();
                if names.is_empty() {
                    order.push(key);
                }
                names.push(label);
            }
        }
        order
            .into_iter()
            .map(|key| {
                let names = &grouped[&key];
                let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                let (who, one) = if quoted.len() == 1 {
                    (format!("channel {}", quoted[0]), true)
                } else {
                    (format!("channels {}", quoted.join(", ")), false)
                };
                let (dut, what) = key;
                let what = what
                    .replace("{was}", if one { "was" } else { "were" })
                    .replace("{holds}", if one { "holds" } else { "hold" });
                let problem = format!("{file}: {who} of {dut} {what}");
                (dut, problem)
            })
            .collect()
    }
}

/// What is wrong with a finished window, in words after "channel X of
/// DUT" (`{was}`, `{holds}` stand for the verb), or None when it was
/// measured enough.
fn what(tally: &Tally, t0: f64, period: f64, need: Need) -> Option<String> {
    let w = &tally.window;
    let slots = u64::try_from(tally.end - tally.first).unwrap_or(0);
    let at = |i: i64| t0 + i as f64 * period;
    // "a whole burst, which rf-in-silence flags from 2 samples (0.002 s
    // at 1000 samples/s) on".
    let whole = format!(
        "a whole {}, which {} flags from {} sample{} ({} at {} samples/s) on",
        need.what,
        need.check,
        need.samples,
        crate::plural(usize::try_from(need.samples).unwrap_or(usize::MAX)),
        seconds(need.samples as f64 * period),
        rate_text(1.0 / period),
    );
    let missing_s = tally.missing as f64 * period;
    if need.samples > 0 && tally.longest >= need.samples {
        let longest_s = tally.longest as f64 * period;
        let digits = digits(longest_s);
        let span = format!(
            "{:.digits$}-{:.digits$} s",
            at(tally.longest_at),
            at(tally.longest_at + i64::try_from(tally.longest).unwrap_or(i64::MAX)),
        );
        let where_ = if tally.gaps == 1 {
            format!("({span})")
        } else {
            format!(
                "({} gaps, the longest {} at {span})",
                tally.gaps,
                seconds(longest_s)
            )
        };
        return Some(format!(
            "{{was}} not measured for {} of phase \"{}\" {where_}: long enough to hide {whole}",
            seconds(missing_s),
            w.phase,
        ));
    }
    let digits = digits(w.to - w.from);
    let judged = format!("{:.digits$}-{:.digits$} s", w.from, w.to);
    if tally.measured < need.samples {
        return Some(format!(
            "{{holds}} {} measured sample{} in phase \"{}\" (judged {judged}): too few to show {whole}",
            tally.measured,
            crate::plural(usize::try_from(tally.measured).unwrap_or(usize::MAX)),
            w.phase,
        ));
    }
    if slots > 0 && (tally.missing as f64 / slots as f64) > 1.0 - MIN_MEASURED_SHARE {
        return Some(format!(
            "{{was}} not measured for {} of phase \"{}\" (judged {judged}): {:.0}% of its samples there were lost, in {} gap{} of at most {} sample{}, each of which can cut a {} under what {} counts",
            seconds(missing_s),
            w.phase,
            tally.missing as f64 / slots as f64 * 100.0,
            tally.gaps,
            crate::plural(usize::try_from(tally.gaps).unwrap_or(usize::MAX)),
            tally.longest,
            crate::plural(usize::try_from(tally.longest).unwrap_or(usize::MAX)),
            need.what,
            need.check,
        ));
    }
    None
}

/// The first index of the grid `t0 + i / rate` at or after `t` (before the
/// recording's first frame it is negative, past its last beyond it: those
/// instants were not recorded).
fn grid_at_or_after(t0: f64, rate: f64, t: f64) -> i64 {
    let at = |i: i64| t0 + i as f64 / rate;
    // `as` saturates; the two loops settle the estimate's rounding against
    // `at`, the one definition of an instant's time.
    let mut i = ((t - t0) * rate).ceil() as i64;
    while i > i64::MIN && at(i - 1) >= t {
        i -= 1;
    }
    while i < i64::MAX && at(i) < t {
        i += 1;
    }
    i
}

/// Seconds in words, as precise as they need to be.
fn seconds(s: f64) -> String {
    let digits = digits(s);
    format!("{s:.digits$} s")
}

/// Decimals that show `s` seconds: a tenth from a second on, a millisecond
/// under a tenth.
fn digits(s: f64) -> usize {
    if s >= 1.0 {
        1
    } else if s >= 0.1 {
        2
    } else {
        3
    }
}

fn rate_text(rate: f64) -> String {
    if rate >= 1.0 && rate.fract() == 0.0 {
        format!("{rate:.0}")
    } else {
        format!("{rate}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_index_is_the_first_instant_at_or_after() {
        assert_eq!(grid_at_or_after(0.0, 1000.0, 19.0), 19_000);
        assert_eq!(grid_at_or_after(0.0, 1000.0, 19.0005), 19_001);
        assert_eq!(grid_at_or_after(0.4, 1000.0, 0.0), -400);
        assert_eq!(grid_at_or_after(0.0, 0.01, 19.0), 1);
        assert_eq!(grid_at_or_after(0.0, 0.01, 24.0), 1);
    }

    fn tally(first: i64, end: i64) -> Tally {
        Tally {
            window: Window {
                dut: "phone-b".into(),
                phase: "airplane".into(),
                from: first as f64 / 1000.0,
                to: end as f64 / 1000.0,
            },
            first,
            end,
            measured: 0,
            last: None,
            missing: 0,
            gaps: 0,
            longest: 0,
            longest_at: 0,
        }
    }

    const RF: Need = Need {
        samples: 2,
        check: "rf-in-silence",
        what: "burst",
    };

    /// Gaps at the start, inside and at the end of a window are counted
    /// in samples; one lost sample is no gap that hides a 2-sample burst.
    #[test]
    fn gaps_are_runs_of_unmeasured_instants() {
        let mut t = tally(100, 200);
        for i in (103..150).chain(151..190) {
            t.observe(i);
        }
        t.finish();
        // 100..103, 150, 190..200.
        assert_eq!(
            (t.missing, t.gaps, t.longest, t.longest_at),
            (14, 3, 10, 190)
        );
        let said = what(&t, 0.0, 0.001, RF).expect("a 10-sample gap hides a burst");
        assert!(
            said.contains("not measured for 0.014 s of phase \"airplane\" (3 gaps, the longest 0.010 s at 0.190-0.200 s)"),
            "{said}"
        );
        let mut t = tally(100, 200);
        for i in (100..150).chain(151..200) {
            t.observe(i);
        }
        t.finish();
        assert_eq!((t.missing, t.gaps, t.longest), (1, 1, 1));
        assert_eq!(what(&t, 0.0, 0.001, RF), None);
    }

    /// Many gaps of one sample each: none hides a whole burst, but a tenth
    /// of the window lost is too much.
    #[test]
    fn scattered_losses_over_a_tenth_are_not_measured() {
        let mut t = tally(0, 1000);
        for i in (0..1000).filter(|i| i % 5 != 0) {
            t.observe(i);
        }
        t.finish();
        assert_eq!((t.missing, t.longest), (200, 1));
        let said = what(&t, 0.0, 0.001, RF).expect("a fifth lost");
        assert!(
            said.contains("20% of its samples there were lost"),
            "{said}"
        );
    }
}
