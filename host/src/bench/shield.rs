//! The bench's shield: the link to the board named in bench.toml (or a
//! simulated one started for the purpose), checked against what bench.toml
//! says is wired to it.

use serde::Serialize;
use shield_protocol as wire;

use super::sim::shield::SimShield;
use super::{Bench, BenchError};
use crate::config::{ShieldCalibration, ShieldChannel, ShieldConfig, ShieldQuantity};
use crate::hw::HwError;
use crate::hw::shield::{ShieldLink, ShieldLinkError};

/// An open shield. Keeps the simulated one alive as long as the link.
#[derive(Debug)]
pub struct BenchShield {
    pub link: ShieldLink,
    pub hello: wire::Hello,
    pub info: wire::Info,
    pub config: ShieldConfig,
    sim: Option<SimShield>,
}

#[derive(Debug, thiserror::Error)]
pub enum ShieldError {
    #[error("bench \"{0}\" has no [shield] in its bench file")]
    NotConfigured(String),
    #[error(transparent)]
    Hw(#[from] HwError),
    #[error(transparent)]
    Link(#[from] ShieldLinkError),
    #[error("shield channel \"{channel}\": {problem}")]
    Wiring { channel: String, problem: String },
}

impl From<ShieldError> for BenchError {
    fn from(e: ShieldError) -> Self {
        match e {
            ShieldError::NotConfigured(bench) => BenchError::NotWired {
                dut: bench,
                what: "shield",
            },
            ShieldError::Hw(hw) => BenchError::Hw(hw),
            other => BenchError::Hw(HwError::new("shield", other.to_string())),
        }
    }
}

impl Bench {
    /// Open the shield, greet it (version check first) and check the
    /// channels in bench.toml against the detectors it reports.
    pub fn open_shield(&mut self) -> Result<BenchShield, ShieldError> {
        let config = self
            .config
            .shield
            .clone()
            .ok_or_else(|| ShieldError::NotConfigured(self.config.name.clone()))?;
        let (link, sim) = super::open::open_shield_link(&config, &self.config, &self.lab)?;
        let hello = link.hello()?;
        let info = link.info()?;
        check_wiring(&config.channels, &info)?;
        Ok(BenchShield {
            link,
            hello,
            info,
            config,
            sim,
        })
    }
}

impl BenchShield {
    /// The configuration bench.toml asks for, in wire terms.
    pub fn wire_config(&self) -> wire::Config {
        wire_config(&self.config)
    }

    /// The simulated shield behind the link, when it is one.
    pub fn sim(&self) -> Option<&SimShield> {
        self.sim.as_ref()
    }
}

/// bench.toml's shield section as a `Configure` request.
pub fn wire_config(config: &ShieldConfig) -> wire::Config {
    wire::Config {
        sample_rate_hz: config.sample_rate_hz,
        channels: config
            .channels
            .iter()
            .map(|c| wire::ChannelConfig {
                detector: c.detector,
                center_khz: c.center_khz,
                calibration: wire_calibration(c.calibration),
            })
            // Validation caps channels at the protocol's maximum.
            .take(wire::MAX_CHANNELS)
            .collect(),
        layout: wire::Layout::Interleaved,
        watchdog_ms: u32::try_from(config.watchdog.as_millis()).unwrap_or(u32::MAX),
    }
}

fn wire_calibration(c: ShieldCalibration) -> wire::Calibration {
    match c {
        ShieldCalibration::Default => wire::Calibration::Default,
        ShieldCalibration::RssiOffset { db } => wire::Calibration::RssiOffset {
            centi_db: (db * 100.0).round() as i32,
        },
        ShieldCalibration::LogSlope {
            slope_mv_per_db,
            intercept_dbm,
        } => wire::Calibration::LogSlope {
            slope_uv_per_db: (slope_mv_per_db * 1000.0).round() as i32,
            intercept_cdbm: (intercept_dbm * 100.0).round() as i32,
        },
        ShieldCalibration::Shunt {
            mohm,
            max_current_a,
        } => wire::Calibration::Shunt {
            micro_ohm: (mohm * 1000.0).round() as u32,
            max_current_ma: (max_current_a * 1000.0).round() as u32,
        },
    }
}

/// The unit a quantity is measured in on the wire.
fn unit_of(q: ShieldQuantity) -> wire::Unit {
    match q {
        ShieldQuantity::Rf => wire::Unit::CentiDbm,
        ShieldQuantity::Current => wire::Unit::MicroAmp,
        ShieldQuantity::Occupancy => wire::Unit::Permille,
    }
}

/// Each channel's detector exists and measures what bench.toml expects: a
/// wrong detector number would otherwise record a phone's current as RF.
fn check_wiring(channels: &[ShieldChannel], info: &wire::Info) -> Result<(), ShieldError> {
    for ch in channels {
        let Some(d) = info.detectors.iter().find(|d| d.id == ch.detector) else {
            let ids: Vec<String> = info.detectors.iter().map(|d| d.id.to_string()).collect();
            return Err(ShieldError::Wiring {
                channel: ch.name.clone(),
                problem: format!(
                    "the shield has no detector {} (it has {})",
                    ch.detector,
                    ids.join(", ")
                ),
            });
        };
        if d.unit != unit_of(ch.quantity) {
            return Err(ShieldError::Wiring {
                channel: ch.name.clone(),
                problem: format!(
                    "detector {} measures {}, but bench.toml says quantity = \"{}\"",
                    d.id,
                    unit_name(d.unit),
                    format!("{:?}", ch.quantity).to_lowercase()
                ),
            });
        }
        let tunable = d.min_khz != 0 || d.max_khz != 0;
        if tunable && !(d.min_khz..=d.max_khz).contains(&ch.center_khz) {
            return Err(ShieldError::Wiring {
                channel: ch.name.clone(),
                problem: format!(
                    "{} is outside detector {}'s range {}-{}",
                    crate::config::format_khz(ch.center_khz),
                    d.id,
                    crate::config::format_khz(d.min_khz),
                    crate::config::format_khz(d.max_khz)
                ),
            });
        }
    }
    Ok(())
}

pub fn unit_name(u: wire::Unit) -> &'static str {
    match u {
        wire::Unit::CentiDbm => "RF power (dBm)",
        wire::Unit::MicroAmp => "current (A)",
        wire::Unit::Permille => "occupancy (%)",
    }
}

/// A sample in lab units: dBm, amperes, or a fraction; `None` for no reading.
pub fn lab_value(quantity: ShieldQuantity, raw: i32) -> Option<f64> {
    if raw == wire::NO_READING {
        return None;
    }
    Some(match quantity {
        ShieldQuantity::Rf => f64::from(raw) / 100.0,
        ShieldQuantity::Current => f64::from(raw) / 1e6,
        ShieldQuantity::Occupancy => f64::from(raw) / 1000.0,
    })
}

/// One detector for `shield info`.
#[derive(Debug, Clone, Serialize)]
pub struct DetectorRow {
    pub id: u8,
    pub kind: String,
    pub measures: &'static str,
    pub range: String,
}

pub fn detector_rows(info: &wire::Info) -> Vec<DetectorRow> {
    info.detectors
        .iter()
        .map(|d| DetectorRow {
            id: d.id,
            kind: format!("{:?}", d.kind).to_lowercase(),
            measures: unit_name(d.unit),
            range: if d.min_khz == 0 && d.max_khz == 0 {
                "-".into()
            } else {
                format!(
                    "{} - {}",
                    crate::config::format_khz(d.min_khz),
                    crate::config::format_khz(d.max_khz)
                )
            },
        })
        .collect()
}
