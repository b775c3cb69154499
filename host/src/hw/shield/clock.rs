//! The shield's clock on the host's run clock.
//!
//! Every sample block carries the shield's time (µs since its boot) of its
//! first sample. The block leaves the shield right after its last sample is
//! taken, so `t_us + samples * period_us` is the shield's time at sending,
//! and the host's receive time is
//!
//! ```text
//! host = shield * (1 + drift) + offset + delay,   delay >= 0 and varies
//! ```
//!
//! USB polling, the kernel and thread scheduling add a delay that is never
//! negative and now and then large (a stall of hundreds of ms). Averaging
//! would carry the mean delay and the stalls into the estimate. What the
//! deliveries that waited least have in common is the line itself, so the
//! estimator follows the lower envelope of `host - shield`, as NTP's clock
//! filter and the convex-hull skew estimator of Moon, Skelly and Towsley
//! ("Estimation and removal of clock skew from network delay measurements",
//! INFOCOM 1999) do:
//!
//! 1. keep the minimum of `host - shield` per window of shield time (1 s by
//!    default): a window's least-delayed block, and bounded memory;
//! 2. fit a robust line through the minima (median of slopes between
//!    minima half the span apart, median intercept) and drop minima far
//!    *below* it: nothing arrives before it was sent, so those are glitches
//!    (a block stamped late, a host clock step), not short delays;
//! 3. the estimate is the line under every kept minimum that runs closest
//!    to them on average (Moon et al.'s linear program): the edge of their
//!    lower convex hull above the mean time.
//!
//! The offset it reports includes the smallest transport delay, which no
//! one-way method can tell apart from the offset; for a USB link that is
//! well under a millisecond.
//!
//! Pure: no clock is read here. The link stamps blocks with `Instant`s and
//! [`RunClock`] turns them into seconds of the run.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::Serialize;
use shield_protocol::SampleBlock;

/// Seconds since the start of a run, the time axis of everything recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunClock {
    origin: Instant,
}

impl RunClock {
    pub fn new(origin: Instant) -> Self {
        RunClock { origin }
    }

    /// A clock starting now.
    pub fn start() -> Self {
        RunClock::new(Instant::now())
    }

    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// `at` in seconds of the run (negative before its origin).
    pub fn seconds(&self, at: Instant) -> f64 {
        match at.checked_duration_since(self.origin) {
            Some(d) => d.as_secs_f64(),
            None => -self.origin.duration_since(at).as_secs_f64(),
        }
    }
}

/// The shield's time (s) at which a block was complete and could be sent:
/// its last sample's time plus one period.
pub fn block_sent_at(block: &SampleBlock) -> f64 {
    let samples = u64::try_from(block.samples()).unwrap_or(u64::MAX);
    let end_us = block
        .t_us
        .saturating_add(samples.saturating_mul(u64::from(block.period_us)));
    us_to_s(end_us)
}

fn us_to_s(us: u64) -> f64 {
    // Exact below 2^53 µs (285 years of uptime).
    us as f64 * 1e-6
}

/// Tuning of [`ClockEstimator`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockConfig {
    /// Shield time per minimum. Should hold several blocks: the more, the
    /// likelier one of them was barely delayed.
    pub window: Duration,
    /// Windows kept; older ones are forgotten so the estimate follows the
    /// drift as the crystal warms up. 600 x 1 s = the last 10 minutes.
    pub max_windows: usize,
    /// A minimum further below the robust line than this many robust
    /// standard deviations (and [`ClockConfig::min_glitch`]) is a glitch.
    pub glitch_sigmas: f64,
    /// Floor of the glitch threshold, so that a nearly noiseless link does
    /// not call every small wobble a glitch.
    pub min_glitch: Duration,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            window: Duration::from_secs(1),
            max_windows: 600,
            glitch_sigmas: 6.0,
            min_glitch: Duration::from_millis(2),
        }
    }
}

/// An estimate of the shield's clock against the run clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClockFit {
    /// Run time (s) at shield time 0, smallest transport delay included.
    pub offset_s: f64,
    /// How much faster the host's clock runs than the shield's, in parts
    /// per million: positive when the shield's crystal is slow.
    pub drift_ppm: f64,
    /// RMS of the window minima above the fitted line: how far the
    /// least-delayed block of a window typically sits above the envelope.
    pub jitter_s: f64,
    /// Mean delay of all blocks above the line (transport latency beyond
    /// the smallest one).
    pub mean_delay_s: f64,
    /// Windows the fit used, and minima dropped as glitches.
    pub windows: usize,
    pub glitches: usize,
    /// Shield time (s) spanned by the windows.
    pub span_s: f64,
}

impl ClockFit {
    /// Run time (s) of shield time `shield_s` (s since the shield's boot).
    pub fn to_run(&self, shield_s: f64) -> f64 {
        shield_s * (1.0 + self.drift_ppm * 1e-6) + self.offset_s
    }

    /// Run time (s) of a shield timestamp in µs, as in `SampleBlock::t_us`.
    pub fn us_to_run(&self, t_us: u64) -> f64 {
        self.to_run(us_to_s(t_us))
    }
}

/// One window's least-delayed block.
#[derive(Debug, Clone, Copy)]
struct Window {
    index: i64,
    /// Shield time (s) and `host - shield` (s) of the minimum.
    t: f64,
    d: f64,
    /// Sum and count of `host - shield` over the window, for the mean delay.
    sum_d: f64,
    count: u64,
}

/// Collects (shield time, host time) pairs and estimates the mapping.
#[derive(Debug, Clone)]
pub struct ClockEstimator {
    config: ClockConfig,
    window_s: f64,
    windows: VecDeque<Window>,
    /// Shield time of the last pair, to notice a shield that rebooted.
    last_shield_s: Option<f64>,
    restarts: u64,
}

impl ClockEstimator {
    pub fn new(config: ClockConfig) -> Self {
        // A zero window would put every pair in its own window: still works,
        // but then memory is max_windows pairs; keep it at least 1 ms.
        let window_s = config.window.as_secs_f64().max(1e-3);
        ClockEstimator {
            config: ClockConfig {
                max_windows: config.max_windows.max(2),
                ..config
            },
            window_s,
            windows: VecDeque::new(),
            last_shield_s: None,
            restarts: 0,
        }
    }

    /// Times the shield's clock went backwards (it rebooted) and the
    /// estimator started over.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// A sample block received at run time `host_s`.
    pub fn add_block(&mut self, block: &SampleBlock, host_s: f64) {
        self.add(block_sent_at(block), host_s);
    }

    /// One pair: shield time `shield_s` (s since its boot), run time
    /// `host_s` at which the host had it.
    pub fn add(&mut self, shield_s: f64, host_s: f64) {
        if !(shield_s.is_finite() && host_s.is_finite()) {
            return;
        }
        if let Some(last) = self.last_shield_s {
            // Blocks come in order; a clock more than a window behind means
            // the shield started again and the old pairs describe another
            // boot.
            if shield_s + self.window_s < last {
                self.windows.clear();
                self.restarts += 1;
            }
        }
        self.last_shield_s = Some(shield_s);
        let d = host_s - shield_s;
        let index = (shield_s / self.window_s).floor() as i64;
        match self.windows.back_mut() {
            Some(w) if w.index == index => {
                w.sum_d += d;
                w.count += 1;
                if d < w.d {
                    w.t = shield_s;
                    w.d = d;
                }
            }
            _ => {
                self.windows.push_back(Window {
                    index,
                    t: shield_s,
                    d,
                    sum_d: d,
                    count: 1,
                });
                while self.windows.len() > self.config.max_windows {
                    self.windows.pop_front();
                }
            }
        }
    }

    /// The current estimate; `None` until two windows are in.
    pub fn estimate(&self) -> Option<ClockFit> {
        if self.windows.len() < 2 {
            return None;
        }
        // Times relative to the first window, so the fits work with small
        // numbers; shifted back to shield time 0 at the end.
        let t0 = self.windows.front()?.t;
        let points: Vec<(f64, f64)> = self.windows.iter().map(|w| (w.t - t0, w.d)).collect();

        // 2. Robust line, then drop minima far below it.
        let (a0, b0) = robust_line(&points)?;
        let residuals: Vec<f64> = points.iter().map(|&(t, d)| d - (a0 + b0 * t)).collect();
        let centre = median(residuals.clone())?;
        let spread = 1.4826 * median(residuals.iter().map(|r| (r - centre).abs()).collect())?;
        let threshold =
            (self.config.glitch_sigmas * spread).max(self.config.min_glitch.as_secs_f64());
        let kept: Vec<(f64, f64)> = points
            .iter()
            .zip(&residuals)
            .filter(|&(_, r)| *r >= centre - threshold)
            .map(|(p, _)| *p)
            .collect();
        let glitches = points.len() - kept.len();

        // 3. The lower-hull edge above the mean time.
        let (a, b) = lower_envelope(&kept)?;

        let jitter_s = (kept
            .iter()
            .map(|&(t, d)| (d - (a + b * t)).powi(2))
            .sum::<f64>()
            / kept.len() as f64)
            .sqrt();
        let (sum_above, count) = self.windows.iter().fold((0.0, 0u64), |(s, n), w| {
            let line = a + b * (w.t - t0);
            (s + (w.sum_d - line * w.count as f64), n + w.count)
        });
        let span_s = points.last().map_or(0.0, |p| p.0);
        Some(ClockFit {
            offset_s: a - b * t0,
            drift_ppm: b * 1e6,
            jitter_s,
            mean_delay_s: if count == 0 {
                0.0
            } else {
                sum_above / count as f64
            },
            windows: kept.len(),
            glitches,
            span_s,
        })
    }
}

impl Default for ClockEstimator {
    fn default() -> Self {
        ClockEstimator::new(ClockConfig::default())
    }
}

/// Median of the slopes between each point and the one half the set later
/// (Theil-Sen on far-apart pairs: O(n), and a glitch spoils at most two
/// slopes), and the median intercept for that slope.
fn robust_line(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let half = points.len() / 2;
    let slopes: Vec<f64> = points
        .iter()
        .zip(&points[half..])
        .filter(|(p, q)| q.0 > p.0)
        .map(|(p, q)| (q.1 - p.1) / (q.0 - p.0))
        .collect();
    let b = median(slopes)?;
    let a = median(points.iter().map(|&(t, d)| d - b * t).collect())?;
    Some((a, b))
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    Some(*m)
}

/// The line below every point that minimises the summed distance to them:
/// minimising sum(d_i - a - b t_i) is maximising the line's value at the
/// mean time, so it is the lower convex hull's edge over the mean time.
/// Points must be sorted by time.
fn lower_envelope(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    if points.len() < 2 {
        return None;
    }
    // Andrew's monotone chain, lower half.
    let mut hull: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    for &p in points {
        while hull.len() >= 2 {
            let (o, a) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            let cross = (a.0 - o.0) * (p.1 - o.1) - (a.1 - o.1) * (p.0 - o.0);
            if cross <= 0.0 {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(p);
    }
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / points.len() as f64;
    let edge = hull
        .windows(2)
        .find(|e| e[1].0 >= mean_t)
        .or_else(|| hull.windows(2).last())?;
    let (p, q) = (edge[0], edge[1]);
    if q.0 <= p.0 {
        return None;
    }
    let b = (q.1 - p.1) / (q.0 - p.0);
    Some((p.1 - b * p.0, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use benchctl_rng::SimRng;

    const OFFSET: f64 = 12.345;
    const DRIFT: f64 = 50e-6;

    /// 60 s of 20 blocks/s starting 3 s after the shield booted, delays
    /// uniform in 0..20 ms, a few USB stalls and two mis-stamped blocks.
    fn synthetic(seed: u64) -> ClockEstimator {
        let mut rng = SimRng::new(seed);
        let mut clock = ClockEstimator::default();
        for i in 0..1200u32 {
            let shield = 3.0 + f64::from(i) * 0.05;
            let mut delay = rng.unit() * 0.020;
            if i % 150 == 77 {
                // A stall: the host did not read for a while.
                delay += 0.1 + rng.unit() * 0.4;
            }
            let mut stamped = shield;
            if i == 400 || i == 901 {
                // Stamped 30 ms late by the shield: looks early on the host.
                stamped += 0.030;
            }
            clock.add(stamped, shield * (1.0 + DRIFT) + OFFSET + delay);
        }
        clock
    }

    #[test]
    fn recovers_offset_and_drift_from_delayed_blocks() {
        for seed in [1, 2, 3, 0x5eed, 0xdead_beef, 42] {
            let fit = synthetic(seed).estimate().expect("enough windows");
            eprintln!(
                "seed {seed}: drift error {:+.3} ppm, offset error {:+.1} µs, jitter {:.2} ms",
                fit.drift_ppm - 50.0,
                (fit.offset_s - OFFSET) * 1e6,
                fit.jitter_s * 1e3
            );
            assert!(
                (fit.drift_ppm - 50.0).abs() < 5.0,
                "seed {seed}: drift {} ppm",
                fit.drift_ppm
            );
            assert!(
                (fit.offset_s - OFFSET).abs() < 1e-3,
                "seed {seed}: offset {} s",
                fit.offset_s
            );
            assert_eq!(fit.glitches, 2, "seed {seed}: {fit:?}");
            // Minima of 20 delays uniform in 0..20 ms sit about 1 ms above.
            assert!(fit.jitter_s < 3e-3, "seed {seed}: {fit:?}");
            assert!(
                (fit.mean_delay_s - 0.010).abs() < 5e-3,
                "seed {seed}: {fit:?}"
            );
            let t = 30.0;
            let expected = t * (1.0 + DRIFT) + OFFSET;
            assert!((fit.to_run(t) - expected).abs() < 1e-3);
        }
    }

    #[test]
    fn error_statistics_over_many_noise_draws() {
        // The lower envelope of delays uniform in 0..20 ms is sparse (few
        // blocks arrive within 0.1 ms of the floor), so the drift error
        // has a tail: over 300 draws the RMS is about 2 ppm and a few
        // draws land beyond 5 ppm. The offset stays well within 1 ms.
        let draws = 300;
        let mut drift_errors: Vec<f64> = Vec::new();
        let mut worst_offset = 0.0f64;
        for seed in 1..=draws {
            let fit = synthetic(seed * 0x9e37_79b9)
                .estimate()
                .expect("enough windows");
            drift_errors.push((fit.drift_ppm - 50.0).abs());
            worst_offset = worst_offset.max((fit.offset_s - OFFSET).abs());
        }
        let rms = (drift_errors.iter().map(|e| e * e).sum::<f64>() / draws as f64).sqrt();
        let within = drift_errors.iter().filter(|&&e| e < 5.0).count();
        let worst = drift_errors.iter().copied().fold(0.0, f64::max);
        eprintln!(
            "{draws} draws: drift error RMS {rms:.2} ppm, worst {worst:.2} ppm, \
             {within} within ±5 ppm; worst offset error {:.0} µs",
            worst_offset * 1e6
        );
        assert!(rms < 3.0, "RMS drift error {rms} ppm");
        assert!(within * 100 >= draws as usize * 95, "{within}/{draws}");
        assert!(worst_offset < 1e-3, "{worst_offset} s");
    }

    #[test]
    fn no_estimate_from_one_window() {
        let mut clock = ClockEstimator::default();
        assert_eq!(clock.estimate(), None);
        clock.add(1.0, 2.0);
        clock.add(1.5, 2.5);
        assert_eq!(clock.estimate(), None);
        clock.add(2.1, 3.1);
        let fit = clock.estimate().expect("two windows");
        assert!((fit.offset_s - 1.0).abs() < 1e-9, "{fit:?}");
        assert!(fit.drift_ppm.abs() < 1e-3, "{fit:?}");
    }

    #[test]
    fn a_rebooted_shield_starts_the_estimate_over() {
        let mut clock = ClockEstimator::default();
        for i in 0..100 {
            clock.add(100.0 + f64::from(i) * 0.1, 200.0 + f64::from(i) * 0.1);
        }
        for i in 0..100 {
            clock.add(0.5 + f64::from(i) * 0.1, 300.0 + f64::from(i) * 0.1);
        }
        assert_eq!(clock.restarts(), 1);
        let fit = clock.estimate().expect("windows after the reboot");
        assert!((fit.offset_s - 299.5).abs() < 1e-6, "{fit:?}");
    }

    #[test]
    fn old_windows_are_forgotten() {
        let mut clock = ClockEstimator::new(ClockConfig {
            max_windows: 10,
            ..ClockConfig::default()
        });
        for i in 0..100 {
            clock.add(f64::from(i), f64::from(i) + 5.0);
        }
        let fit = clock.estimate().expect("windows");
        assert_eq!(fit.windows, 10);
        assert!((fit.span_s - 9.0).abs() < 1e-9);
    }

    #[test]
    fn block_time_is_after_its_last_sample() {
        let mut block = SampleBlock {
            seq: 0,
            t_us: 1_000_000,
            period_us: 1000,
            channels: 2,
            layout: shield_protocol::Layout::Interleaved,
            values: Default::default(),
        };
        block.values.extend_from_slice(&[0; 6]).expect("fits");
        assert!((block_sent_at(&block) - 1.003).abs() < 1e-12);
    }

    #[test]
    fn run_clock_counts_from_its_origin() {
        let origin = Instant::now();
        let clock = RunClock::new(origin);
        assert_eq!(clock.seconds(origin), 0.0);
        let later = origin + Duration::from_millis(1500);
        assert!((clock.seconds(later) - 1.5).abs() < 1e-9);
        let before = RunClock::new(later);
        assert!((before.seconds(origin) + 1.5).abs() < 1e-9);
    }
}
