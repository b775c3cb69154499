//! Every message on the shield link, both directions. Encoded with postcard
//! (varints: small numbers cost one byte), framed by `crate::frame`.
//!
//! Units are integers so the firmware needs no floating point:
//! RF power in centi-dBm (0.01 dBm), current in microamps, channel occupancy
//! in permille, frequencies in kHz, times in microseconds.

// Messages are built and matched in place on a microcontroller with no heap,
// so a large variant (a sample block, a configuration) cannot be boxed; the
// size difference is the point of the enum, not an accident.
#![allow(clippy::large_enum_variant)]

use heapless::{String, Vec};
use serde::{Deserialize, Serialize};

/// Protocol version. A different `major` cannot talk; a newer `minor` only
/// adds things an older peer may ignore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolVersion {
    pub major: u8,
    pub minor: u8,
}

impl core::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Matches a reply to its request. The host counts up and wraps.
pub type RequestId = u16;

/// The most channels one configuration may have.
pub const MAX_CHANNELS: usize = 16;
/// The most detectors a board may declare.
pub const MAX_DETECTORS: usize = 16;
/// The most values in one sample block. Sized so that the worst case (every
/// value a 5-byte varint) still fits in one frame: 180 * 5 + header < MAX_MESSAGE.
pub const MAX_BLOCK_VALUES: usize = 180;
/// A sample value that could not be measured (sensor fault for that sample).
pub const NO_READING: i32 = i32::MIN;

/// Host -> shield.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: RequestId,
    pub command: Command,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// First message of every session: the host's protocol version. The
    /// shield answers `Reply::Hello` whatever the version, so the host can
    /// say what does not match.
    Hello {
        host: ProtocolVersion,
    },
    GetInfo,
    Configure(Config),
    Start,
    Stop,
    /// "The host is alive." Without one for `Config::watchdog_ms` the shield
    /// stops streaming on its own.
    Heartbeat,
    SelfTest,
}

/// What to measure and how fast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Samples per second on every channel.
    pub sample_rate_hz: u32,
    pub channels: Vec<ChannelConfig, MAX_CHANNELS>,
    pub layout: Layout,
    /// Stop streaming after this long without a heartbeat; 0 = the shield's
    /// default (`DEFAULT_WATCHDOG_MS`).
    pub watchdog_ms: u32,
}

/// Default heartbeat timeout.
pub const DEFAULT_WATCHDOG_MS: u32 = 3000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelConfig {
    /// Which detector of the board (`DetectorInfo::id`).
    pub detector: u8,
    /// Centre frequency; 0 for detectors that have no tuning (current).
    pub center_khz: u32,
    pub calibration: Calibration,
}

/// Per-channel calibration, in the detector's own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Calibration {
    /// The detector's datasheet defaults.
    Default,
    /// CC1101: the RSSI offset for this band (datasheet table 31: 74 dB at 433/868 MHz).
    RssiOffset { centi_db: i32 },
    /// Log-amp detector: V_OUT = slope * (P_IN - intercept).
    LogSlope {
        slope_uv_per_db: i32,
        intercept_cdbm: i32,
    },
    /// INA226: shunt resistance and the current the range must reach.
    Shunt { micro_ohm: u32, max_current_ma: u32 },
}

/// How values of several channels are ordered in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// ch0 s0, ch1 s0, ..., ch0 s1, ch1 s1, ...
    Interleaved,
    /// ch0 s0, ch0 s1, ..., ch1 s0, ch1 s1, ...
    ChannelMajor,
}

/// Shield -> host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FromShield {
    Reply { id: RequestId, reply: Reply },
    Samples(SampleBlock),
    Status(Status),
    Log(LogLine),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Hello(Hello),
    Info(Info),
    Ack,
    Nack(ShieldError),
    SelfTest(SelfTestReport),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: ProtocolVersion,
    pub firmware: String<24>,
    pub board: String<24>,
    pub serial: String<24>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    pub detectors: Vec<DetectorInfo, MAX_DETECTORS>,
    /// Highest `sample_rate_hz` times channel count the shield sustains.
    pub max_samples_per_s: u32,
    pub max_channels: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorInfo {
    pub id: u8,
    pub kind: DetectorKind,
    /// Tunable range; both 0 for detectors without tuning.
    pub min_khz: u32,
    pub max_khz: u32,
    pub unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DetectorKind {
    /// TI CC1101 sub-GHz RSSI.
    Cc1101,
    /// Nordic nRF24L01+ received power detector (2.4 GHz occupancy).
    Nrf24,
    /// Log-amp power detector (AD8318 class) on an ADC.
    LogAmp,
    /// TI INA226 supply current.
    Ina226,
    /// Levels fed in from outside (the QEMU board and the simulated shield).
    Synthetic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    CentiDbm,
    MicroAmp,
    Permille,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleBlock {
    /// Counts every block the shield produced, sent or dropped: a gap is loss.
    pub seq: u32,
    /// Shield clock (µs since boot) of the first sample in the block.
    pub t_us: u64,
    pub period_us: u32,
    pub channels: u8,
    pub layout: Layout,
    pub values: Vec<i32, MAX_BLOCK_VALUES>,
}

impl SampleBlock {
    /// Samples per channel in this block.
    pub fn samples(&self) -> usize {
        match self.channels {
            0 => 0,
            n => self.values.len() / usize::from(n),
        }
    }

    /// Value of `channel` at sample `i`, whatever the layout.
    pub fn value(&self, channel: usize, i: usize) -> Option<i32> {
        let n = usize::from(self.channels);
        let per = self.samples();
        if channel >= n || i >= per {
            return None;
        }
        let index = match self.layout {
            Layout::Interleaved => i * n + channel,
            Layout::ChannelMajor => channel * per + i,
        };
        self.values.get(index).copied()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub uptime_ms: u64,
    pub streaming: bool,
    /// Blocks the shield produced but could not send (buffer full), since boot.
    pub frames_dropped: u32,
    /// Most blocks ever waiting in the send buffer, and its capacity.
    pub buffer_high_water: u16,
    pub buffer_capacity: u16,
    /// Streaming was stopped because the host's heartbeats stopped.
    pub watchdog_stopped: bool,
    /// The next block's `seq`.
    pub next_seq: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub text: String<96>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfTestReport {
    pub results: Vec<DetectorCheck, MAX_DETECTORS>,
}

impl SelfTestReport {
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.ok)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorCheck {
    pub detector: u8,
    pub ok: bool,
    pub detail: String<48>,
}

/// Why the shield refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ShieldError {
    /// The host's major version differs; nothing but Hello is answered.
    VersionMismatch {
        shield: ProtocolVersion,
    },
    /// Start before Configure.
    NotConfigured,
    /// Configure while streaming: stop first.
    Streaming,
    NoChannels,
    TooManyChannels {
        max: u8,
    },
    UnknownDetector {
        channel: u8,
        detector: u8,
    },
    FrequencyOutOfRange {
        channel: u8,
    },
    /// Calibration of the wrong kind for the channel's detector.
    BadCalibration {
        channel: u8,
    },
    /// sample rate x channels above what the shield sustains.
    RateTooHigh {
        max_samples_per_s: u32,
    },
    /// A detector did not answer while being set up.
    SensorFault {
        detector: u8,
    },
}

impl core::fmt::Display for ShieldError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ShieldError::VersionMismatch { shield } => {
                write!(f, "protocol version mismatch (shield speaks {shield})")
            }
            ShieldError::NotConfigured => f.write_str("not configured: configure before start"),
            ShieldError::Streaming => f.write_str("streaming: stop before configuring"),
            ShieldError::NoChannels => f.write_str("no channels configured"),
            ShieldError::TooManyChannels { max } => write!(f, "too many channels (max {max})"),
            ShieldError::UnknownDetector { channel, detector } => {
                write!(f, "channel {channel}: no detector {detector} on this board")
            }
            ShieldError::FrequencyOutOfRange { channel } => {
                write!(
                    f,
                    "channel {channel}: frequency outside the detector's range"
                )
            }
            ShieldError::BadCalibration { channel } => {
                write!(
                    f,
                    "channel {channel}: calibration does not fit the detector"
                )
            }
            ShieldError::RateTooHigh { max_samples_per_s } => write!(
                f,
                "sample rate too high: at most {max_samples_per_s} samples/s over all channels"
            ),
            ShieldError::SensorFault { detector } => {
                write!(f, "detector {detector} does not answer")
            }
        }
    }
}

/// The plant -> a synthetic front end (QEMU board's UART1, the simulated
/// shield): what the emulated antenna hears. Not part of the host link; the
/// same framing is used so one decoder serves both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stimulus {
    /// From now on, detector `detector` tuned to `center_khz` reads `level`
    /// (its unit) with `noise` (same unit, peak) of pseudo-random noise.
    /// `center_khz` 0 matches any tuning (current sensors).
    Set {
        detector: u8,
        center_khz: u32,
        level: i32,
        noise: u16,
    },
    /// Back to the noise floor everywhere.
    Clear,
}
