//! What the simulated shield's antennas and current sensors are exposed to,
//! on the shield's own clock (µs since its boot): the plant (`sim::plant`)
//! writes it a little ahead of time, the shield's front end reads it at each
//! sample's time.
//!
//! Why ahead of time: the shield takes a sample the moment its clock says,
//! but the phones' emissions for that moment are only known once the plant
//! has run the phone models up to it. The plant therefore publishes what the
//! phones will emit over the next fraction of a second if nothing changes
//! (the models are deterministic), and publishes again, replacing that
//! forecast, whenever it runs; an action on the bench reaches the antennas
//! one plant tick later, as a real phone takes a moment to react.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// One transmission as one shield channel hears it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfSpan {
    pub detector: u8,
    /// The tuning of the channel that hears it (the key the engine measures by).
    pub center_khz: u32,
    pub start_us: u64,
    pub end_us: u64,
    /// Received power, milliwatts (powers add; dBm do not).
    pub mw: f64,
}

/// Supply current over `[start_us, end_us)` on one sensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurrentSpan {
    pub detector: u8,
    pub start_us: u64,
    pub end_us: u64,
    pub amps: f64,
}

/// How far back entries are kept: a shield that polls late still finds what
/// was there when its sample was due.
const KEEP_US: u64 = 2_000_000;

#[derive(Debug, Default)]
struct Inner {
    rf: Vec<RfSpan>,
    /// Per sensor, in time order.
    current: BTreeMap<u8, Vec<CurrentSpan>>,
}

/// Shared between the plant (writer) and the shield thread (reader).
#[derive(Debug, Default, Clone)]
pub struct Exposure {
    inner: Arc<Mutex<Inner>>,
}

impl Exposure {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking plant leaves whole entries behind; keep measuring.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replace the forecast from `from_us` on: entries starting at or after
    /// it are dropped (those that started earlier already happened and
    /// stay), then `rf` and `current` are added.
    pub fn publish(&self, from_us: u64, rf: Vec<RfSpan>, current: Vec<CurrentSpan>) {
        let mut inner = self.lock();
        let horizon = from_us.saturating_sub(KEEP_US);
        inner
            .rf
            .retain(|s| s.start_us < from_us && s.end_us >= horizon);
        inner.rf.extend(rf);
        for spans in inner.current.values_mut() {
            spans.retain(|s| s.start_us < from_us && s.end_us >= horizon);
            // The forecast takes over at from_us.
            if let Some(last) = spans.last_mut() {
                last.end_us = last.end_us.min(from_us);
            }
        }
        for span in current {
            inner.current.entry(span.detector).or_default().push(span);
        }
    }

    /// Total power (mW) of the transmissions `detector` tuned to
    /// `center_khz` hears at any time in `(from_us, to_us]`: a peak-holding
    /// detector, so a burst shorter than the sample period is not missed.
    pub fn rf_mw(&self, detector: u8, center_khz: u32, from_us: u64, to_us: u64) -> f64 {
        rf_mw_of(&self.lock().rf, detector, center_khz, from_us, to_us)
    }

    /// The current on `detector` at `t_us`: the span covering it, else the
    /// last one before it (the supply holds its draw until told otherwise);
    /// `None` if the plant never said anything about this sensor.
    pub fn current_a(&self, detector: u8, t_us: u64) -> Option<f64> {
        current_a_of(self.lock().current.get(&detector)?, t_us)
    }

    /// What the exposure holds for samples between `from_us` and `to_us`,
    /// copied out once: it answers `rf_mw` and `current_a` exactly as the
    /// exposure would for any `from_us <= from, to <= to_us` and `t_us` in
    /// that range, without the lock and without scanning the two seconds
    /// of history on every sample. The offline recorder takes one per plant
    /// tick instead of a lock and a scan per sample and channel.
    pub fn window(&self, from_us: u64, to_us: u64) -> ExposureWindow {
        let inner = self.lock();
        ExposureWindow {
            // Order kept: the sum of powers then adds in the same order.
            rf: inner
                .rf
                .iter()
                .filter(|s| s.start_us <= to_us && s.end_us > from_us)
                .copied()
                .collect(),
            current: inner
                .current
                .iter()
                .map(|(&detector, spans)| {
                    // From the span in force at from_us (the last to start
                    // at or before it) to the last one starting by to_us.
                    let first = spans
                        .partition_point(|s| s.start_us <= from_us)
                        .saturating_sub(1);
                    let last = spans.partition_point(|s| s.start_us <= to_us);
                    (detector, spans[first..last.max(first)].to_vec())
                })
                .collect(),
        }
    }
}

/// What a shield's detectors hear: the plant's [`Exposure`], or a
/// [`ExposureWindow`] copied out of it. The simulated shield's measurement
/// model reads through this, so live and offline recordings share it.
pub trait Heard {
    /// See [`Exposure::rf_mw`].
    fn rf_mw(&self, detector: u8, center_khz: u32, from_us: u64, to_us: u64) -> f64;
    /// See [`Exposure::current_a`].
    fn current_a(&self, detector: u8, t_us: u64) -> Option<f64>;
}

impl Heard for Exposure {
    fn rf_mw(&self, detector: u8, center_khz: u32, from_us: u64, to_us: u64) -> f64 {
        Exposure::rf_mw(self, detector, center_khz, from_us, to_us)
    }

    fn current_a(&self, detector: u8, t_us: u64) -> Option<f64> {
        Exposure::current_a(self, detector, t_us)
    }
}

/// A stretch of an [`Exposure`], see [`Exposure::window`]. Asked about
/// times outside its stretch it answers as if nothing else was there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExposureWindow {
    rf: Vec<RfSpan>,
    current: BTreeMap<u8, Vec<CurrentSpan>>,
}

impl Heard for ExposureWindow {
    fn rf_mw(&self, detector: u8, center_khz: u32, from_us: u64, to_us: u64) -> f64 {
        rf_mw_of(&self.rf, detector, center_khz, from_us, to_us)
    }

    fn current_a(&self, detector: u8, t_us: u64) -> Option<f64> {
        current_a_of(self.current.get(&detector)?, t_us)
    }
}

/// The peak-held power of the spans `detector` tuned to `center_khz` hears
/// in `(from_us, to_us]`; one definition for the exposure and its windows.
fn rf_mw_of(spans: &[RfSpan], detector: u8, center_khz: u32, from_us: u64, to_us: u64) -> f64 {
    spans
        .iter()
        .filter(|s| s.detector == detector && s.center_khz == center_khz)
        .filter(|s| s.start_us <= to_us && s.end_us > from_us)
        .map(|s| s.mw)
        .sum()
}

/// The current of the last span (in time order) starting at or before `t_us`.
fn current_a_of(spans: &[CurrentSpan], t_us: u64) -> Option<f64> {
    let i = spans.partition_point(|s| s.start_us <= t_us);
    spans[..i].last().map(|s| s.amps)
}

/// dBm to milliwatts.
pub fn mw(dbm: f64) -> f64 {
    10f64.powf(dbm / 10.0)
}

/// Milliwatts to dBm.
pub fn dbm(mw: f64) -> f64 {
    10.0 * mw.log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burst(start_us: u64, end_us: u64) -> RfSpan {
        RfSpan {
            detector: 0,
            center_khz: 2_437_000,
            start_us,
            end_us,
            mw: mw(-40.0),
        }
    }

    #[test]
    fn a_short_burst_between_samples_is_held() {
        let e = Exposure::new();
        e.publish(0, vec![burst(1_200, 1_500)], vec![]);
        // Samples at 1 ms and 2 ms: the burst lies between them.
        assert_eq!(e.rf_mw(0, 2_437_000, 0, 1_000), 0.0);
        assert!((dbm(e.rf_mw(0, 2_437_000, 1_000, 2_000)) + 40.0).abs() < 1e-9);
        assert_eq!(e.rf_mw(0, 2_437_000, 2_000, 3_000), 0.0);
        // Another tuning or detector hears nothing.
        assert_eq!(e.rf_mw(0, 2_402_000, 1_000, 2_000), 0.0);
        assert_eq!(e.rf_mw(1, 2_437_000, 1_000, 2_000), 0.0);
    }

    #[test]
    fn a_new_forecast_replaces_the_old_one_from_its_start() {
        let e = Exposure::new();
        e.publish(0, vec![burst(100, 200), burst(5_000, 6_000)], vec![]);
        // The bench acted at 3 ms: the burst forecast for 5 ms never happens.
        e.publish(3_000, vec![burst(8_000, 9_000)], vec![]);
        assert!(e.rf_mw(0, 2_437_000, 0, 1_000) > 0.0, "the past stays");
        assert_eq!(e.rf_mw(0, 2_437_000, 4_000, 7_000), 0.0);
        assert!(e.rf_mw(0, 2_437_000, 7_000, 9_000) > 0.0);
    }

    #[test]
    fn a_window_answers_as_the_exposure_does_inside_it() {
        let e = Exposure::new();
        let span = |start_us, end_us, amps| CurrentSpan {
            detector: 8,
            start_us,
            end_us,
            amps,
        };
        e.publish(
            0,
            vec![
                burst(1_200, 1_500),
                burst(4_000, 9_000),
                burst(9_500, 9_600),
            ],
            vec![span(0, 3_000, 0.15), span(3_000, 5_000, 0.3)],
        );
        e.publish(
            5_000,
            vec![burst(5_500, 5_700)],
            vec![span(5_000, 20_000, 0.2)],
        );
        let w = e.window(3_000, 8_000);
        for from in (3_000..8_000).step_by(250) {
            for to in (from..=8_000).step_by(250) {
                for detector in [0, 1] {
                    assert_eq!(
                        Heard::rf_mw(&w, detector, 2_437_000, from, to),
                        e.rf_mw(detector, 2_437_000, from, to),
                        "({from}, {to}]"
                    );
                }
            }
            assert_eq!(Heard::current_a(&w, 8, from), e.current_a(8, from));
            assert_eq!(Heard::current_a(&w, 9, from), e.current_a(9, from));
        }
    }

    #[test]
    fn current_holds_until_the_next_span() {
        let e = Exposure::new();
        assert_eq!(e.current_a(8, 0), None);
        let span = |start_us, end_us, amps| CurrentSpan {
            detector: 8,
            start_us,
            end_us,
            amps,
        };
        e.publish(
            0,
            vec![],
            vec![span(0, 1_000, 0.15), span(1_000, 2_000, 0.3)],
        );
        assert_eq!(e.current_a(8, 500), Some(0.15));
        assert_eq!(e.current_a(8, 1_500), Some(0.3));
        assert_eq!(e.current_a(8, 10_000), Some(0.3), "held past the forecast");
        e.publish(1_200, vec![], vec![span(1_200, 3_000, 0.001)]);
        assert_eq!(e.current_a(8, 1_100), Some(0.3));
        assert_eq!(e.current_a(8, 1_300), Some(0.001));
        assert_eq!(e.current_a(9, 1_300), None);
    }
}
