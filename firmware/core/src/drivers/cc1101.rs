//! TI CC1101 sub-GHz transceiver used as a band power (RSSI) meter.
//!
//! References (section and table numbers from these revisions):
//! - "CC1101 Low-Power Sub-1 GHz RF Transceiver", TI SWRS061I ("datasheet").
//! - TI Design Note DN505 "RSSI Interpretation and Timing", SWRA114D.
//! - CC1101 Errata Notes, TI SWRZ020 (SPI read synchronization issue).
//!
//! The shield never transmits with this chip: it resets it, applies an
//! RX-only configuration ([`Cc1101::configure_for_rssi`]), tunes, enters RX
//! and reads the RSSI status register.
//!
//! Every SPI access is one `SpiDevice` transaction (CSn held low for header
//! and data), as the datasheet's §10 serial interface requires.

use core::fmt;

use embedded_hal::delay::DelayNs;
use embedded_hal::spi::{self, SpiDevice};

use super::CentiDbm;

/// Register map, header bits, command strobes and magic values, in one place.
pub mod reg {
    // SPI header byte (datasheet §10 "4-wire Serial Configuration and Data
    // Interface" and §10.2 "Register Access"): bit 7 = R/W̄, bit 6 = burst,
    // bits 5:0 = address.
    /// Header bit 7: read.
    pub const READ: u8 = 0x80;
    /// Header bit 6: burst access. On addresses 0x30-0x3D it also selects the
    /// status registers instead of the command strobes (§10.2, §29.3; SPI
    /// address space table, Table 45).
    pub const BURST: u8 = 0x40;

    // Configuration registers (datasheet Table 43; details in §29.1).
    /// Packet automation control (§29.1, PKTCTRL0).
    pub const PKTCTRL0: u8 = 0x08;
    /// Channel number (§29.1, CHANNR).
    pub const CHANNR: u8 = 0x0A;
    /// Frequency control word, high byte; FREQ1 and FREQ0 follow (§29.1, §21).
    pub const FREQ2: u8 = 0x0D;
    /// Frequency control word, middle byte.
    pub const FREQ1: u8 = 0x0E;
    /// Frequency control word, low byte.
    pub const FREQ0: u8 = 0x0F;
    /// Modem configuration: channel filter bandwidth (§29.1, MDMCFG4; §13).
    pub const MDMCFG4: u8 = 0x10;
    /// Modem configuration: modulation and sync mode (§29.1, MDMCFG2).
    pub const MDMCFG2: u8 = 0x12;
    /// Main radio control state machine configuration (§29.1, MCSM0).
    pub const MCSM0: u8 = 0x18;
    /// AGC control: gain limits and magnitude target (§29.1, AGCCTRL2).
    pub const AGCCTRL2: u8 = 0x1B;

    // Command strobes (datasheet Table 42, §10.4), sent as a single header
    // byte without the burst bit.
    /// Reset chip.
    pub const SRES: u8 = 0x30;
    /// Enable RX (calibrates first if MCSM0.FS_AUTOCAL = 1).
    pub const SRX: u8 = 0x34;
    /// Exit RX/TX, turn off the frequency synthesizer.
    pub const SIDLE: u8 = 0x36;
    /// No operation; returns the chip status byte.
    pub const SNOP: u8 = 0x3D;

    // Status registers (datasheet Table 44, §29.3): read-only, and only
    // reachable with READ | BURST set (otherwise the address is a strobe).
    /// Chip part number.
    pub const PARTNUM: u8 = 0x30;
    /// Chip version.
    pub const VERSION: u8 = 0x31;
    /// Received signal strength indication.
    pub const RSSI: u8 = 0x34;
    /// Main radio control state machine state.
    pub const MARCSTATE: u8 = 0x35;

    /// PARTNUM of a CC1101 (§29.3, PARTNUM reset value).
    pub const PARTNUM_CC1101: u8 = 0x00;
    /// VERSION of current CC1101 silicon (§29.3, VERSION reset value).
    pub const VERSION_CC1101: u8 = 0x14;
    /// VERSION reported by early CC1101 silicon, still found on modules.
    pub const VERSION_CC1101_EARLY: u8 = 0x04;

    /// Chip status byte bit 7, CHIP_RDYn: high until power and crystal are
    /// stable (§10.1, Table 23).
    pub const STATUS_CHIP_RDYN: u8 = 0x80;
    /// MARCSTATE bits 4:0 hold the state (§29.3, MARCSTATE).
    pub const MARCSTATE_MASK: u8 = 0x1F;
    /// MARCSTATE value for IDLE.
    pub const MARCSTATE_IDLE: u8 = 0x01;
    /// MARCSTATE value for RX.
    pub const MARCSTATE_RX: u8 = 0x0D;
}

/// Crystal frequency of the shield's CC1101 module (26 MHz, the reference
/// design's crystal; the band limits below assume it).
pub const XOSC_HZ: u32 = 26_000_000;

/// Frequency bands the synthesizer covers with a 26 MHz crystal, in Hz
/// (datasheet §4, RF general characteristics table; also the product
/// description: 300-348, 387-464 and 779-928 MHz).
pub const BANDS_HZ: [(u32, u32); 3] = [
    (300_000_000, 348_000_000),
    (387_000_000, 464_000_000),
    (779_000_000, 928_000_000),
];

/// Typical RSSI offset, 74 dB at 433 and 868 MHz (datasheet §17.3, Table 31),
/// in centi-dB. Calibrate per unit against a signal generator for accuracy.
pub const RSSI_OFFSET_TYP_CDB: i32 = 7_400;

/// How long to wait between polls of CHIP_RDYn or MARCSTATE.
pub const POLL_INTERVAL_US: u32 = 10;
/// Poll budget: 200 × 10 µs = 2 ms, comfortably above crystal start-up after
/// SRES and the IDLE→RX transition with FS calibration (both well under a
/// millisecond in the datasheet's timing section), plus SPI time.
pub const MAX_POLLS: u32 = 200;
/// At most this many RSSI reads are made to get two equal consecutive values
/// (errata SWRZ020 workaround, see [`Cc1101::read_rssi_raw`]).
pub const MAX_RSSI_READS: u32 = 4;

/// Register writes applied by [`Cc1101::configure_for_rssi`], in order.
/// Everything else keeps its reset value.
pub const RSSI_CONFIG: [(u8, u8); 6] = [
    // PKTCTRL0 = 0x32: PKT_FORMAT = 11 (asynchronous serial mode), CRC off,
    // LENGTH_CONFIG = 10 (infinite). The RX FIFO is bypassed, so a noise-fed
    // receiver can never overflow it and drop out of RX (§29.1 PKTCTRL0).
    (reg::PKTCTRL0, 0x32),
    // CHANNR = 0 so f_carrier = f_XOSC / 2^16 × FREQ exactly (§21 formula
    // with CHAN = 0).
    (reg::CHANNR, 0x00),
    // MDMCFG4 = 0x0C: CHANBW_E = 0, CHANBW_M = 0 gives the widest channel
    // filter, BW = f_XOSC / (8 × (4 + M) × 2^E) = 812.5 kHz (§13), so we
    // measure a band's power rather than one narrow channel; DRATE_E keeps
    // its reset value 0xC.
    (reg::MDMCFG4, 0x0C),
    // MDMCFG2 = 0x00: 2-FSK, no preamble/sync detection. With sync detection
    // off the RSSI register keeps updating instead of freezing at sync word
    // detection (DN505 §1; datasheet §17.3).
    (reg::MDMCFG2, 0x00),
    // MCSM0 = 0x18: FS_AUTOCAL = 01 recalibrates the synthesizer on every
    // IDLE→RX, needed because each measurement retunes FREQ in IDLE;
    // PO_TIMEOUT = 10 as in TI's reference settings (§29.1 MCSM0).
    (reg::MCSM0, 0x18),
    // AGCCTRL2 = 0x07: all DVGA and LNA gain steps allowed, MAGN_TARGET = 42 dB,
    // the target TI uses with wide filters (§17.4.1, Table 33 conditions).
    (reg::AGCCTRL2, 0x07),
];

/// Errors of the CC1101 driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<E> {
    /// The SPI bus failed.
    Spi(E),
    /// The requested frequency is outside the synthesizer's bands
    /// ([`BANDS_HZ`]). Nothing was sent on the bus.
    FrequencyOutOfRange {
        /// The rejected frequency in Hz.
        hz: u32,
    },
    /// CHIP_RDYn stayed high after SRES: no crystal, no power, or no chip.
    NotReady,
    /// The radio did not reach the expected MARCSTATE in time.
    StateTimeout {
        /// The MARCSTATE value waited for.
        expected: u8,
        /// The last MARCSTATE value read.
        last: u8,
    },
    /// PARTNUM/VERSION do not identify a CC1101 (wrong chip, or MISO stuck).
    WrongChip {
        /// PARTNUM read.
        partnum: u8,
        /// VERSION read.
        version: u8,
    },
}

impl<E> From<E> for Error<E> {
    fn from(e: E) -> Self {
        Error::Spi(e)
    }
}

impl<E: spi::Error> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spi(e) => write!(f, "CC1101 SPI error: {}", e.kind()),
            Error::FrequencyOutOfRange { hz } => write!(
                f,
                "CC1101 cannot tune to {hz} Hz (bands: 300-348, 387-464, 779-928 MHz)"
            ),
            Error::NotReady => write!(f, "CC1101 not ready after reset (CHIP_RDYn stayed high)"),
            Error::StateTimeout { expected, last } => write!(
                f,
                "CC1101 did not reach MARCSTATE {expected:#04x} (last {last:#04x})"
            ),
            Error::WrongChip { partnum, version } => write!(
                f,
                "not a CC1101: PARTNUM {partnum:#04x}, VERSION {version:#04x}"
            ),
        }
    }
}

impl<E: spi::Error> core::error::Error for Error<E> {}

/// Identification read from the PARTNUM and VERSION status registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartInfo {
    /// PARTNUM (0x00 for a CC1101).
    pub partnum: u8,
    /// VERSION (0x14 for current silicon, 0x04 for early silicon).
    pub version: u8,
}

impl PartInfo {
    /// Whether these values identify a CC1101.
    pub fn is_cc1101(&self) -> bool {
        self.partnum == reg::PARTNUM_CC1101
            && (self.version == reg::VERSION_CC1101 || self.version == reg::VERSION_CC1101_EARLY)
    }
}

/// Whether `hz` lies in one of the synthesizer bands ([`BANDS_HZ`]).
pub fn in_band(hz: u32) -> bool {
    BANDS_HZ.iter().any(|&(lo, hi)| (lo..=hi).contains(&hz))
}

/// The 22-bit FREQ word for `hz`: FREQ = f_carrier × 2^16 / f_XOSC, rounded to
/// the nearest step of f_XOSC / 2^16 ≈ 396.7 Hz (datasheet §21, "Frequency
/// Programming": f_carrier = f_XOSC / 2^16 × (FREQ + CHAN × ...), CHAN = 0).
///
/// Returns `None` outside [`BANDS_HZ`].
pub fn freq_word(hz: u32) -> Option<u32> {
    if !in_band(hz) {
        return None;
    }
    let xosc = u64::from(XOSC_HZ);
    let word = (u64::from(hz) * (1 << 16) + xosc / 2) / xosc;
    // 928 MHz gives 0x23B13B, well inside FREQ's 22 bits.
    u32::try_from(word).ok()
}

/// The carrier frequency in Hz (rounded down) that a FREQ word produces.
pub fn freq_word_to_hz(word: u32) -> u32 {
    let hz = (u64::from(word) * u64::from(XOSC_HZ)) >> 16;
    u32::try_from(hz).unwrap_or(u32::MAX)
}

/// Convert a raw RSSI register value to centi-dBm (datasheet §17.3, DN505 §3):
///
/// - raw ≥ 128: RSSI_dBm = (raw − 256) / 2 − RSSI_offset
/// - raw < 128: RSSI_dBm = raw / 2 − RSSI_offset
///
/// Both branches are "raw as a two's-complement byte, in half-dB steps", so
/// the result is exactly `(raw as i8) × 50 − offset` in centi-dB, with no
/// rounding. `offset_cdb` is RSSI_offset in centi-dB (typ. 7400, Table 31).
pub fn rssi_to_centi_dbm(raw: u8, offset_cdb: i32) -> CentiDbm {
    let half_db = i32::from(raw as i8);
    half_db * 50 - offset_cdb
}

/// CC1101 driver on an SPI device.
#[derive(Debug)]
pub struct Cc1101<SPI> {
    spi: SPI,
    rssi_offset_cdb: i32,
}

impl<SPI: SpiDevice> Cc1101<SPI> {
    /// Wrap the SPI device; the RSSI offset starts at the typical 74 dB.
    /// Does not touch the bus.
    pub fn new(spi: SPI) -> Self {
        Self::with_rssi_offset(spi, RSSI_OFFSET_TYP_CDB)
    }

    /// Wrap the SPI device with a calibrated RSSI offset in centi-dB.
    pub fn with_rssi_offset(spi: SPI, rssi_offset_cdb: i32) -> Self {
        Self {
            spi,
            rssi_offset_cdb,
        }
    }

    /// The RSSI offset in use, centi-dB.
    pub fn rssi_offset_cdb(&self) -> i32 {
        self.rssi_offset_cdb
    }

    /// Change the RSSI offset (e.g. after a per-band calibration), centi-dB.
    pub fn set_rssi_offset_cdb(&mut self, offset_cdb: i32) {
        self.rssi_offset_cdb = offset_cdb;
    }

    /// Give the SPI device back.
    pub fn destroy(self) -> SPI {
        self.spi
    }

    /// Send a command strobe; returns the chip status byte (§10.1).
    fn strobe(&mut self, cmd: u8) -> Result<u8, Error<SPI::Error>> {
        let mut buf = [cmd];
        self.spi.transfer_in_place(&mut buf)?;
        Ok(buf[0])
    }

    /// Read a status register (0x30-0x3D): header READ | BURST | addr.
    fn read_status(&mut self, addr: u8) -> Result<u8, Error<SPI::Error>> {
        let mut buf = [reg::READ | reg::BURST | addr, 0x00];
        self.spi.transfer_in_place(&mut buf)?;
        Ok(buf[1])
    }

    /// Write one configuration register: header = addr (R/W̄ = 0, no burst).
    fn write_reg(&mut self, addr: u8, value: u8) -> Result<(), Error<SPI::Error>> {
        self.spi.write(&[addr, value])?;
        Ok(())
    }

    /// Reset the chip with the SRES strobe (datasheet §19.1.2, manual reset)
    /// and wait until CHIP_RDYn, bit 7 of the status byte, is low (§10.1).
    ///
    /// `SpiDevice` hides the SO pin, so instead of watching SO go low we poll
    /// the status byte with SNOP every [`POLL_INTERVAL_US`], at most
    /// [`MAX_POLLS`] times. Relies on the automatic power-on reset (§19.1.1)
    /// having completed before the first call.
    pub fn reset<D: DelayNs>(&mut self, delay: &mut D) -> Result<(), Error<SPI::Error>> {
        self.strobe(reg::SRES)?;
        for _ in 0..MAX_POLLS {
            let status = self.strobe(reg::SNOP)?;
            if status & reg::STATUS_CHIP_RDYN == 0 {
                return Ok(());
            }
            delay.delay_us(POLL_INTERVAL_US);
        }
        Err(Error::NotReady)
    }

    /// Read PARTNUM (0x30) and VERSION (0x31) (§29.3).
    pub fn part_info(&mut self) -> Result<PartInfo, Error<SPI::Error>> {
        let partnum = self.read_status(reg::PARTNUM)?;
        let version = self.read_status(reg::VERSION)?;
        Ok(PartInfo { partnum, version })
    }

    /// Self-test: the SPI link works and the chip is a CC1101. A floating or
    /// stuck MISO reads 0x00/0x00 or 0xFF/0xFF and fails.
    pub fn self_test(&mut self) -> Result<PartInfo, Error<SPI::Error>> {
        let info = self.part_info()?;
        if info.is_cc1101() {
            Ok(info)
        } else {
            Err(Error::WrongChip {
                partnum: info.partnum,
                version: info.version,
            })
        }
    }

    /// Apply [`RSSI_CONFIG`]. Call after [`Cc1101::reset`], in IDLE.
    pub fn configure_for_rssi(&mut self) -> Result<(), Error<SPI::Error>> {
        for (addr, value) in RSSI_CONFIG {
            self.write_reg(addr, value)?;
        }
        Ok(())
    }

    /// Read MARCSTATE (§29.3), bits 4:0.
    pub fn marc_state(&mut self) -> Result<u8, Error<SPI::Error>> {
        Ok(self.read_status(reg::MARCSTATE)? & reg::MARCSTATE_MASK)
    }

    fn wait_state<D: DelayNs>(
        &mut self,
        expected: u8,
        delay: &mut D,
    ) -> Result<(), Error<SPI::Error>> {
        let mut last = 0;
        for _ in 0..MAX_POLLS {
            last = self.marc_state()?;
            if last == expected {
                return Ok(());
            }
            delay.delay_us(POLL_INTERVAL_US);
        }
        Err(Error::StateTimeout { expected, last })
    }

    /// Strobe SIDLE and wait for IDLE.
    pub fn idle<D: DelayNs>(&mut self, delay: &mut D) -> Result<(), Error<SPI::Error>> {
        self.strobe(reg::SIDLE)?;
        self.wait_state(reg::MARCSTATE_IDLE, delay)
    }

    /// Tune to `hz` and return the synthesized frequency in Hz.
    ///
    /// The frequency is validated before the bus is touched. The chip is put
    /// in IDLE first because the frequency configuration "should only be
    /// updated when the chip is in [IDLE]" (§10.1); FREQ2..FREQ0 are then
    /// written with one burst write (header FREQ2 | BURST).
    pub fn tune<D: DelayNs>(&mut self, hz: u32, delay: &mut D) -> Result<u32, Error<SPI::Error>> {
        let word = freq_word(hz).ok_or(Error::FrequencyOutOfRange { hz })?;
        self.idle(delay)?;
        let [_, f2, f1, f0] = word.to_be_bytes();
        self.spi.write(&[reg::FREQ2 | reg::BURST, f2, f1, f0])?;
        Ok(freq_word_to_hz(word))
    }

    /// Strobe SRX and wait until MARCSTATE reports RX (calibration, enabled by
    /// MCSM0.FS_AUTOCAL, runs first).
    pub fn start_rx<D: DelayNs>(&mut self, delay: &mut D) -> Result<(), Error<SPI::Error>> {
        self.strobe(reg::SRX)?;
        self.wait_state(reg::MARCSTATE_RX, delay)
    }

    /// Read the raw RSSI status register (0x34, header 0xF4).
    ///
    /// Errata SWRZ020 ("SPI read synchronization issue"): a status register
    /// read while the chip updates it can return a corrupt value; TI's
    /// workaround is to read until two consecutive reads agree. We read up to
    /// [`MAX_RSSI_READS`] times and otherwise return the last value (the RSSI
    /// legitimately moves between reads on a fluctuating signal).
    pub fn read_rssi_raw(&mut self) -> Result<u8, Error<SPI::Error>> {
        let mut prev = self.read_status(reg::RSSI)?;
        for _ in 1..MAX_RSSI_READS {
            let next = self.read_status(reg::RSSI)?;
            if next == prev {
                return Ok(next);
            }
            prev = next;
        }
        Ok(prev)
    }

    /// Read the RSSI in centi-dBm using the configured offset.
    pub fn read_rssi(&mut self) -> Result<CentiDbm, Error<SPI::Error>> {
        let raw = self.read_rssi_raw()?;
        Ok(rssi_to_centi_dbm(raw, self.rssi_offset_cdb))
    }

    /// One complete measurement: tune to `hz`, enter RX, wait `settle_us` for
    /// the AGC and RSSI filter to settle (DN505 §5 gives the response time
    /// for a given filter bandwidth and AGCCTRL0.FILTER_LENGTH), read RSSI.
    /// The radio stays in RX; call [`Cc1101::idle`] to stop it.
    pub fn measure<D: DelayNs>(
        &mut self,
        hz: u32,
        settle_us: u32,
        delay: &mut D,
    ) -> Result<CentiDbm, Error<SPI::Error>> {
        self.tune(hz, delay)?;
        self.start_rx(delay)?;
        delay.delay_us(settle_us);
        self.read_rssi()
    }
}

#[cfg(test)]
mod tests {
    use std::string::ToString;
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::drivers::test_support::{FailingSpi, write, xfer};
    use embedded_hal::spi::ErrorKind;
    use embedded_hal_mock::eh1::delay::{CheckedDelay, NoopDelay, Transaction as DelayTx};
    use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as SpiTx};

    fn seq(parts: &[Vec<SpiTx<u8>>]) -> Vec<SpiTx<u8>> {
        parts.concat()
    }

    // ---- conversions -------------------------------------------------------

    #[test]
    fn rssi_conversion_edge_cases_with_typical_offset() {
        let off = RSSI_OFFSET_TYP_CDB;
        // 0x80 = 128 ≥ 128: (128 − 256)/2 − 74 = −64 − 74 = −138 dBm
        assert_eq!(rssi_to_centi_dbm(0x80, off), -13_800);
        // 0x7F = 127 < 128: 127/2 − 74 = 63.5 − 74 = −10.5 dBm
        assert_eq!(rssi_to_centi_dbm(0x7F, off), -1_050);
        // 0xC8 = 200: (200 − 256)/2 − 74 = −28 − 74 = −102 dBm
        assert_eq!(rssi_to_centi_dbm(0xC8, off), -10_200);
        // 0x00: 0 − 74 = −74 dBm; 0xFF: −0.5 − 74 = −74.5 dBm
        assert_eq!(rssi_to_centi_dbm(0x00, off), -7_400);
        assert_eq!(rssi_to_centi_dbm(0xFF, off), -7_450);
    }

    #[test]
    fn rssi_conversion_uses_given_offset() {
        // DN505 example style: raw 0xC8 with a 72 dB offset → −100 dBm.
        assert_eq!(rssi_to_centi_dbm(0xC8, 7_200), -10_000);
        assert_eq!(rssi_to_centi_dbm(0x01, 7_450), -7_400);
    }

    #[test]
    fn freq_words_match_hand_computation() {
        // 433.92 MHz × 65536 / 26 MHz = 1093745.3 → 0x10B071
        assert_eq!(freq_word(433_920_000), Some(0x10_B0_71));
        // 868 MHz → 2187894.2 → 0x216276
        assert_eq!(freq_word(868_000_000), Some(0x21_62_76));
        // 915 MHz → 2306579.7 → 0x23313B
        assert_eq!(freq_word(915_000_000), Some(0x23_31_3B));
        assert_eq!(freq_word_to_hz(0x10_B0_71), 433_919_830);
        assert_eq!(freq_word_to_hz(0x23_31_3B), 914_999_969);
    }

    #[test]
    fn band_edges() {
        for hz in [
            300_000_000,
            348_000_000,
            387_000_000,
            464_000_000,
            779_000_000,
            928_000_000,
        ] {
            assert!(freq_word(hz).is_some(), "{hz} should be accepted");
        }
        for hz in [
            0,
            299_999_999,
            348_000_001,
            386_999_999,
            464_000_001,
            778_999_999,
            928_000_001,
            2_400_000_000,
        ] {
            assert_eq!(freq_word(hz), None, "{hz} should be rejected");
        }
    }

    // ---- register accesses -------------------------------------------------

    #[test]
    fn reset_polls_chip_rdyn() {
        let expectations = seq(&[
            xfer(&[0x30], &[0x8F]), // SRES; CHIP_RDYn may still be high
            xfer(&[0x3D], &[0x8F]), // SNOP: not ready yet
            xfer(&[0x3D], &[0x0F]), // SNOP: CHIP_RDYn low, IDLE
        ]);
        let mut spi = SpiMock::new(&expectations);
        let mut delay = CheckedDelay::new(&[DelayTx::delay_us(POLL_INTERVAL_US)]);
        let mut cc = Cc1101::new(spi.clone());
        cc.reset(&mut delay).unwrap();
        cc.destroy();
        spi.done();
        delay.done();
    }

    #[test]
    fn reset_times_out_if_chip_never_ready() {
        let mut parts = vec![xfer(&[0x30], &[0xFF])];
        for _ in 0..MAX_POLLS {
            parts.push(xfer(&[0x3D], &[0xFF]));
        }
        let mut spi = SpiMock::new(&seq(&parts));
        let mut cc = Cc1101::new(spi.clone());
        assert_eq!(cc.reset(&mut NoopDelay::new()), Err(Error::NotReady));
        spi.done();
    }

    #[test]
    fn part_info_reads_status_registers_with_burst_bit() {
        let expectations = seq(&[
            xfer(&[0xF0, 0x00], &[0x0F, 0x00]), // PARTNUM
            xfer(&[0xF1, 0x00], &[0x0F, 0x14]), // VERSION
        ]);
        let mut spi = SpiMock::new(&expectations);
        let mut cc = Cc1101::new(spi.clone());
        let info = cc.self_test().unwrap();
        assert_eq!(
            info,
            PartInfo {
                partnum: 0x00,
                version: 0x14
            }
        );
        spi.done();
    }

    #[test]
    fn self_test_accepts_early_silicon() {
        let expectations = seq(&[
            xfer(&[0xF0, 0x00], &[0x0F, 0x00]),
            xfer(&[0xF1, 0x00], &[0x0F, 0x04]),
        ]);
        let mut spi = SpiMock::new(&expectations);
        let mut cc = Cc1101::new(spi.clone());
        assert!(cc.self_test().is_ok());
        spi.done();
    }

    #[test]
    fn self_test_rejects_stuck_miso() {
        for byte in [0x00u8, 0xFF] {
            let expectations = seq(&[
                xfer(&[0xF0, 0x00], &[byte, byte]),
                xfer(&[0xF1, 0x00], &[byte, byte]),
            ]);
            let mut spi = SpiMock::new(&expectations);
            let mut cc = Cc1101::new(spi.clone());
            assert_eq!(
                cc.self_test(),
                Err(Error::WrongChip {
                    partnum: byte,
                    version: byte
                })
            );
            spi.done();
        }
    }

    #[test]
    fn configure_for_rssi_writes_each_register() {
        let expectations = seq(&[
            write(&[0x08, 0x32]), // PKTCTRL0
            write(&[0x0A, 0x00]), // CHANNR
            write(&[0x10, 0x0C]), // MDMCFG4
            write(&[0x12, 0x00]), // MDMCFG2
            write(&[0x18, 0x18]), // MCSM0
            write(&[0x1B, 0x07]), // AGCCTRL2
        ]);
        let mut spi = SpiMock::new(&expectations);
        let mut cc = Cc1101::new(spi.clone());
        cc.configure_for_rssi().unwrap();
        spi.done();
    }

    #[test]
    fn tune_goes_idle_then_burst_writes_freq() {
        let expectations = seq(&[
            xfer(&[0x36], &[0x1F]),             // SIDLE (status: RX)
            xfer(&[0xF5, 0x00], &[0x1F, 0x0D]), // MARCSTATE: still RX
            xfer(&[0xF5, 0x00], &[0x0F, 0x01]), // MARCSTATE: IDLE
            write(&[0x4D, 0x10, 0xB0, 0x71]),   // FREQ2..0 burst
        ]);
        let mut spi = SpiMock::new(&expectations);
        let mut delay = CheckedDelay::new(&[DelayTx::delay_us(POLL_INTERVAL_US)]);
        let mut cc = Cc1101::new(spi.clone());
        assert_eq!(cc.tune(433_920_000, &mut delay), Ok(433_919_830));
        spi.done();
        delay.done();
    }

    #[test]
    fn bad_frequency_rejected_before_touching_bus() {
        let mut spi = SpiMock::new(&[]);
        let mut cc = Cc1101::new(spi.clone());
        for hz in [350_000_000, 2_440_000_000, 0] {
            assert_eq!(
                cc.tune(hz, &mut NoopDelay::new()),
                Err(Error::FrequencyOutOfRange { hz })
            );
            assert_eq!(
                cc.measure(hz, 100, &mut NoopDelay::new()),
                Err(Error::FrequencyOutOfRange { hz })
            );
        }
        spi.done();
    }

    #[test]
    fn idle_times_out_with_last_state() {
        let mut parts = vec![xfer(&[0x36], &[0x6F])];
        for _ in 0..MAX_POLLS {
            parts.push(xfer(&[0xF5, 0x00], &[0x6F, 0x11])); // RXFIFO_OVERFLOW
        }
        let mut spi = SpiMock::new(&seq(&parts));
        let mut cc = Cc1101::new(spi.clone());
        assert_eq!(
            cc.idle(&mut NoopDelay::new()),
            Err(Error::StateTimeout {
                expected: 0x01,
                last: 0x11
            })
        );
        spi.done();
    }

    #[test]
    fn marc_state_masks_upper_bits() {
        let mut spi = SpiMock::new(&xfer(&[0xF5, 0x00], &[0x1F, 0xED]));
        let mut cc = Cc1101::new(spi.clone());
        assert_eq!(cc.marc_state(), Ok(0x0D));
        spi.done();
    }

    #[test]
    fn rssi_read_is_header_f4_and_stops_on_two_equal_reads() {
        let expectations = seq(&[
            xfer(&[0xF4, 0x00], &[0x1F, 0xC8]),
            xfer(&[0xF4, 0x00], &[0x1F, 0xC8]),
        ]);
        let mut spi = SpiMock::new(&expectations);
        let mut cc = Cc1101::new(spi.clone());
        assert_eq!(cc.read_rssi(), Ok(-10_200));
        spi.done();
    }

    #[test]
    fn rssi_read_retries_until_consistent() {
        let expectations = seq(&[
            xfer(&[0xF4, 0x00], &[0x1F, 0x80]),
            xfer(&[0xF4, 0x00], &[0x1F, 0x7F]),
            xfer(&[0xF4, 0x00], &[0x1F, 0x7F]),
        ]);
        let mut spi = SpiMock::new(&expectations);
        let mut cc = Cc1101::new(spi.clone());
        assert_eq!(cc.read_rssi_raw(), Ok(0x7F));
        spi.done();
    }

    #[test]
    fn rssi_read_gives_up_after_max_reads_with_last_value() {
        let expectations = seq(&[
            xfer(&[0xF4, 0x00], &[0x1F, 0x10]),
            xfer(&[0xF4, 0x00], &[0x1F, 0x11]),
            xfer(&[0xF4, 0x00], &[0x1F, 0x12]),
            xfer(&[0xF4, 0x00], &[0x1F, 0x13]),
        ]);
        let mut spi = SpiMock::new(&expectations);
        let mut cc = Cc1101::with_rssi_offset(spi.clone(), 7_000);
        // 0x13 = 19 → 9.5 − 70 = −60.5 dBm
        assert_eq!(cc.read_rssi(), Ok(-6_050));
        spi.done();
    }

    #[test]
    fn measure_full_sequence() {
        let expectations = seq(&[
            xfer(&[0x36], &[0x0F]),             // SIDLE
            xfer(&[0xF5, 0x00], &[0x0F, 0x01]), // IDLE
            write(&[0x4D, 0x21, 0x62, 0x76]),   // 868 MHz
            xfer(&[0x34], &[0x0F]),             // SRX
            xfer(&[0xF5, 0x00], &[0x4F, 0x08]), // STARTCAL
            xfer(&[0xF5, 0x00], &[0x1F, 0x0D]), // RX
            xfer(&[0xF4, 0x00], &[0x1F, 0x80]), // RSSI
            xfer(&[0xF4, 0x00], &[0x1F, 0x80]),
        ]);
        let mut spi = SpiMock::new(&expectations);
        let mut delay = CheckedDelay::new(&[
            DelayTx::delay_us(POLL_INTERVAL_US), // between MARCSTATE polls
            DelayTx::delay_us(500),              // settle
        ]);
        let mut cc = Cc1101::new(spi.clone());
        assert_eq!(cc.measure(868_000_000, 500, &mut delay), Ok(-13_800));
        spi.done();
        delay.done();
    }

    #[test]
    fn offset_can_be_changed() {
        let mut spi = SpiMock::new(&[]);
        let mut cc = Cc1101::new(spi.clone());
        assert_eq!(cc.rssi_offset_cdb(), 7_400);
        cc.set_rssi_offset_cdb(7_150);
        assert_eq!(cc.rssi_offset_cdb(), 7_150);
        cc.destroy();
        spi.done();
    }

    // ---- error paths -------------------------------------------------------

    #[test]
    fn spi_errors_propagate() {
        let mut cc = Cc1101::new(FailingSpi::default());
        let mut d = NoopDelay::new();
        assert_eq!(cc.reset(&mut d), Err(Error::Spi(ErrorKind::Other)));
        assert_eq!(cc.part_info(), Err(Error::Spi(ErrorKind::Other)));
        assert_eq!(cc.configure_for_rssi(), Err(Error::Spi(ErrorKind::Other)));
        assert_eq!(
            cc.tune(433_920_000, &mut d),
            Err(Error::Spi(ErrorKind::Other))
        );
        assert_eq!(cc.start_rx(&mut d), Err(Error::Spi(ErrorKind::Other)));
        assert_eq!(cc.read_rssi(), Err(Error::Spi(ErrorKind::Other)));
        // Each call stopped at its first failing transaction.
        assert_eq!(cc.destroy().attempts, 6);
    }

    #[test]
    fn errors_display() {
        let e: Error<ErrorKind> = Error::FrequencyOutOfRange { hz: 350_000_000 };
        assert!(e.to_string().contains("350000000 Hz"));
        let e: Error<ErrorKind> = Error::WrongChip {
            partnum: 0xFF,
            version: 0xFF,
        };
        assert_eq!(e.to_string(), "not a CC1101: PARTNUM 0xff, VERSION 0xff");
        let e: Error<ErrorKind> = Error::Spi(ErrorKind::Other);
        assert!(e.to_string().starts_with("CC1101 SPI error"));
        let e: Error<ErrorKind> = Error::StateTimeout {
            expected: 0x0D,
            last: 0x11,
        };
        assert!(e.to_string().contains("0x0d"));
        assert!(!Error::<ErrorKind>::NotReady.to_string().is_empty());
    }
}
