//! Periodic check-ins (`net-beacon`): a phone contacting one destination
//! on a timer.
//!
//! Implants call home on a schedule (with a little jitter to look less
//! mechanical) and send about the same amount each time. People do not:
//! what they cause comes in bursts, at irregular times, in all sizes. The
//! score is RITA's (Active Countermeasures, github.com/activecm/rita, beacon
//! analysis), which scores exactly those two properties, each 0..1:
//!
//! ```text
//! intervals  = gaps between check-ins, sorted; Q1, Q2, Q3 their quartiles
//! bowley     = (Q1 + Q3 − 2·Q2) / (Q3 − Q1)      (0 when the IQR is tiny)
//! timing     = mean of  1 − |bowley(intervals)|             symmetric jitter
//!                       max(0, 1 − MAD(intervals) / Q2)      tight around the median
//!                       min(1, intervals · Q2 / span)        no missing check-ins
//! sizes      = mean of  1 − |bowley(sizes)|
//!                       max(0, 1 − MAD(sizes) / median)
//!                       1 − (distinct sizes − 1) / (n − 1)   sizes to 32 bytes
//! rita       = (timing + sizes) / 2
//! score      = rita · clamp((0.35 − MAD(intervals) / Q2) / 0.10)
//! ```
//!
//! Where this follows RITA and where it adapts it:
//! - Bowley skew and the MAD relative to the median are RITA's v5 timestamp
//!   and data-size statistics (`calculateBowleySkewness`,
//!   `calculateMedianAbsoluteDeviation`), including the rule that skew is 0
//!   when the quartile spread is too small to mean anything (RITA: under
//!   10 s or 10 bytes at one-second resolution; here under 2% of the median
//!   interval, or under 32 bytes).
//! - The connection-count score is RITA-legacy's "connections relative to
//!   the observation span" (it divided the span into 10 s slots). A fixed
//!   slot punishes slow beacons, so here the slot is the beacon's own median
//!   interval: 1.0 when every expected check-in happened, ~0.7 for Poisson
//!   arrivals, near 0 for bursts separated by long silences.
//! - The third size statistic is the number of distinct sizes (to 32 bytes,
//!   RITA-legacy's data-jitter tolerance) instead of RITA-legacy's
//!   "smallness", which called every small packet a beacon.
//!
//! - The last line is this bench's addition. RITA's timing half leans on
//!   Bowley skew, which is noisy over a few dozen intervals, so Poisson
//!   arrivals reach a timing score of 0.8 now and then; and the size half
//!   alone lifts any flow of constant-size connections halfway. Together,
//!   without the fade, they called 88 of 200 generated Poisson flows with
//!   constant sizes (DNS lookups to a resolver, the same API call at random
//!   times) a beacon. The MAD relative to the median separates cleanly
//!   (timers with up to ±20% jitter: ≤ 0.12; Poisson: ≥ 0.30), so the score
//!   fades out between 0.25 (±50% uniform jitter, still a timer) and 0.35.
//!   Below 0.25 the score is RITA's, unchanged.
//!
//! Connections starting less than [`SAME_CHECKIN_S`] apart count as one
//! check-in for the timing (RITA works on one-second timestamps and sees
//! them as one); every connection's size counts.
//!
//! This statistic cannot tell an implant from an honest push keep-alive
//! (Firebase Cloud Messaging every 28 min is as periodic as any beacon):
//! both score high. Telling them apart is the analyzer's job, which lowers
//! the severity to `low` when the destination is allowed (findings.md).

use std::collections::BTreeMap;

use serde_json::json;

use super::{Finding, Severity, round};

/// Score at or above which the connections are a beacon. Fixed on the
/// generated sequences with seeds 0..100: periodic check-ins (5-600 s,
/// jitter up to 20%) scored at least 0.86, bursty app traffic at most 0.63,
/// Poisson connections (of varied sizes or of one size) 0. 0.8 sits above
/// the middle of that gap because a false beacon on an honest phone costs
/// more than a weak one missed. Checked on seeds 1000..1100; see the tests.
pub const THRESHOLD: f64 = 0.8;

/// Fewest check-ins to judge. Five intervals is the least that gives three
/// quartiles a meaning; a push keep-alive every 28 min shows 7 check-ins in
/// 3 hours.
pub const MIN_CHECKINS: usize = 6;

/// Connections this close after a check-in's first are part of it.
pub const SAME_CHECKIN_S: f64 = 1.0;

/// Size differences below this are one size: TLS and HTTP headers wobble
/// by a few bytes between otherwise identical check-ins (RITA-legacy
/// tolerated 32 bytes of data-size dispersion).
const SIZE_BUCKET_BYTES: u64 = 32;

/// Intervals whose MAD is at most this share of the median are a timer's
/// (±50% uniform jitter gives 0.25); the score fades to 0 at
/// [`JITTER_NONE`].
const JITTER_FULL: f64 = 0.25;
const JITTER_NONE: f64 = 0.35;

/// Bowley skew is only computed when the interquartile range is at least
/// this share of the median interval: below it the jitter is too small for
/// its shape to matter.
const MIN_RELATIVE_IQR: f64 = 0.02;

/// What [`assess`] found for one (source, destination, port) tuple.
#[derive(Debug, Clone, PartialEq)]
pub struct BeaconAssessment {
    /// 0..1: the mean of `timing_score` and `size_score`, faded out when
    /// the intervals are too spread for a timer (`jitter` above 0.25).
    pub score: f64,
    /// Timing half (RITA's ts score).
    pub timing_score: f64,
    /// Size half (RITA's ds score).
    pub size_score: f64,
    /// Connections judged (with a finite time).
    pub connections: usize,
    /// Check-ins (connections less than [`SAME_CHECKIN_S`] apart merged).
    pub checkins: usize,
    /// Median interval between check-ins.
    pub period_s: f64,
    /// MAD / median of the intervals: 0.1 for a period with ±20% uniform
    /// jitter.
    pub jitter: f64,
    /// Bowley skew of the intervals, −1..1 (0 = symmetric).
    pub skew: f64,
    /// MAD / median of the connection sizes.
    pub size_dispersion: f64,
    pub start_s: f64,
    pub end_s: f64,
    /// One sentence for the lab, written to follow the destination's name.
    pub summary: String,
}

impl BeaconAssessment {
    /// The `net-beacon` finding for the flow labelled `channel`. `severity`
    /// depends on where it goes ([`severity`]).
    pub fn finding(&self, channel: String, severity: Severity, phase: Option<String>) -> Finding {
        let mut evidence = BTreeMap::new();
        evidence.insert("connections".into(), json!(self.connections));
        evidence.insert("period_s".into(), json!(round(self.period_s, 2)));
        evidence.insert("jitter".into(), json!(round(self.jitter, 3)));
        evidence.insert("skew".into(), json!(round(self.skew, 3)));
        evidence.insert(
            "size_dispersion".into(),
            json!(round(self.size_dispersion, 3)),
        );
        Finding {
            kind: "net-beacon",
            severity,
            phase,
            start_s: self.start_s,
            end_s: self.end_s,
            channel: Some(channel),
            score: self.score,
            summary: self.summary.clone(),
            evidence,
        }
    }
}

/// How much a beacon matters, by where it goes (findings.md): to a
/// destination an allowlist denied, high; to one an allowlist allowed, low
/// (a push keep-alive to an allowed service is normal); with no allowlist
/// to say, medium.
pub fn severity(denied: bool, allowed: bool) -> Severity {
    if denied {
        Severity::High
    } else if allowed {
        Severity::Low
    } else {
        Severity::Medium
    }
}

/// Judge one (source, destination, port) tuple's connections: (start time
/// in seconds, bytes sent). Any order; entries with a non-finite time are
/// ignored. None when fewer than [`MIN_CHECKINS`] check-ins remain.
pub fn assess(events: &[(f64, u64)]) -> Option<BeaconAssessment> {
    let mut conns: Vec<(f64, u64)> = events
        .iter()
        .copied()
        .filter(|(t, _)| t.is_finite())
        .collect();
    conns.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut checkins: Vec<f64> = Vec::new();
    for &(t, _) in &conns {
        if checkins
            .last()
            .is_none_or(|&first| t - first >= SAME_CHECKIN_S)
        {
            checkins.push(t);
        }
    }
    if checkins.len() < MIN_CHECKINS {
        return None;
    }
    let (start_s, end_s) = (checkins[0], checkins[checkins.len() - 1]);
    let span = end_s - start_s;

    let mut intervals: Vec<f64> = checkins.windows(2).map(|w| w[1] - w[0]).collect();
    intervals.sort_by(f64::total_cmp);
    let (q1, period_s, q3) = quartiles(&intervals);
    let skew = bowley(q1, period_s, q3, MIN_RELATIVE_IQR * period_s);
    let jitter = mad(&intervals, period_s) / period_s;
    let count_score = if span > 0.0 {
        (intervals.len() as f64 * period_s / span).min(1.0)
    } else {
        0.0
    };
    let timing_score = (1.0 - skew.abs() + (1.0 - jitter).max(0.0) + count_score) / 3.0;

    let mut sizes: Vec<f64> = conns.iter().map(|&(_, b)| b as f64).collect();
    sizes.sort_by(f64::total_cmp);
    let (s1, size_median, s3) = quartiles(&sizes);
    let size_skew = bowley(s1, size_median, s3, SIZE_BUCKET_BYTES as f64);
    let size_mad = mad(&sizes, size_median);
    let size_dispersion = if size_median > 0.0 {
        size_mad / size_median
    } else if size_mad > 0.0 {
        1.0
    } else {
        0.0
    };
    let mut buckets: Vec<u64> = conns.iter().map(|&(_, b)| b / SIZE_BUCKET_BYTES).collect();
    buckets.sort_unstable();
    buckets.dedup();
    let distinct_score = if conns.len() > 1 {
        1.0 - (buckets.len() - 1) as f64 / (conns.len() - 1) as f64
    } else {
        1.0
    };
    let size_score =
        (1.0 - size_skew.abs() + (1.0 - size_dispersion).max(0.0) + distinct_score) / 3.0;

    let timer_like = ((JITTER_NONE - jitter) / (JITTER_NONE - JITTER_FULL)).clamp(0.0, 1.0);
    let score = ((timing_score + size_score) / 2.0 * timer_like).clamp(0.0, 1.0);
    let summary = summarize(
        score,
        checkins.len(),
        conns.len(),
        period_s,
        jitter,
        size_dispersion,
        span,
    );
    Some(BeaconAssessment {
        score,
        timing_score,
        size_score,
        connections: conns.len(),
        checkins: checkins.len(),
        period_s,
        jitter,
        skew,
        size_dispersion,
        start_s,
        end_s,
        summary,
    })
}

/// Q1, median, Q3 of sorted, non-empty `v` (linear interpolation).
fn quartiles(v: &[f64]) -> (f64, f64, f64) {
    (quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75))
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi.min(sorted.len() - 1)] - sorted[lo]) * frac
}

/// Bowley's quartile skew, (Q1 + Q3 − 2·Q2) / (Q3 − Q1), in −1..1. Like
/// RITA, 0 when the interquartile range is below `min_iqr` or the median
/// sits on a quartile: the shape of a spread that small says nothing.
fn bowley(q1: f64, q2: f64, q3: f64, min_iqr: f64) -> f64 {
    let iqr = q3 - q1;
    if iqr.is_nan() || iqr <= 0.0 || iqr < min_iqr || q2 == q1 || q2 == q3 {
        return 0.0;
    }
    ((q1 + q3 - 2.0 * q2) / iqr).clamp(-1.0, 1.0)
}

/// Median absolute deviation around `median`.
fn mad(values: &[f64], median: f64) -> f64 {
    let mut devs: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
    devs.sort_by(f64::total_cmp);
    quantile(&devs, 0.5)
}

/// "450 ms", "9.5 s", "45 s", "28 min", "2.5 h".
fn duration(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

fn summarize(
    score: f64,
    checkins: usize,
    connections: usize,
    period_s: f64,
    jitter: f64,
    size_dispersion: f64,
    span: f64,
) -> String {
    let what = if connections == checkins {
        format!("{checkins} connections")
    } else {
        format!("{checkins} check-ins ({connections} connections)")
    };
    let sizes = if size_dispersion < 0.1 {
        "of similar size"
    } else {
        "of varying size"
    };
    let verdict = if score >= THRESHOLD {
        "regular check-ins (a beacon)"
    } else {
        "not regular enough for a beacon"
    };
    let spread = if jitter < 0.01 {
        "under 1%".to_string()
    } else {
        format!("{:.0}%", jitter * 100.0)
    };
    format!(
        "{what} over {}, typically {} apart (MAD {spread} of that), {sizes}: {verdict}",
        duration(span),
        duration(period_s),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use benchctl_rng::SimRng;

    /// Check-ins every `period` ± `jitter` (uniform, relative) for
    /// `duration` seconds, sizes `size` plus 0-24 bytes of header wobble.
    fn periodic(
        rng: &mut SimRng,
        period: f64,
        jitter: f64,
        duration: f64,
        size: u64,
    ) -> Vec<(f64, u64)> {
        let mut t = rng.range(0.0, period);
        let mut out = Vec::new();
        while t <= duration {
            out.push((t, size + rng.below(25)));
            t += period * (1.0 + rng.range(-jitter, jitter));
        }
        out
    }

    /// Sizes of app traffic: heavy-tailed, from a few hundred bytes up.
    fn app_size(rng: &mut SimRng) -> u64 {
        rng.pareto(300.0, 1.2).min(5e6) as u64
    }

    // --- Generators for the many-runs tests: random period, jitter 0-20% ---

    fn beacon(seed: u64) -> Vec<(f64, u64)> {
        let mut rng = SimRng::new(seed);
        let period = rng.range(5.0, 600.0);
        let jitter = rng.range(0.0, 0.2);
        let count = rng.range(10.0, 60.0);
        let size = 100 + rng.below(3000);
        periodic(&mut rng, period, jitter, period * count, size)
    }

    fn poisson(seed: u64) -> Vec<(f64, u64)> {
        let mut rng = SimRng::new(seed);
        let mean = rng.range(5.0, 600.0);
        let n = 10 + rng.below(90);
        let mut t = 0.0;
        (0..n)
            .map(|_| {
                t += rng.exp(mean);
                (t, app_size(&mut rng))
            })
            .collect()
    }

    /// Connections of one size at random times: DNS lookups to the
    /// resolver, the same API call whenever the user opens an app.
    fn poisson_one_size(seed: u64) -> Vec<(f64, u64)> {
        let mut rng = SimRng::new(seed);
        let mean = rng.range(5.0, 600.0);
        let n = 10 + rng.below(90);
        let size = 60 + rng.below(3000);
        let mut t = 0.0;
        (0..n)
            .map(|_| {
                t += rng.exp(mean);
                (t, size + rng.below(25))
            })
            .collect()
    }

    /// Sessions of a few connections seconds apart, separated by
    /// heavy-tailed idle times.
    fn bursty(seed: u64) -> Vec<(f64, u64)> {
        let mut rng = SimRng::new(seed);
        let sessions = 5 + rng.below(25);
        let mut t = 0.0;
        let mut out = Vec::new();
        for _ in 0..sessions {
            for _ in 0..1 + rng.below(8) {
                out.push((t, app_size(&mut rng)));
                t += rng.range(0.2, 15.0);
            }
            t += rng.pareto(60.0, 1.1).min(1e5);
        }
        out
    }

    type Generator = fn(u64) -> Vec<(f64, u64)>;

    fn scores(seeds: std::ops::Range<u64>, generate: Generator) -> Vec<f64> {
        seeds
            .map(|s| assess(&generate(s)).map_or(0.0, |a| a.score))
            .collect()
    }

    #[test]
    fn many_runs_beacons_flagged_app_traffic_not() {
        for seeds in [0..100, 1000..1100] {
            let label = format!("{}..{}", seeds.start, seeds.end);
            let b = scores(seeds.clone(), beacon);
            let hits = b.iter().filter(|&&s| s >= THRESHOLD).count();
            let lowest = b.iter().copied().fold(f64::INFINITY, f64::min);
            println!(
                "beacon periodic (5-600 s, jitter 0-20%) seeds {label:<10} flagged {hits}/100, lowest score {lowest:.2}"
            );
            assert!(hits >= 95, "beacons: {hits}/100 on seeds {label}");
            for (name, generate) in [
                ("Poisson", poisson as Generator),
                ("Poisson, one size", poisson_one_size),
                ("bursty app", bursty),
            ] {
                let s = scores(seeds.clone(), generate);
                let hits = s.iter().filter(|&&s| s >= THRESHOLD).count();
                let highest = s.iter().copied().fold(0.0, f64::max);
                println!(
                    "beacon benign {name:<28} seeds {label:<10} flagged {hits}/100, highest score {highest:.2}"
                );
                assert_eq!(hits, 0, "{name}: {hits} false alarms on seeds {label}");
            }
        }
    }

    #[test]
    fn sixty_seconds_with_20_percent_jitter_over_30_min_is_a_beacon() {
        let mut rng = SimRng::new(1);
        let a = assess(&periodic(&mut rng, 60.0, 0.2, 1800.0, 400)).unwrap();
        println!("60 s ± 20% over 30 min: {a:?}");
        assert!(a.score >= THRESHOLD, "{a:?}");
        assert!((a.period_s - 60.0).abs() < 6.0, "{a:?}");
        assert!(a.jitter > 0.03 && a.jitter < 0.15, "{a:?}");
        assert!(
            a.summary
                .starts_with("30 connections over 29 min, typically 6"),
            "{}",
            a.summary
        );
        assert!(
            a.summary.ends_with("regular check-ins (a beacon)"),
            "{}",
            a.summary
        );
    }

    #[test]
    fn ten_seconds_with_20_percent_jitter_over_5_min_is_a_beacon() {
        let mut rng = SimRng::new(2);
        let a = assess(&periodic(&mut rng, 10.0, 0.2, 300.0, 180)).unwrap();
        println!("10 s ± 20% over 5 min: {a:?}");
        assert!(a.score >= THRESHOLD, "{a:?}");
    }

    /// A push keep-alive is periodic and scores as a beacon; the analyzer,
    /// not this statistic, lowers its severity when the destination is
    /// allowed (findings.md).
    #[test]
    fn push_keepalive_every_28_min_over_3_h_is_periodic() {
        let mut rng = SimRng::new(3);
        let a = assess(&periodic(&mut rng, 28.0 * 60.0, 0.01, 3.0 * 3600.0, 120)).unwrap();
        println!("keep-alive every 28 min over 3 h: {a:?}");
        assert!(a.checkins >= MIN_CHECKINS, "{a:?}");
        assert!(a.score >= THRESHOLD, "{a:?}");
        assert!(a.summary.contains("28 min apart"), "{}", a.summary);
    }

    #[test]
    fn poisson_and_bursty_traffic_are_not_beacons() {
        for seed in 0..5 {
            let a = assess(&poisson(seed)).unwrap();
            assert!(a.score < THRESHOLD, "{a:?}");
            assert!(
                a.summary.ends_with("not regular enough for a beacon"),
                "{}",
                a.summary
            );
            if let Some(a) = assess(&bursty(seed)) {
                assert!(a.score < THRESHOLD, "{a:?}");
            }
        }
    }

    #[test]
    fn a_handful_of_connections_is_not_judged() {
        assert!(assess(&[(0.0, 100), (60.0, 100), (120.0, 100)]).is_none());
        assert!(assess(&[]).is_none());
        // Connections within a second of each other are one check-in.
        let paired: Vec<(f64, u64)> = (0..5)
            .flat_map(|i| [(i as f64 * 60.0, 100), (i as f64 * 60.0 + 0.3, 5000)])
            .collect();
        assert!(assess(&paired).is_none());
    }

    #[test]
    fn odd_input_does_not_panic() {
        let mut events: Vec<(f64, u64)> = (0..20).map(|i| (f64::from(i) * 30.0, 200)).collect();
        events.reverse();
        events.extend([(f64::NAN, 1), (f64::INFINITY, 2), (5.0, 0), (5.0, u64::MAX)]);
        let a = assess(&events).unwrap();
        assert!(
            a.score.is_finite() && (0.0..=1.0).contains(&a.score),
            "{a:?}"
        );
        // All at one instant: one check-in.
        assert!(assess(&[(1.0, 10); 50]).is_none());
        // Zero-byte connections and perfectly regular times.
        let zero: Vec<(f64, u64)> = (0..10).map(|i| (f64::from(i), 0)).collect();
        let a = assess(&zero).unwrap();
        assert!(a.score.is_finite() && a.size_dispersion == 0.0, "{a:?}");
        // Huge times.
        let huge: Vec<(f64, u64)> = (0..10).map(|i| (1e300 * f64::from(i), 1)).collect();
        assert!(assess(&huge).is_none_or(|a| a.score.is_finite()));
    }

    #[test]
    fn bowley_and_mad_match_their_definitions() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quartiles(&v), (2.0, 3.0, 4.0));
        assert_eq!(bowley(2.0, 3.0, 4.0, 0.0), 0.0);
        // Right-skewed: the median close to Q1.
        assert!((bowley(1.0, 1.5, 4.0, 0.0) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(bowley(1.0, 1.0, 4.0, 0.0), 0.0);
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 100.0], 3.0), 1.0);
    }
}
