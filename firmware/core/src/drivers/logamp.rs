//! Log-amp RF power detector (Analog Devices AD8318 and alikes) read through
//! an [`AdcChannel`].
//!
//! Reference: "AD8318 1 MHz to 8 GHz, 70 dB Logarithmic Detector/Controller",
//! Analog Devices data sheet Rev. D ("data sheet" below).
//!
//! A log amp's output is linear in dB. The data sheet writes the transfer
//! function ("Theory of Operation") as
//!
//! ```text
//! V_OUT = SLOPE × (P_IN − INTERCEPT)
//! ```
//!
//! with SLOPE ≈ −24.5 mV/dB and INTERCEPT ≈ +20 dBm for the AD8318 (negative
//! slope: more power, lower voltage). Solving for the input power:
//!
//! ```text
//! P_IN = INTERCEPT + V_OUT / SLOPE
//! ```
//!
//! In integers: `P[cdBm] = INTERCEPT[cdBm] + V[µV] × 100 / SLOPE[µV/dB]`,
//! computed in `i64` and rounded to nearest, so there is no float and no
//! overflow for any `u16` millivolt reading and any `i32` slope.
//!
//! Slope and intercept vary with frequency and from part to part; the
//! constants below are the data sheet's typical values and are meant to be
//! replaced by a per-board two-point calibration (two known powers give slope
//! and intercept, data sheet "Device Calibration").

use core::fmt;

use super::CentiDbm;
use crate::adc::AdcChannel;

/// Per-band transfer function of the detector plus the input range over
/// which that line is trustworthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calibration {
    slope_uv_per_db: i32,
    intercept_cdbm: CentiDbm,
    min_cdbm: CentiDbm,
    max_cdbm: CentiDbm,
}

/// Why a [`Calibration`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidCalibration {
    /// A slope of zero cannot be inverted.
    ZeroSlope,
    /// The dynamic range is empty (`min > max`).
    EmptyRange,
}

impl fmt::Display for InvalidCalibration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidCalibration::ZeroSlope => write!(f, "log-amp calibration has zero slope"),
            InvalidCalibration::EmptyRange => {
                write!(f, "log-amp calibration has min power above max power")
            }
        }
    }
}

impl core::error::Error for InvalidCalibration {}

impl Calibration {
    /// A calibration: slope in µV/dB (negative for the AD8318), intercept in
    /// centi-dBm, and the dynamic range `[min_cdbm, max_cdbm]` in centi-dBm
    /// outside which readings are flagged.
    pub const fn new(
        slope_uv_per_db: i32,
        intercept_cdbm: CentiDbm,
        min_cdbm: CentiDbm,
        max_cdbm: CentiDbm,
    ) -> Result<Self, InvalidCalibration> {
        if slope_uv_per_db == 0 {
            return Err(InvalidCalibration::ZeroSlope);
        }
        if min_cdbm > max_cdbm {
            return Err(InvalidCalibration::EmptyRange);
        }
        Ok(Self {
            slope_uv_per_db,
            intercept_cdbm,
            min_cdbm,
            max_cdbm,
        })
    }

    /// Slope in µV/dB.
    pub const fn slope_uv_per_db(&self) -> i32 {
        self.slope_uv_per_db
    }

    /// Intercept in centi-dBm.
    pub const fn intercept_cdbm(&self) -> CentiDbm {
        self.intercept_cdbm
    }

    /// Lower end of the trusted input range, centi-dBm.
    pub const fn min_cdbm(&self) -> CentiDbm {
        self.min_cdbm
    }

    /// Upper end of the trusted input range, centi-dBm.
    pub const fn max_cdbm(&self) -> CentiDbm {
        self.max_cdbm
    }

    /// Input power for an output voltage: P = INTERCEPT + V_OUT / SLOPE,
    /// in centi-dBm, rounded to nearest. Not range-checked.
    pub fn power_cdbm(&self, vout_mv: u16) -> CentiDbm {
        // µV × 100 cdB/dB, over µV/dB, gives cdB.
        let num = i64::from(vout_mv) * 1_000 * 100;
        let delta = div_round(num, i64::from(self.slope_uv_per_db));
        let p = i64::from(self.intercept_cdbm) + delta;
        clamp_i32(p)
    }

    /// Output voltage the data sheet's line predicts for `p_cdbm`:
    /// V_OUT = SLOPE × (P_IN − INTERCEPT), in mV, rounded to nearest (may be
    /// negative or beyond the output swing for powers off the line).
    pub fn expected_mv(&self, p_cdbm: CentiDbm) -> i32 {
        let num =
            i64::from(self.slope_uv_per_db) * (i64::from(p_cdbm) - i64::from(self.intercept_cdbm));
        // µV/dB × cdB = µV × 100 → / 100 / 1000 for mV.
        clamp_i32(div_round(num, 100_000))
    }
}

/// Divide rounding half away from zero; `d` must be non-zero (callers
/// guarantee it: slopes are validated, other divisors are constants).
fn div_round(n: i64, d: i64) -> i64 {
    if d == 0 {
        return 0;
    }
    let q = n / d;
    let r = n % d;
    if 2 * r.unsigned_abs() >= d.unsigned_abs() {
        if (n < 0) == (d < 0) { q + 1 } else { q - 1 }
    } else {
        q
    }
}

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

/// Builds the data-sheet constants; the `tests` module checks each one
/// passes [`Calibration::new`].
const fn typical(slope: i32, intercept: i32, min: i32, max: i32) -> Calibration {
    Calibration {
        slope_uv_per_db: slope,
        intercept_cdbm: intercept,
        min_cdbm: min,
        max_cdbm: max,
    }
}

/// AD8318 at 900 MHz (GSM900 / LTE band 8), data sheet Specifications table,
/// f = 900 MHz, typical: slope −24.5 mV/dB, intercept 22 dBm, ±1 dB dynamic
/// range −58 dBm to −1 dBm. Cross-check from the same table: V_OUT at
/// −10 dBm = −24.5 × (−32) = 0.78 V, at −40 dBm = 1.52 V.
pub const AD8318_900_MHZ: Calibration = typical(-24_500, 2_200, -5_800, -100);

/// AD8318 at 1.9 GHz (PCS / LTE band 2), Specifications table, f = 1.9 GHz,
/// typical: slope −24.4 mV/dB, intercept 22.4 dBm, range −59 to −2 dBm.
pub const AD8318_1900_MHZ: Calibration = typical(-24_400, 2_240, -5_900, -200);

/// AD8318 at 2.2 GHz (UMTS / LTE band 1), Specifications table, f = 2.2 GHz,
/// typical: slope −24.4 mV/dB, intercept 19.6 dBm, range −60 to −2 dBm.
pub const AD8318_2200_MHZ: Calibration = typical(-24_400, 1_960, -6_000, -200);

/// Where a reading falls relative to the calibration's dynamic range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeStatus {
    /// Inside `[min, max]`: the value is within the detector's log-conformance
    /// error.
    InRange,
    /// Below `min`: the detector is at its noise floor; the true power is
    /// "at most `min`".
    BelowRange,
    /// Above `max`: the detector is compressing (saturation); the true power
    /// is "at least `max`".
    AboveRange,
}

/// One detector reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerReading {
    /// Power in centi-dBm, clamped to the calibration's range.
    pub centi_dbm: CentiDbm,
    /// Power from the straight-line formula before clamping.
    pub unclamped_cdbm: CentiDbm,
    /// Whether the reading was clamped, and on which side.
    pub status: RangeStatus,
    /// Detector output voltage read, mV.
    pub vout_mv: u16,
}

impl PowerReading {
    /// Whether the value is trustworthy as is.
    pub fn in_range(&self) -> bool {
        self.status == RangeStatus::InRange
    }
}

/// Errors of the log-amp driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<E> {
    /// The ADC failed.
    Adc(E),
    /// An averaged read was asked for zero samples; the ADC was not touched.
    NoSamples,
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Adc(e) => write!(f, "log-amp ADC error: {e:?}"),
            Error::NoSamples => write!(f, "log-amp averaging needs at least 1 sample"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for Error<E> {}

/// Convert a detector voltage with `cal`, clamping and flagging readings
/// outside its dynamic range.
pub fn convert(cal: &Calibration, vout_mv: u16) -> PowerReading {
    let p = cal.power_cdbm(vout_mv);
    let (centi_dbm, status) = if p < cal.min_cdbm {
        (cal.min_cdbm, RangeStatus::BelowRange)
    } else if p > cal.max_cdbm {
        (cal.max_cdbm, RangeStatus::AboveRange)
    } else {
        (p, RangeStatus::InRange)
    };
    PowerReading {
        centi_dbm,
        unclamped_cdbm: p,
        status,
        vout_mv,
    }
}

/// A log-amp detector on one ADC channel, with the calibration of the band
/// currently measured.
#[derive(Debug)]
pub struct LogAmp<ADC> {
    adc: ADC,
    cal: Calibration,
}

impl<ADC: AdcChannel> LogAmp<ADC> {
    /// Wrap the ADC channel. Does not read it.
    pub fn new(adc: ADC, cal: Calibration) -> Self {
        Self { adc, cal }
    }

    /// Give the ADC channel back.
    pub fn destroy(self) -> ADC {
        self.adc
    }

    /// The calibration in use.
    pub fn calibration(&self) -> Calibration {
        self.cal
    }

    /// Switch calibration (e.g. when the shield's RF switch selects another
    /// band).
    pub fn set_calibration(&mut self, cal: Calibration) {
        self.cal = cal;
    }

    /// One conversion.
    pub fn read(&mut self) -> Result<PowerReading, Error<ADC::Error>> {
        let mv = self.adc.read_mv().map_err(Error::Adc)?;
        Ok(convert(&self.cal, mv))
    }

    /// Mean of `samples` conversions of V_OUT, then converted. Averaging the
    /// voltage of a log amp averages in dB, which is what the shield reports.
    pub fn read_averaged(&mut self, samples: u16) -> Result<PowerReading, Error<ADC::Error>> {
        if samples == 0 {
            return Err(Error::NoSamples);
        }
        let mut sum: u32 = 0;
        for _ in 0..samples {
            sum += u32::from(self.adc.read_mv().map_err(Error::Adc)?);
        }
        let n = u32::from(samples);
        let mean = (sum + n / 2) / n;
        // The mean of u16 values fits in u16.
        let mean = u16::try_from(mean).unwrap_or(u16::MAX);
        Ok(convert(&self.cal, mean))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::string::ToString;

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct AdcFault;

    /// Scripted ADC: returns the queued results in order; `done` checks all
    /// were consumed, like the embedded-hal mocks.
    #[derive(Debug, Default)]
    struct ScriptedAdc {
        script: VecDeque<Result<u16, AdcFault>>,
    }

    impl ScriptedAdc {
        fn new(script: &[Result<u16, AdcFault>]) -> Self {
            Self {
                script: script.iter().copied().collect(),
            }
        }
        fn done(&self) {
            assert!(
                self.script.is_empty(),
                "unread ADC results: {:?}",
                self.script
            );
        }
    }

    impl AdcChannel for ScriptedAdc {
        type Error = AdcFault;
        fn read_mv(&mut self) -> Result<u16, AdcFault> {
            self.script.pop_front().expect("unexpected ADC read")
        }
    }

    #[test]
    fn datasheet_constants_are_valid() {
        for cal in [AD8318_900_MHZ, AD8318_1900_MHZ, AD8318_2200_MHZ] {
            assert_eq!(
                Calibration::new(
                    cal.slope_uv_per_db(),
                    cal.intercept_cdbm(),
                    cal.min_cdbm(),
                    cal.max_cdbm()
                ),
                Ok(cal)
            );
        }
    }

    #[test]
    fn invalid_calibrations_rejected() {
        assert_eq!(
            Calibration::new(0, 2_000, -6_000, 0),
            Err(InvalidCalibration::ZeroSlope)
        );
        assert_eq!(
            Calibration::new(-24_500, 2_000, 0, -6_000),
            Err(InvalidCalibration::EmptyRange)
        );
        assert!(!InvalidCalibration::ZeroSlope.to_string().is_empty());
        assert!(!InvalidCalibration::EmptyRange.to_string().is_empty());
    }

    #[test]
    fn ad8318_900_mhz_worked_numbers() {
        let cal = AD8318_900_MHZ;
        // Forward: V = −24.5 mV/dB × (P − 22 dBm).
        assert_eq!(cal.expected_mv(-1_000), 784); // −10 dBm → 0.784 V
        assert_eq!(cal.expected_mv(-4_000), 1_519); // −40 dBm → 1.519 V
        // Inverse: P = 22 dBm + V / (−24.5 mV/dB).
        assert_eq!(cal.power_cdbm(784), -1_000);
        assert_eq!(cal.power_cdbm(1_519), -4_000);
        // 1.0 V: 22 − 1000/24.5 = 22 − 40.816 = −18.82 dBm
        assert_eq!(cal.power_cdbm(1_000), -1_882);
    }

    #[test]
    fn ad8318_2200_mhz_rounding() {
        let cal = AD8318_2200_MHZ;
        // −20 dBm → V = −24.4 × (−39.6) = 966.24 mV → 966 mV read back:
        // 19.6 − 966/24.4 = 19.6 − 39.5902 = −19.99 dBm
        assert_eq!(cal.expected_mv(-2_000), 966);
        assert_eq!(cal.power_cdbm(966), -1_999);
    }

    #[test]
    fn out_of_range_is_clamped_and_flagged() {
        let cal = AD8318_900_MHZ;
        // 0 dBm → V = 24.5 × 22 = 539 mV, above the −1 dBm limit.
        let hi = convert(&cal, 539);
        assert_eq!(hi.unclamped_cdbm, 0);
        assert_eq!(hi.centi_dbm, -100);
        assert_eq!(hi.status, RangeStatus::AboveRange);
        assert!(!hi.in_range());
        // −60 dBm → V = 24.5 × 82 = 2009 mV, below the −58 dBm limit.
        let lo = convert(&cal, 2_009);
        assert_eq!(lo.unclamped_cdbm, -6_000);
        assert_eq!(lo.centi_dbm, -5_800);
        assert_eq!(lo.status, RangeStatus::BelowRange);
        // Range edges themselves are in range.
        let edge = convert(&cal, cal.expected_mv(-5_800) as u16);
        assert_eq!(edge.status, RangeStatus::InRange);
        // Extreme inputs never overflow.
        assert_eq!(convert(&cal, 0).status, RangeStatus::AboveRange);
        assert_eq!(convert(&cal, u16::MAX).status, RangeStatus::BelowRange);
    }

    #[test]
    fn positive_slope_detectors_work_too() {
        // An AD8307-style detector: +25 mV/dB, intercept −84 dBm.
        let cal = Calibration::new(25_000, -8_400, -7_500, 1_500).unwrap();
        assert_eq!(cal.power_cdbm(1_500), -2_400); // −84 + 60 = −24 dBm
        assert_eq!(cal.expected_mv(-2_400), 1_500);
    }

    #[test]
    fn div_round_half_away_from_zero() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(5, -2), -3);
        assert_eq!(div_round(-5, -2), 3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(div_round(-4, 3), -1);
        assert_eq!(div_round(1, 0), 0);
    }

    #[test]
    fn read_uses_adc_and_calibration() {
        let mut adc = ScriptedAdc::new(&[Ok(784)]);
        let mut det = LogAmp::new(&mut adc, AD8318_900_MHZ);
        let r = det.read().unwrap();
        assert_eq!(
            r,
            PowerReading {
                centi_dbm: -1_000,
                unclamped_cdbm: -1_000,
                status: RangeStatus::InRange,
                vout_mv: 784
            }
        );
        det.destroy();
        adc.done();
    }

    #[test]
    fn switching_band_changes_result() {
        let mut adc = ScriptedAdc::new(&[Ok(966), Ok(966)]);
        let mut det = LogAmp::new(&mut adc, AD8318_2200_MHZ);
        assert_eq!(det.read().unwrap().centi_dbm, -1_999);
        det.set_calibration(AD8318_900_MHZ);
        assert_eq!(det.calibration(), AD8318_900_MHZ);
        // 22 − 966/24.5 = 22 − 39.4286 = −17.43 dBm
        assert_eq!(det.read().unwrap().centi_dbm, -1_743);
        det.destroy();
        adc.done();
    }

    #[test]
    fn averaged_read_averages_voltage() {
        let mut adc = ScriptedAdc::new(&[Ok(780), Ok(788), Ok(784), Ok(785)]);
        let mut det = LogAmp::new(&mut adc, AD8318_900_MHZ);
        // mean 784.25 → 784 mV → −10 dBm
        let r = det.read_averaged(4).unwrap();
        assert_eq!(r.vout_mv, 784);
        assert_eq!(r.centi_dbm, -1_000);
        assert_eq!(det.read_averaged(0), Err(Error::NoSamples));
        det.destroy();
        adc.done();
    }

    #[test]
    fn adc_errors_propagate() {
        let mut adc = ScriptedAdc::new(&[Err(AdcFault), Ok(800), Err(AdcFault)]);
        let mut det = LogAmp::new(&mut adc, AD8318_900_MHZ);
        assert_eq!(det.read(), Err(Error::Adc(AdcFault)));
        assert_eq!(det.read_averaged(3), Err(Error::Adc(AdcFault)));
        det.destroy();
        adc.done();
    }

    #[test]
    fn errors_display() {
        assert!(
            Error::Adc(AdcFault)
                .to_string()
                .starts_with("log-amp ADC error")
        );
        assert!(!Error::<AdcFault>::NoSamples.to_string().is_empty());
    }
}
