//! The Pico's detectors behind `shield_core::FrontEnd`.
//!
//! | id | detector                          | unit       | tuning            |
//! |----|-----------------------------------|------------|-------------------|
//! | 0  | TI CC1101 RSSI (sub-GHz)          | centi-dBm  | 300–928 MHz bands |
//! | 1  | nRF24L01+ RPD (2.4 GHz occupancy) | permille   | 2400–2525 MHz     |
//! | 2  | AD8318 log-amp on ADC0 (wideband) | centi-dBm  | 1 MHz–8 GHz       |
//! | 3  | TI INA226 supply current          | microamps  | none              |
//!
//! Detectors that did not answer at boot stay declared (the host's bench
//! configuration names them), fail `prepare` with `SensorFault` and show in
//! the self-test, rather than stopping the shield.

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::OutputPin;
use embedded_hal::i2c::I2c;
use embedded_hal::spi::SpiDevice;
use heapless::String;
use shield_core::FrontEnd;
use shield_core::adc::AdcChannel;
use shield_core::drivers::cc1101::{self, Cc1101};
use shield_core::drivers::ina226::{self, Ina226};
use shield_core::drivers::logamp::{self, LogAmp};
use shield_core::drivers::nrf24::{self, Nrf24};
use shield_protocol::{
    Calibration, ChannelConfig, DetectorCheck, DetectorInfo, DetectorKind, MAX_CHANNELS,
    NO_READING, SelfTestReport, ShieldError, Unit,
};

pub const CC1101_ID: u8 = 0;
pub const NRF24_ID: u8 = 1;
pub const LOGAMP_ID: u8 = 2;
pub const INA226_ID: u8 = 3;

/// nRF24L01+ channel 0 is 2400 MHz, one channel per MHz up to 125
/// (nRF24L01+ product specification 1.0, §6.3 "RF channel frequency").
const NRF24_BASE_KHZ: u32 = 2_400_000;

/// What the board declares (GetInfo).
pub const DETECTORS: [DetectorInfo; 4] = [
    // CC1101 datasheet (SWRS061I) table 1: 300–348, 387–464, 779–928 MHz;
    // `prepare` refuses the gaps (cc1101::in_band).
    DetectorInfo {
        id: CC1101_ID,
        kind: DetectorKind::Cc1101,
        min_khz: 300_000,
        max_khz: 928_000,
        unit: Unit::CentiDbm,
    },
    DetectorInfo {
        id: NRF24_ID,
        kind: DetectorKind::Nrf24,
        min_khz: NRF24_BASE_KHZ,
        max_khz: NRF24_BASE_KHZ + nrf24::MAX_CHANNEL as u32 * 1000,
        unit: Unit::Permille,
    },
    // AD8318 data sheet (Rev. B): 1 MHz to 8 GHz.
    DetectorInfo {
        id: LOGAMP_ID,
        kind: DetectorKind::LogAmp,
        min_khz: 1_000,
        max_khz: 8_000_000,
        unit: Unit::CentiDbm,
    },
    DetectorInfo {
        id: INA226_ID,
        kind: DetectorKind::Ina226,
        min_khz: 0,
        max_khz: 0,
        unit: Unit::MicroAmp,
    },
];

/// CC1101: time from RX start to a settled RSSI. DN505 ("RSSI
/// interpretation and timing") gives the response time from the channel
/// filter bandwidth; at the ~200 kHz filter RSSI_CONFIG sets, a few hundred
/// µs. 400 µs leaves margin.
const CC1101_SETTLE_US: u32 = 400;
/// nRF24: RPD samples per reading (permille of hits), each `RPD_SETTLE_US`.
/// 8 × 170 µs ≈ 1.4 ms per reading.
const NRF24_SAMPLES: u16 = 8;
/// Log-amp: ADC conversions averaged per reading (2 µs each at 500 kS/s).
const LOGAMP_AVERAGE: u16 = 8;
/// INA226 default shunt (a 0.1 Ω R100 on the board) and range (a phone on a
/// 3.8 V supply draws well under 800 mA average; peaks above clip).
const DEFAULT_SHUNT_UOHM: u32 = 100_000;
const DEFAULT_MAX_MA: u32 = 800;

/// What `prepare` worked out for one channel.
#[derive(Debug, Clone, Copy)]
enum Prepared {
    Unused,
    Cc1101 { hz: u32, rssi_offset_cdb: i32 },
    Nrf24 { channel: u8 },
    LogAmp { cal: logamp::Calibration },
    Ina226,
}

/// The detectors, each `None` if it did not answer at boot.
pub struct PicoFrontEnd<CC, NRF, CE, D, ADC, I2C> {
    cc1101: Option<Cc1101<CC>>,
    nrf24: Option<Nrf24<NRF, CE, D>>,
    logamp: LogAmp<ADC>,
    ina226: Ina226<I2C>,
    ina226_ready: bool,
    delay: D,
    channels: [Prepared; MAX_CHANNELS],
}

impl<CC, NRF, CE, D, ADC, I2C> PicoFrontEnd<CC, NRF, CE, D, ADC, I2C>
where
    CC: SpiDevice,
    NRF: SpiDevice,
    CE: OutputPin,
    D: DelayNs + Clone,
    ADC: AdcChannel,
    I2C: I2c,
{
    /// Bring up the radios (reset, RSSI configuration) and keep what answers.
    pub fn new(cc1101_spi: CC, nrf24_spi: NRF, nrf24_ce: CE, adc: ADC, i2c: I2C, delay: D) -> Self {
        let mut d = delay.clone();
        let mut cc = Cc1101::new(cc1101_spi);
        let cc_ok =
            cc.reset(&mut d).is_ok() && cc.self_test().is_ok() && cc.configure_for_rssi().is_ok();
        let mut nrf = Nrf24::new(nrf24_spi, nrf24_ce, delay.clone());
        let nrf_ok = nrf.init().is_ok() && nrf.self_test().is_ok();
        PicoFrontEnd {
            cc1101: cc_ok.then_some(cc),
            nrf24: nrf_ok.then_some(nrf),
            logamp: LogAmp::new(adc, logamp::AD8318_1900_MHZ),
            ina226: Ina226::new(i2c, ina226::Address::DEFAULT),
            ina226_ready: false,
            delay,
            channels: [Prepared::Unused; MAX_CHANNELS],
        }
    }

    fn slot(&mut self, channel: u8) -> Option<&mut Prepared> {
        self.channels.get_mut(usize::from(channel))
    }

    fn plan(&mut self, channel: u8, config: &ChannelConfig) -> Result<Prepared, ShieldError> {
        let fault = ShieldError::SensorFault {
            detector: config.detector,
        };
        let bad_cal = ShieldError::BadCalibration { channel };
        let out_of_range = ShieldError::FrequencyOutOfRange { channel };
        match config.detector {
            CC1101_ID => {
                let hz = config.center_khz.checked_mul(1000).ok_or(out_of_range)?;
                if !cc1101::in_band(hz) {
                    return Err(out_of_range);
                }
                let rssi_offset_cdb = match config.calibration {
                    Calibration::Default => cc1101::RSSI_OFFSET_TYP_CDB,
                    Calibration::RssiOffset { centi_db } => centi_db,
                    _ => return Err(bad_cal),
                };
                if self.cc1101.is_none() {
                    return Err(fault);
                }
                Ok(Prepared::Cc1101 {
                    hz,
                    rssi_offset_cdb,
                })
            }
            NRF24_ID => {
                let offset = config
                    .center_khz
                    .checked_sub(NRF24_BASE_KHZ)
                    .ok_or(out_of_range)?;
                // Channels sit on whole MHz.
                if offset % 1000 != 0 {
                    return Err(out_of_range);
                }
                let channel_no = u8::try_from(offset / 1000)
                    .ok()
                    .filter(|c| *c <= nrf24::MAX_CHANNEL)
                    .ok_or(out_of_range)?;
                if !matches!(config.calibration, Calibration::Default) {
                    return Err(bad_cal);
                }
                if self.nrf24.is_none() {
                    return Err(fault);
                }
                Ok(Prepared::Nrf24 {
                    channel: channel_no,
                })
            }
            LOGAMP_ID => {
                let cal = match config.calibration {
                    // AD8318 typical curves at the nearest characterised frequency.
                    Calibration::Default => match config.center_khz {
                        0..=1_400_000 => logamp::AD8318_900_MHZ,
                        1_400_001..=2_050_000 => logamp::AD8318_1900_MHZ,
                        _ => logamp::AD8318_2200_MHZ,
                    },
                    Calibration::LogSlope {
                        slope_uv_per_db,
                        intercept_cdbm,
                    } => {
                        let typical = logamp::AD8318_1900_MHZ;
                        logamp::Calibration::new(
                            slope_uv_per_db,
                            intercept_cdbm,
                            typical.min_cdbm(),
                            typical.max_cdbm(),
                        )
                        .map_err(|_| bad_cal)?
                    }
                    _ => return Err(bad_cal),
                };
                Ok(Prepared::LogAmp { cal })
            }
            INA226_ID => {
                let (shunt_uohm, max_ma) = match config.calibration {
                    Calibration::Default => (DEFAULT_SHUNT_UOHM, DEFAULT_MAX_MA),
                    Calibration::Shunt {
                        micro_ohm,
                        max_current_ma,
                    } => (micro_ohm, max_current_ma),
                    _ => return Err(bad_cal),
                };
                // Current_LSB = max current / 2^15, rounded up to a whole µA
                // (INA226 datasheet SBOS547A, §7.5 "Programming", eq. 2).
                let lsb_ua = (u64::from(max_ma) * 1000).div_ceil(1 << 15).max(1);
                let lsb_ua = u16::try_from(lsb_ua).map_err(|_| bad_cal)?;
                let cal = ina226::Calibration::new(lsb_ua, shunt_uohm).map_err(|_| bad_cal)?;
                self.ina226
                    .init(ina226::Config::new(), cal)
                    .map_err(|_| fault)?;
                self.ina226_ready = true;
                Ok(Prepared::Ina226)
            }
            _ => Err(ShieldError::UnknownDetector {
                channel,
                detector: config.detector,
            }),
        }
    }
}

impl<CC, NRF, CE, D, ADC, I2C> FrontEnd for PicoFrontEnd<CC, NRF, CE, D, ADC, I2C>
where
    CC: SpiDevice,
    NRF: SpiDevice,
    CE: OutputPin,
    D: DelayNs + Clone,
    ADC: AdcChannel,
    I2C: I2c,
{
    fn detectors(&self) -> &[DetectorInfo] {
        &DETECTORS
    }

    fn prepare(&mut self, channel: u8, config: &ChannelConfig) -> Result<(), ShieldError> {
        let prepared = self.plan(channel, config)?;
        let slot = self.slot(channel).ok_or(ShieldError::TooManyChannels {
            max: MAX_CHANNELS as u8,
        })?;
        *slot = prepared;
        Ok(())
    }

    fn measure(&mut self, channel: u8, _config: &ChannelConfig, _now_us: u64) -> i32 {
        let Some(prepared) = self.channels.get(usize::from(channel)).copied() else {
            return NO_READING;
        };
        match prepared {
            Prepared::Unused => NO_READING,
            Prepared::Cc1101 {
                hz,
                rssi_offset_cdb,
            } => {
                let Some(cc) = self.cc1101.as_mut() else {
                    return NO_READING;
                };
                cc.set_rssi_offset_cdb(rssi_offset_cdb);
                cc.measure(hz, CC1101_SETTLE_US, &mut self.delay)
                    .unwrap_or(NO_READING)
            }
            Prepared::Nrf24 { channel } => match self.nrf24.as_mut() {
                Some(nrf) => nrf
                    .count_hits(channel, NRF24_SAMPLES, nrf24::RPD_SETTLE_US)
                    .map(|hits| i32::from(hits.permille()))
                    .unwrap_or(NO_READING),
                None => NO_READING,
            },
            Prepared::LogAmp { cal } => {
                self.logamp.set_calibration(cal);
                self.logamp
                    .read_averaged(LOGAMP_AVERAGE)
                    .map(|r| r.centi_dbm)
                    .unwrap_or(NO_READING)
            }
            Prepared::Ina226 => {
                if !self.ina226_ready {
                    return NO_READING;
                }
                self.ina226.current_ua().unwrap_or(NO_READING)
            }
        }
    }

    fn self_test(&mut self) -> SelfTestReport {
        let mut report = SelfTestReport {
            results: heapless::Vec::new(),
        };
        let cc = match self.cc1101.as_mut().map(|c| c.self_test()) {
            Some(Ok(_)) => (true, "CC1101: PARTNUM/VERSION ok"),
            Some(Err(_)) => (false, "CC1101: no answer on SPI0"),
            None => (false, "CC1101: not found at boot"),
        };
        let nrf = match self.nrf24.as_mut().map(|n| n.self_test()) {
            Some(Ok(())) => (true, "nRF24L01+: register read-back ok"),
            Some(Err(_)) => (false, "nRF24L01+: no answer on SPI0"),
            None => (false, "nRF24L01+: not found at boot"),
        };
        let amp = match self.logamp.read() {
            Ok(r) if r.in_range() => (true, "AD8318: output in range"),
            Ok(_) => (false, "AD8318: output out of range (unpowered?)"),
            Err(_) => (false, "AD8318: ADC read failed"),
        };
        let ina = match self.ina226.self_test() {
            Ok(_) => (true, "INA226: manufacturer/die id ok"),
            Err(_) => (false, "INA226: no answer on I2C0"),
        };
        for (detector, (ok, detail)) in [
            (CC1101_ID, cc),
            (NRF24_ID, nrf),
            (LOGAMP_ID, amp),
            (INA226_ID, ina),
        ] {
            let _ = report.results.push(DetectorCheck {
                detector,
                ok,
                detail: String::try_from(detail).unwrap_or_default(),
            });
        }
        report
    }
}
