//! Nordic nRF24L01+ used as a 2.4 GHz channel-occupancy scanner through its
//! Received Power Detector (RPD).
//!
//! Reference: "nRF24L01+ Single Chip 2.4GHz Transceiver Product
//! Specification v1.0" ("PS" below; section and table numbers from it).
//!
//! The radio only listens: auto-acknowledge is switched off so it never
//! answers a packet that happens to match its address. For each sample it is
//! put in RX on one channel (CE high), left there for at least the RPD settle
//! time, the RPD bit is read, and CE goes low again.

use core::fmt;
use core::ops::RangeInclusive;

use embedded_hal::delay::DelayNs;
use embedded_hal::digital::{self, OutputPin};
use embedded_hal::spi::{self, SpiDevice};

/// Register map, SPI commands and bit values, in one place.
pub mod reg {
    // SPI commands (PS §8.3.1, Table 20 "Command set").
    /// R_REGISTER = 000A AAAA.
    pub const R_REGISTER: u8 = 0x00;
    /// W_REGISTER = 001A AAAA; "executable in power down or standby modes
    /// only", which is why CE is low whenever a register is written.
    pub const W_REGISTER: u8 = 0x20;
    /// Register address mask for R_/W_REGISTER (5 bits).
    pub const ADDR_MASK: u8 = 0x1F;
    /// NOP, clocked out while reading the register byte.
    pub const NOP: u8 = 0xFF;

    // Register map (PS §9.1, register map table).
    /// Configuration register.
    pub const CONFIG: u8 = 0x00;
    /// Enable auto acknowledgement.
    pub const EN_AA: u8 = 0x01;
    /// Address widths.
    pub const SETUP_AW: u8 = 0x03;
    /// RF channel: F0 = 2400 + RF_CH MHz (PS §6.3), bits 6:0.
    pub const RF_CH: u8 = 0x05;
    /// RF setup: data rate and output power.
    pub const RF_SETUP: u8 = 0x06;
    /// Received Power Detector, bit 0 (PS §6.4; register 09, formerly CD).
    pub const RPD: u8 = 0x09;

    /// CONFIG bit 3, EN_CRC (reset value 1).
    pub const CONFIG_EN_CRC: u8 = 1 << 3;
    /// CONFIG bit 1, PWR_UP.
    pub const CONFIG_PWR_UP: u8 = 1 << 1;
    /// CONFIG bit 0, PRIM_RX: RX when CE is high.
    pub const CONFIG_PRIM_RX: u8 = 1 << 0;
    /// RF_CH uses bits 6:0.
    pub const RF_CH_MASK: u8 = 0x7F;
    /// RPD bit 0: received power above −64 dBm.
    pub const RPD_BIT: u8 = 0x01;

    /// SETUP_AW = 01: 3-byte addresses (a non-default value for self-test).
    pub const SETUP_AW_3_BYTES: u8 = 0x01;
    /// SETUP_AW = 11: 5-byte addresses, the reset value.
    pub const SETUP_AW_5_BYTES: u8 = 0x03;
}

/// Highest channel: RF_CH 0..=125 gives 2400..=2525 MHz (PS §6.3).
pub const MAX_CHANNEL: u8 = 125;

/// Minimum time in RX before RPD is valid: Tstby2a + Tdelay_AGC =
/// 130 µs + 40 µs = 170 µs (PS §6.4). Shorter dwell times are raised to it.
pub const RPD_SETTLE_US: u32 = 170;

/// Power-down → standby start-up time with the crystal oscillator, Tpd2stby =
/// 1.5 ms (PS §6.1.7, Table 16 "Operational timing").
pub const POWER_UP_US: u32 = 1_500;

/// Register writes applied by [`Nrf24::init`], in order.
pub const INIT_CONFIG: [(u8, u8); 3] = [
    // EN_AA = 0: no auto-acknowledge, so the scanner never transmits an ACK
    // (PS §7.4 auto acknowledgement, §9.1 EN_AA).
    (reg::EN_AA, 0x00),
    // RF_SETUP = 0x06: RF_DR_LOW = 0, RF_DR_HIGH = 0 → 1 Mbps, whose signal
    // occupies under 1 MHz (PS §6.3), so RF_CH steps of 1 MHz do not overlap
    // as they would at 2 Mbps; RF_PWR = 11 (irrelevant in RX).
    (reg::RF_SETUP, 0x06),
    // CONFIG = EN_CRC | PWR_UP | PRIM_RX (0x0B): power up as a receiver;
    // with CE low the chip waits in standby-I until a sample starts (PS §6.1).
    (
        reg::CONFIG,
        reg::CONFIG_EN_CRC | reg::CONFIG_PWR_UP | reg::CONFIG_PRIM_RX,
    ),
];

/// Errors of the nRF24L01+ driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<SpiE, PinE> {
    /// The SPI bus failed.
    Spi(SpiE),
    /// Driving CE failed.
    Pin(PinE),
    /// Channel above [`MAX_CHANNEL`]; nothing was sent on the bus.
    InvalidChannel(u8),
    /// A sample count of zero was requested; nothing was sent on the bus.
    NoSamples,
    /// A register did not read back what was written: the SPI link is broken
    /// (MISO/MOSI/CSN miswired, or no chip).
    SelfTestFailed {
        /// Value written to SETUP_AW.
        wrote: u8,
        /// Value read back.
        read: u8,
    },
}

impl<SpiE: spi::Error, PinE: digital::Error> fmt::Display for Error<SpiE, PinE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spi(e) => write!(f, "nRF24L01+ SPI error: {}", e.kind()),
            Error::Pin(e) => write!(f, "nRF24L01+ CE pin error: {}", e.kind()),
            Error::InvalidChannel(ch) => {
                write!(f, "nRF24L01+ channel {ch} out of range 0..={MAX_CHANNEL}")
            }
            Error::NoSamples => write!(f, "nRF24L01+ sample count must be at least 1"),
            Error::SelfTestFailed { wrote, read } => write!(
                f,
                "nRF24L01+ self-test failed: wrote SETUP_AW {wrote:#04x}, read {read:#04x}"
            ),
        }
    }
}

impl<SpiE: spi::Error, PinE: digital::Error> core::error::Error for Error<SpiE, PinE> {}

/// Which channels had RPD set in one pass of [`Nrf24::scan`]: bit `n` is
/// channel `n` (2400 + n MHz).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Occupancy {
    bits: u128,
}

impl Occupancy {
    /// Whether `channel` was busy. Channels above [`MAX_CHANNEL`] are never.
    pub fn is_occupied(&self, channel: u8) -> bool {
        channel <= MAX_CHANNEL && self.bits & (1u128 << channel) != 0
    }

    /// Number of busy channels.
    pub fn count(&self) -> u32 {
        self.bits.count_ones()
    }

    /// Raw bitmap, bit `n` = channel `n`.
    pub fn bits(&self) -> u128 {
        self.bits
    }

    fn set(&mut self, channel: u8) {
        if channel <= MAX_CHANNEL {
            self.bits |= 1u128 << channel;
        }
    }
}

/// RPD hits over repeated samples of one channel ([`Nrf24::count_hits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hits {
    /// Samples with RPD set.
    pub hits: u16,
    /// Samples taken.
    pub samples: u16,
}

impl Hits {
    /// Occupancy as a fraction in thousandths, rounded to nearest.
    pub fn permille(&self) -> u16 {
        if self.samples == 0 {
            return 0;
        }
        let num = u32::from(self.hits) * 1000 + u32::from(self.samples) / 2;
        // hits ≤ samples, so the quotient is ≤ 1000.
        u16::try_from(num / u32::from(self.samples)).unwrap_or(1000)
    }
}

/// nRF24L01+ driver: SPI device, CE pin and a delay.
#[derive(Debug)]
pub struct Nrf24<SPI, CE, D> {
    spi: SPI,
    ce: CE,
    delay: D,
}

type Res<T, SPI, CE> =
    Result<T, Error<<SPI as spi::ErrorType>::Error, <CE as digital::ErrorType>::Error>>;

impl<SPI, CE, D> Nrf24<SPI, CE, D>
where
    SPI: SpiDevice,
    CE: OutputPin,
    D: DelayNs,
{
    /// Wrap the bus, CE pin and delay. Does not touch the hardware.
    pub fn new(spi: SPI, ce: CE, delay: D) -> Self {
        Self { spi, ce, delay }
    }

    /// Give the bus, pin and delay back.
    pub fn destroy(self) -> (SPI, CE, D) {
        (self.spi, self.ce, self.delay)
    }

    fn read_reg(&mut self, addr: u8) -> Res<u8, SPI, CE> {
        let mut buf = [reg::R_REGISTER | (addr & reg::ADDR_MASK), reg::NOP];
        self.spi.transfer_in_place(&mut buf).map_err(Error::Spi)?;
        // buf[0] is the STATUS byte clocked out with the command.
        Ok(buf[1])
    }

    fn write_reg(&mut self, addr: u8, value: u8) -> Res<(), SPI, CE> {
        self.spi
            .write(&[reg::W_REGISTER | (addr & reg::ADDR_MASK), value])
            .map_err(Error::Spi)
    }

    /// CE low, apply [`INIT_CONFIG`] (power up as a silent receiver), then
    /// wait [`POWER_UP_US`] for the crystal to start.
    pub fn init(&mut self) -> Res<(), SPI, CE> {
        self.ce.set_low().map_err(Error::Pin)?;
        for (addr, value) in INIT_CONFIG {
            self.write_reg(addr, value)?;
        }
        self.delay.delay_us(POWER_UP_US);
        Ok(())
    }

    /// Prove the SPI link: write a non-default SETUP_AW, read it back, restore
    /// the reset value and read that back too. Call with CE low (the driver
    /// keeps CE low between its calls).
    pub fn self_test(&mut self) -> Res<(), SPI, CE> {
        for wrote in [reg::SETUP_AW_3_BYTES, reg::SETUP_AW_5_BYTES] {
            self.write_reg(reg::SETUP_AW, wrote)?;
            let read = self.read_reg(reg::SETUP_AW)?;
            if read != wrote {
                return Err(Error::SelfTestFailed { wrote, read });
            }
        }
        Ok(())
    }

    fn check_channel(channel: u8) -> Res<(), SPI, CE> {
        if channel > MAX_CHANNEL {
            Err(Error::InvalidChannel(channel))
        } else {
            Ok(())
        }
    }

    fn set_channel(&mut self, channel: u8) -> Res<(), SPI, CE> {
        self.write_reg(reg::RF_CH, channel & reg::RF_CH_MASK)
    }

    /// One RPD sample on the current channel: CE high, dwell, read RPD, CE low.
    /// CE is driven low even if the SPI read fails, so the radio never stays
    /// in RX after an error.
    fn sample(&mut self, dwell_us: u32) -> Res<bool, SPI, CE> {
        self.ce.set_high().map_err(Error::Pin)?;
        self.delay.delay_us(dwell_us.max(RPD_SETTLE_US));
        let rpd = self.read_reg(reg::RPD);
        let ce_low = self.ce.set_low().map_err(Error::Pin);
        let rpd = rpd?;
        ce_low?;
        Ok(rpd & reg::RPD_BIT != 0)
    }

    /// Whether `channel` has received power above −64 dBm right now
    /// (one sample, [`RPD_SETTLE_US`] dwell).
    pub fn is_occupied(&mut self, channel: u8) -> Res<bool, SPI, CE> {
        Self::check_channel(channel)?;
        self.set_channel(channel)?;
        self.sample(RPD_SETTLE_US)
    }

    /// One pass over `channels`, one sample of `dwell_us` (at least
    /// [`RPD_SETTLE_US`]) each. The whole range is validated before the bus
    /// is touched; an empty range returns an empty [`Occupancy`].
    pub fn scan(&mut self, channels: RangeInclusive<u8>, dwell_us: u32) -> Res<Occupancy, SPI, CE> {
        Self::check_channel(*channels.end())?;
        let mut occupancy = Occupancy::default();
        for channel in channels {
            self.set_channel(channel)?;
            if self.sample(dwell_us)? {
                occupancy.set(channel);
            }
        }
        Ok(occupancy)
    }

    /// Sample `channel` `samples` times and count RPD hits, for the shield's
    /// occupancy fraction ([`Hits::permille`]).
    pub fn count_hits(&mut self, channel: u8, samples: u16, dwell_us: u32) -> Res<Hits, SPI, CE> {
        Self::check_channel(channel)?;
        if samples == 0 {
            return Err(Error::NoSamples);
        }
        self.set_channel(channel)?;
        let mut hits = 0u16;
        for _ in 0..samples {
            if self.sample(dwell_us)? {
                hits += 1;
            }
        }
        Ok(Hits { hits, samples })
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
    use embedded_hal_mock::eh1::MockError;
    use embedded_hal_mock::eh1::delay::{CheckedDelay, NoopDelay, Transaction as DelayTx};
    use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as PinTx};
    use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as SpiTx};

    /// Reading RPD (R_REGISTER | 0x09) with the given register value.
    fn read_rpd(value: u8) -> Vec<SpiTx<u8>> {
        xfer(&[0x09, 0xFF], &[0x0E, value])
    }

    /// Writing RF_CH (W_REGISTER | 0x05).
    fn write_ch(ch: u8) -> Vec<SpiTx<u8>> {
        write(&[0x25, ch])
    }

    fn pulse() -> [PinTx; 2] {
        [PinTx::set(State::High), PinTx::set(State::Low)]
    }

    #[test]
    fn init_writes_config_and_waits_tpd2stby() {
        let spi_exp = [
            write(&[0x21, 0x00]), // EN_AA
            write(&[0x26, 0x06]), // RF_SETUP
            write(&[0x20, 0x0B]), // CONFIG
        ]
        .concat();
        let mut spi = SpiMock::new(&spi_exp);
        let mut ce = PinMock::new(&[PinTx::set(State::Low)]);
        let mut delay = CheckedDelay::new(&[DelayTx::delay_us(1_500)]);
        let mut radio = Nrf24::new(spi.clone(), ce.clone(), delay.clone());
        radio.init().unwrap();
        spi.done();
        ce.done();
        delay.done();
    }

    #[test]
    fn self_test_writes_and_reads_back_setup_aw() {
        let spi_exp = [
            write(&[0x23, 0x01]),
            xfer(&[0x03, 0xFF], &[0x0E, 0x01]),
            write(&[0x23, 0x03]),
            xfer(&[0x03, 0xFF], &[0x0E, 0x03]),
        ]
        .concat();
        let mut spi = SpiMock::new(&spi_exp);
        let mut ce = PinMock::new(&[]);
        let mut radio = Nrf24::new(spi.clone(), ce.clone(), NoopDelay::new());
        radio.self_test().unwrap();
        spi.done();
        ce.done();
    }

    #[test]
    fn self_test_detects_broken_link() {
        // MISO stuck high reads 0xFF.
        let spi_exp = [write(&[0x23, 0x01]), xfer(&[0x03, 0xFF], &[0xFF, 0xFF])].concat();
        let mut spi = SpiMock::new(&spi_exp);
        let mut ce = PinMock::new(&[]);
        let mut radio = Nrf24::new(spi.clone(), ce.clone(), NoopDelay::new());
        assert_eq!(
            radio.self_test(),
            Err(Error::SelfTestFailed {
                wrote: 0x01,
                read: 0xFF
            })
        );
        spi.done();
        ce.done();
    }

    #[test]
    fn is_occupied_sequence() {
        let spi_exp = [write_ch(76), read_rpd(0x01)].concat();
        let mut spi = SpiMock::new(&spi_exp);
        let mut ce = PinMock::new(&pulse());
        let mut delay = CheckedDelay::new(&[DelayTx::delay_us(170)]);
        let mut radio = Nrf24::new(spi.clone(), ce.clone(), delay.clone());
        assert_eq!(radio.is_occupied(76), Ok(true));
        spi.done();
        ce.done();
        delay.done();
    }

    #[test]
    fn rpd_ignores_reserved_bits() {
        let spi_exp = [write_ch(0), read_rpd(0xFE)].concat();
        let mut spi = SpiMock::new(&spi_exp);
        let mut ce = PinMock::new(&pulse());
        let mut radio = Nrf24::new(spi.clone(), ce.clone(), NoopDelay::new());
        assert_eq!(radio.is_occupied(0), Ok(false));
        spi.done();
        ce.done();
    }

    #[test]
    fn scan_three_channels() {
        let spi_exp = [
            write_ch(10),
            read_rpd(0x00),
            write_ch(11),
            read_rpd(0x01),
            write_ch(12),
            read_rpd(0x01),
        ]
        .concat();
        let mut spi = SpiMock::new(&spi_exp);
        let mut ce = PinMock::new(&[pulse(), pulse(), pulse()].concat());
        let mut delay = CheckedDelay::new(&[
            DelayTx::delay_us(250),
            DelayTx::delay_us(250),
            DelayTx::delay_us(250),
        ]);
        let mut radio = Nrf24::new(spi.clone(), ce.clone(), delay.clone());
        let occ = radio.scan(10..=12, 250).unwrap();
        assert!(!occ.is_occupied(10));
        assert!(occ.is_occupied(11));
        assert!(occ.is_occupied(12));
        assert_eq!(occ.count(), 2);
        assert_eq!(occ.bits(), 0b11 << 11);
        spi.done();
        ce.done();
        delay.done();
    }

    #[test]
    fn scan_raises_short_dwell_to_170_us_and_covers_channel_125() {
        let spi_exp = [write_ch(125), read_rpd(0x01)].concat();
        let mut spi = SpiMock::new(&spi_exp);
        let mut ce = PinMock::new(&pulse());
        let mut delay = CheckedDelay::new(&[DelayTx::delay_us(170)]);
        let mut radio = Nrf24::new(spi.clone(), ce.clone(), delay.clone());
        let occ = radio.scan(125..=125, 10).unwrap();
        assert!(occ.is_occupied(125));
        assert!(!occ.is_occupied(126));
        spi.done();
        ce.done();
        delay.done();
    }

    #[test]
    fn invalid_channels_rejected_before_touching_bus() {
        let mut spi = SpiMock::new(&[]);
        let mut ce = PinMock::new(&[]);
        let mut radio = Nrf24::new(spi.clone(), ce.clone(), NoopDelay::new());
        assert_eq!(radio.is_occupied(126), Err(Error::InvalidChannel(126)));
        assert_eq!(radio.scan(120..=126, 200), Err(Error::InvalidChannel(126)));
        assert_eq!(
            radio.count_hits(200, 10, 200),
            Err(Error::InvalidChannel(200))
        );
        assert_eq!(radio.count_hits(5, 0, 200), Err(Error::NoSamples));
        // An empty range is not an error and touches nothing.
        #[allow(clippy::reversed_empty_ranges)]
        let empty = radio.scan(5..=4, 200);
        assert_eq!(empty, Ok(Occupancy::default()));
        spi.done();
        ce.done();
    }

    #[test]
    fn count_hits_over_n_samples() {
        let spi_exp = [
            write_ch(40),
            read_rpd(0x01),
            read_rpd(0x00),
            read_rpd(0x01),
            read_rpd(0x00),
        ]
        .concat();
        let mut spi = SpiMock::new(&spi_exp);
        let mut ce = PinMock::new(&[pulse(), pulse(), pulse(), pulse()].concat());
        let mut delay = CheckedDelay::new(&vec![DelayTx::delay_us(300); 4]);
        let mut radio = Nrf24::new(spi.clone(), ce.clone(), delay.clone());
        let hits = radio.count_hits(40, 4, 300).unwrap();
        assert_eq!(
            hits,
            Hits {
                hits: 2,
                samples: 4
            }
        );
        assert_eq!(hits.permille(), 500);
        spi.done();
        ce.done();
        delay.done();
    }

    #[test]
    fn permille_rounds() {
        assert_eq!(
            Hits {
                hits: 1,
                samples: 3
            }
            .permille(),
            333
        );
        assert_eq!(
            Hits {
                hits: 2,
                samples: 3
            }
            .permille(),
            667
        );
        assert_eq!(
            Hits {
                hits: 7,
                samples: 7
            }
            .permille(),
            1000
        );
        assert_eq!(
            Hits {
                hits: 0,
                samples: 0
            }
            .permille(),
            0
        );
        assert_eq!(
            Hits {
                hits: u16::MAX,
                samples: u16::MAX
            }
            .permille(),
            1000
        );
    }

    #[test]
    fn spi_error_still_drives_ce_low() {
        let mut ce = PinMock::new(&pulse());
        let mut radio = Nrf24::new(FailingSpi::default(), ce.clone(), NoopDelay::new());
        // set_channel fails first: CE untouched.
        assert_eq!(radio.is_occupied(3), Err(Error::Spi(ErrorKind::Other)));
        // The sample itself: CE high, read fails, CE low anyway.
        assert_eq!(radio.sample(170), Err(Error::Spi(ErrorKind::Other)));
        let (spi, _, _) = radio.destroy();
        assert_eq!(spi.attempts, 2);
        ce.done();
    }

    #[test]
    fn spi_errors_propagate_from_init_and_self_test() {
        let mut ce = PinMock::new(&[PinTx::set(State::Low)]);
        let mut radio = Nrf24::new(FailingSpi::default(), ce.clone(), NoopDelay::new());
        assert_eq!(radio.init(), Err(Error::Spi(ErrorKind::Other)));
        assert_eq!(radio.self_test(), Err(Error::Spi(ErrorKind::Other)));
        ce.done();
    }

    #[test]
    fn pin_error_propagates_and_skips_spi() {
        let err = MockError::Io(std::io::ErrorKind::Other);
        let spi_exp = write_ch(7);
        let mut spi = SpiMock::new(&spi_exp);
        let mut ce = PinMock::new(&[PinTx::set(State::High).with_error(err.clone())]);
        let mut radio = Nrf24::new(spi.clone(), ce.clone(), NoopDelay::new());
        assert_eq!(radio.is_occupied(7), Err(Error::Pin(err)));
        spi.done();
        ce.done();
    }

    #[test]
    fn errors_display() {
        type E = Error<ErrorKind, MockError>;
        assert_eq!(
            E::InvalidChannel(126).to_string(),
            "nRF24L01+ channel 126 out of range 0..=125"
        );
        assert!(
            E::SelfTestFailed {
                wrote: 1,
                read: 0xFF
            }
            .to_string()
            .contains("0xff")
        );
        assert!(E::Spi(ErrorKind::Other).to_string().contains("SPI"));
        assert!(
            E::Pin(MockError::Io(std::io::ErrorKind::Other))
                .to_string()
                .contains("CE")
        );
        assert!(!E::NoSamples.to_string().is_empty());
    }
}
