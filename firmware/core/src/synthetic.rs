//! A front end whose "antenna" is driven from outside: the QEMU board feeds
//! it the `Stimulus` frames it receives on its second UART, and the host's
//! simulated shield calls `set`/`apply` directly. Everything else (the
//! engine, the protocol, the host) runs exactly as with real detectors.
//!
//! A level is set per (detector, centre frequency); a channel reads the level
//! set for its detector and tuning, plus deterministic pseudo-random noise,
//! or the detector's floor when nothing was set.

use heapless::{String, Vec};
use shield_protocol::{
    Calibration, ChannelConfig, DetectorCheck, DetectorInfo, DetectorKind, MAX_DETECTORS,
    NO_READING, SelfTestReport, ShieldError, Stimulus, Unit,
};

use crate::engine::FrontEnd;

/// What an RF power detector reads with nothing transmitting: -95 dBm, about
/// the noise floor of a sub-GHz receiver over a few hundred kHz (thermal
/// -174 dBm/Hz + 10 log10(300 kHz) ≈ -119 dBm, plus noise figure and
/// detector offset), so an idle band looks like a quiet real one.
pub const FLOOR_CENTI_DBM: i32 = -9_500;
/// What the current sensor reads with nothing set: 350 µA, a phone in deep
/// sleep with the radio off, so "no stimulus" is not mistaken for "no phone".
pub const FLOOR_MICRO_AMP: i32 = 350;
/// Channel occupancy with nothing set: an empty channel.
pub const FLOOR_PERMILLE: i32 = 0;

/// Levels kept at once; setting a new key when full forgets the oldest.
pub const MAX_LEVELS: usize = 32;

/// Seed used unless `with_seed` says otherwise (any non-zero value works;
/// xorshift32 is stuck at zero).
const DEFAULT_SEED: u32 = 0x2545_F491;

/// One level the plant set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Level {
    detector: u8,
    /// 0 matches any tuning.
    center_khz: u32,
    level: i32,
    /// Peak noise, same unit as `level`.
    noise: u16,
}

/// A board whose detectors read what they are told (see the module docs).
#[derive(Debug, Clone)]
pub struct SyntheticFrontEnd {
    detectors: Vec<DetectorInfo, MAX_DETECTORS>,
    /// Parallel to `detectors`: a fault injected by the test (the detector
    /// fails prepare, measures `NO_READING` and fails its self-test).
    faulty: [bool; MAX_DETECTORS],
    levels: Vec<Level, MAX_LEVELS>,
    /// xorshift32 state, never zero.
    rng: u32,
}

impl Default for SyntheticFrontEnd {
    /// The `default_detectors()` board.
    fn default() -> Self {
        Self::new(&default_detectors())
    }
}

impl SyntheticFrontEnd {
    /// A board with these detectors (the first `MAX_DETECTORS`), all at
    /// their floor.
    pub fn new(detectors: &[DetectorInfo]) -> Self {
        let mut kept = Vec::new();
        for detector in detectors.iter().take(MAX_DETECTORS) {
            let _ = kept.push(detector.clone());
        }
        SyntheticFrontEnd {
            detectors: kept,
            faulty: [false; MAX_DETECTORS],
            levels: Vec::new(),
            rng: DEFAULT_SEED,
        }
    }

    /// Same board, with the noise generator seeded: the same seed and the
    /// same measurements give the same noise.
    pub fn with_seed(mut self, seed: u32) -> Self {
        self.rng = if seed == 0 { DEFAULT_SEED } else { seed };
        self
    }

    /// Act on one `Stimulus` from the plant.
    pub fn apply(&mut self, stimulus: &Stimulus) {
        match *stimulus {
            Stimulus::Set {
                detector,
                center_khz,
                level,
                noise,
            } => self.set(detector, center_khz, level, noise),
            Stimulus::Clear => self.levels.clear(),
        }
    }

    /// From now on `detector` tuned to `center_khz` (0: any tuning) reads
    /// `level` ± `noise`. A level of `NO_READING` makes it read `NO_READING`,
    /// to play a failed measurement.
    pub fn set(&mut self, detector: u8, center_khz: u32, level: i32, noise: u16) {
        let new = Level {
            detector,
            center_khz,
            level,
            noise,
        };
        if let Some(entry) = self
            .levels
            .iter_mut()
            .find(|l| l.detector == detector && l.center_khz == center_khz)
        {
            *entry = new;
            return;
        }
        if self.levels.is_full() && !self.levels.is_empty() {
            // Forget the oldest: the plant's latest word matters most.
            let _ = self.levels.remove(0);
        }
        let _ = self.levels.push(new);
    }

    /// Inject (or clear) a fault on `detector`: it then fails `prepare` with
    /// `SensorFault`, measures `NO_READING` and fails its self-test.
    pub fn set_fault(&mut self, detector: u8, faulty: bool) {
        if let Some(index) = self.detectors.iter().position(|d| d.id == detector)
            && let Some(flag) = self.faulty.get_mut(index)
        {
            *flag = faulty;
        }
    }

    fn detector(&self, id: u8) -> Option<(&DetectorInfo, bool)> {
        let index = self.detectors.iter().position(|d| d.id == id)?;
        let detector = self.detectors.get(index)?;
        Some((detector, self.faulty.get(index).copied().unwrap_or(false)))
    }

    /// The level for this tuning: an exact frequency match wins over a
    /// wildcard (centre 0) one.
    fn level_for(&self, detector: u8, center_khz: u32) -> Option<Level> {
        let mut wildcard = None;
        for level in self.levels.iter().filter(|l| l.detector == detector) {
            if level.center_khz == center_khz {
                return Some(*level);
            }
            if level.center_khz == 0 {
                wildcard = Some(*level);
            }
        }
        wildcard
    }

    /// Uniform in [-peak, +peak] (xorshift32, Marsaglia 2003).
    fn noise(&mut self, peak: u16) -> i32 {
        if peak == 0 {
            return 0;
        }
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        let span = 2 * u32::from(peak) + 1;
        // x % span < 2 * 65535 + 1, so it fits an i32.
        i32::try_from(x % span).unwrap_or(0) - i32::from(peak)
    }
}

/// The floor of a detector measuring in `unit` (see the constants).
pub fn floor(unit: Unit) -> i32 {
    match unit {
        Unit::CentiDbm => FLOOR_CENTI_DBM,
        Unit::MicroAmp => FLOOR_MICRO_AMP,
        Unit::Permille => FLOOR_PERMILLE,
    }
}

/// A sensible synthetic board: detector 0 hears RF power anywhere from
/// 300 MHz to 6 GHz (centi-dBm), detector 1 is the supply current sensor
/// (µA, no tuning).
pub fn default_detectors() -> [DetectorInfo; 2] {
    [
        DetectorInfo {
            id: 0,
            kind: DetectorKind::Synthetic,
            min_khz: 300_000,
            max_khz: 6_000_000,
            unit: Unit::CentiDbm,
        },
        DetectorInfo {
            id: 1,
            kind: DetectorKind::Synthetic,
            min_khz: 0,
            max_khz: 0,
            unit: Unit::MicroAmp,
        },
    ]
}

impl FrontEnd for SyntheticFrontEnd {
    fn detectors(&self) -> &[DetectorInfo] {
        &self.detectors
    }

    fn prepare(&mut self, channel: u8, config: &ChannelConfig) -> Result<(), ShieldError> {
        let Some((detector, faulty)) = self.detector(config.detector) else {
            return Err(ShieldError::UnknownDetector {
                channel,
                detector: config.detector,
            });
        };
        if faulty {
            return Err(ShieldError::SensorFault {
                detector: config.detector,
            });
        }
        // Refuse what a real detector of this unit would refuse, so a host
        // configuration that only works on the simulator is caught here.
        let fits = matches!(
            (detector.unit, config.calibration),
            (_, Calibration::Default)
                | (
                    Unit::CentiDbm,
                    Calibration::RssiOffset { .. } | Calibration::LogSlope { .. }
                )
                | (Unit::MicroAmp, Calibration::Shunt { .. })
        );
        if fits {
            Ok(())
        } else {
            Err(ShieldError::BadCalibration { channel })
        }
    }

    fn measure(&mut self, _channel: u8, config: &ChannelConfig, _now_us: u64) -> i32 {
        let unit = match self.detector(config.detector) {
            Some((_, true)) | None => return NO_READING,
            Some((detector, false)) => detector.unit,
        };
        match self.level_for(config.detector, config.center_khz) {
            None => floor(unit),
            Some(level) if level.level == NO_READING => NO_READING,
            Some(level) => {
                let noise = self.noise(level.noise);
                // Never turn a reading into the NO_READING marker by noise.
                level.level.saturating_add(noise).max(NO_READING + 1)
            }
        }
    }

    fn self_test(&mut self) -> SelfTestReport {
        let mut results = Vec::new();
        for (index, detector) in self.detectors.iter().enumerate() {
            let faulty = self.faulty.get(index).copied().unwrap_or(false);
            let detail = if faulty {
                "synthetic: fault injected"
            } else {
                "synthetic"
            };
            let _ = results.push(DetectorCheck {
                detector: detector.id,
                ok: !faulty,
                detail: String::try_from(detail).unwrap_or_default(),
            });
        }
        SelfTestReport { results }
    }
}
