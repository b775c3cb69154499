//! TI INA226 current / bus-voltage monitor on I²C: the phone's supply current.
//!
//! Reference: "INA226 High-Side or Low-Side Measurement, Bi-Directional
//! Current and Power Monitor with I2C Compatible Interface", TI SBOS547B
//! ("datasheet" below; section and table numbers from that revision).
//!
//! All registers are 16 bits, sent MSB first (§7.6 "Register Maps": "All
//! 16-bit device registers are two 8-bit bytes via the I2C interface").
//! A write is `[pointer, MSB, LSB]`; a read sets the pointer and reads two
//! bytes in one repeated-start transfer.

use core::fmt;

use embedded_hal::i2c::{self, I2c};

/// Register pointers, bit fields and identification values, in one place
/// (datasheet Table 7-1 "Register Map" and §7.6.1-§7.6.10).
pub mod reg {
    /// Configuration register (§7.6.1).
    pub const CONFIG: u8 = 0x00;
    /// Shunt voltage, signed, 2.5 µV/LSB (§7.6.2).
    pub const SHUNT_VOLTAGE: u8 = 0x01;
    /// Bus voltage, 1.25 mV/LSB, bit 15 always 0 (§7.6.3).
    pub const BUS_VOLTAGE: u8 = 0x02;
    /// Power, 25 × Current_LSB per LSB (§7.6.4); not used by this driver.
    pub const POWER: u8 = 0x03;
    /// Current, signed, Current_LSB per LSB (§7.6.5).
    pub const CURRENT: u8 = 0x04;
    /// Calibration, bits 14:0 (§7.6.6).
    pub const CALIBRATION: u8 = 0x05;
    /// Manufacturer ID (§7.6.9).
    pub const MANUFACTURER_ID: u8 = 0xFE;
    /// Die ID (§7.6.10).
    pub const DIE_ID: u8 = 0xFF;

    /// Manufacturer ID value, "TI" in ASCII (Table 7-1).
    pub const MANUFACTURER_ID_TI: u16 = 0x5449;
    /// Die ID value: DID = 0x226, RID = 0 (Table 7-1).
    pub const DIE_ID_INA226: u16 = 0x2260;

    /// CONFIG bit 15, RST: full reset, self-clearing (§7.6.1).
    pub const CONFIG_RST: u16 = 1 << 15;
    /// CONFIG bits 14:12 are reserved and read back as 100b after power-on
    /// (POR value 0x4127); we write them the same way so a read-back matches.
    pub const CONFIG_RESERVED: u16 = 0x4000;
    /// AVG field shift, bits 11:9 (Table 7-3).
    pub const AVG_SHIFT: u16 = 9;
    /// VBUSCT field shift, bits 8:6 (Table 7-4).
    pub const VBUSCT_SHIFT: u16 = 6;
    /// VSHCT field shift, bits 5:3 (Table 7-5).
    pub const VSHCT_SHIFT: u16 = 3;
    /// Calibration register maximum (bits 14:0).
    pub const CAL_MAX: u16 = 0x7FFF;
    /// Bus voltage register value mask (bit 15 is always 0).
    pub const BUS_VOLTAGE_MASK: u16 = 0x7FFF;

    /// Shunt voltage LSB, 2.5 µV, in nV (§7.6.2).
    pub const SHUNT_LSB_NV: i32 = 2_500;
    /// Bus voltage LSB, 1.25 mV, in µV (§7.6.3).
    pub const BUS_LSB_UV: u32 = 1_250;
}

/// A 7-bit I²C address in the INA226's range 0x40..=0x4F (datasheet §7.5, "Serial Bus Address",
/// address-pins table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address(u8);

/// What an address pin (A0/A1) is tied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrPin {
    /// GND.
    Gnd,
    /// VS.
    Vs,
    /// SDA.
    Sda,
    /// SCL.
    Scl,
}

impl AddrPin {
    const fn bits(self) -> u8 {
        match self {
            AddrPin::Gnd => 0,
            AddrPin::Vs => 1,
            AddrPin::Sda => 2,
            AddrPin::Scl => 3,
        }
    }
}

impl Address {
    /// A1 = A0 = GND: 0x40.
    pub const DEFAULT: Address = Address(0x40);

    /// Check a raw 7-bit address.
    pub const fn new(addr: u8) -> Option<Address> {
        if addr >= 0x40 && addr <= 0x4F {
            Some(Address(addr))
        } else {
            None
        }
    }

    /// The address selected by the A1/A0 straps: 100 A1 A0 with GND = 00,
    /// VS = 01, SDA = 10, SCL = 11 (datasheet address-pins table).
    pub const fn from_pins(a1: AddrPin, a0: AddrPin) -> Address {
        Address(0x40 | (a1.bits() << 2) | a0.bits())
    }

    /// The 7-bit address.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for Address {
    fn default() -> Self {
        Address::DEFAULT
    }
}

/// Number of samples averaged, AVG bits 11:9 (datasheet Table 7-3).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Averaging {
    /// 1 sample (reset value).
    #[default]
    N1,
    /// 4 samples.
    N4,
    /// 16 samples.
    N16,
    /// 64 samples.
    N64,
    /// 128 samples.
    N128,
    /// 256 samples.
    N256,
    /// 512 samples.
    N512,
    /// 1024 samples.
    N1024,
}

impl Averaging {
    const fn bits(self) -> u16 {
        self as u16
    }
}

/// ADC conversion time, VBUSCT bits 8:6 / VSHCT bits 5:3 (datasheet Tables
/// 7-4 and 7-5; same encoding for both).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum ConversionTime {
    /// 140 µs.
    Us140,
    /// 204 µs.
    Us204,
    /// 332 µs.
    Us332,
    /// 588 µs.
    Us588,
    /// 1.1 ms (reset value).
    #[default]
    Us1100,
    /// 2.116 ms.
    Us2116,
    /// 4.156 ms.
    Us4156,
    /// 8.244 ms.
    Us8244,
}

impl ConversionTime {
    const fn bits(self) -> u16 {
        self as u16
    }

    /// The conversion time in microseconds.
    pub const fn micros(self) -> u32 {
        match self {
            ConversionTime::Us140 => 140,
            ConversionTime::Us204 => 204,
            ConversionTime::Us332 => 332,
            ConversionTime::Us588 => 588,
            ConversionTime::Us1100 => 1_100,
            ConversionTime::Us2116 => 2_116,
            ConversionTime::Us4156 => 4_156,
            ConversionTime::Us8244 => 8_244,
        }
    }
}

/// Operating mode, MODE bits 2:0 (datasheet Table 7-6).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Power-down (000; 100 is the same).
    PowerDown,
    /// Shunt voltage, triggered (001).
    ShuntTriggered,
    /// Bus voltage, triggered (010).
    BusTriggered,
    /// Shunt and bus, triggered (011).
    ShuntAndBusTriggered,
    /// Shunt voltage, continuous (101).
    ShuntContinuous,
    /// Bus voltage, continuous (110).
    BusContinuous,
    /// Shunt and bus, continuous (111, reset value).
    #[default]
    ShuntAndBusContinuous,
}

impl Mode {
    const fn bits(self) -> u16 {
        match self {
            Mode::PowerDown => 0b000,
            Mode::ShuntTriggered => 0b001,
            Mode::BusTriggered => 0b010,
            Mode::ShuntAndBusTriggered => 0b011,
            Mode::ShuntContinuous => 0b101,
            Mode::BusContinuous => 0b110,
            Mode::ShuntAndBusContinuous => 0b111,
        }
    }
}

/// Configuration register contents, built with chained setters. The default
/// equals the power-on value 0x4127 (Table 7-1).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    averaging: Averaging,
    bus_conversion_time: ConversionTime,
    shunt_conversion_time: ConversionTime,
    mode: Mode,
}

impl Config {
    /// The power-on configuration.
    pub const fn new() -> Self {
        Config {
            averaging: Averaging::N1,
            bus_conversion_time: ConversionTime::Us1100,
            shunt_conversion_time: ConversionTime::Us1100,
            mode: Mode::ShuntAndBusContinuous,
        }
    }

    /// Set the number of averages.
    pub const fn averaging(mut self, averaging: Averaging) -> Self {
        self.averaging = averaging;
        self
    }

    /// Set the bus-voltage conversion time.
    pub const fn bus_conversion_time(mut self, t: ConversionTime) -> Self {
        self.bus_conversion_time = t;
        self
    }

    /// Set the shunt-voltage conversion time.
    pub const fn shunt_conversion_time(mut self, t: ConversionTime) -> Self {
        self.shunt_conversion_time = t;
        self
    }

    /// Set the operating mode.
    pub const fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The register value.
    pub const fn bits(&self) -> u16 {
        reg::CONFIG_RESERVED
            | (self.averaging.bits() << reg::AVG_SHIFT)
            | (self.bus_conversion_time.bits() << reg::VBUSCT_SHIFT)
            | (self.shunt_conversion_time.bits() << reg::VSHCT_SHIFT)
            | self.mode.bits()
    }
}

/// Why a [`Calibration`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CalibrationError {
    /// Current_LSB or R_shunt is zero.
    Zero,
    /// CAL would be 0 or above 0x7FFF: pick a larger or smaller Current_LSB.
    OutOfRange {
        /// The CAL value the inputs give.
        cal: u64,
    },
}

impl fmt::Display for CalibrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalibrationError::Zero => write!(f, "INA226 Current_LSB and R_shunt must be non-zero"),
            CalibrationError::OutOfRange { cal } => {
                write!(f, "INA226 CAL = {cal} is outside 1..=32767")
            }
        }
    }
}

impl core::error::Error for CalibrationError {}

/// Current_LSB and shunt resistance, and the CAL value they give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calibration {
    current_lsb_ua: u16,
    shunt_uohm: u32,
    cal: u16,
}

impl Calibration {
    /// Datasheet equation 1 (§7.5):
    ///
    /// ```text
    /// CAL = 0.00512 / (Current_LSB × R_SHUNT)      [A, Ω]
    ///     = 5 120 000 000 / (Current_LSB[µA] × R_SHUNT[µΩ])
    /// ```
    ///
    /// truncated to an integer, as the register holds one. Example: 0.1 Ω,
    /// 1 mA/LSB → 0.00512 / (0.001 × 0.1) = 51.2 → 51 (0x33).
    ///
    /// Truncation makes the real LSB 0.00512 / (CAL × R) instead of the
    /// requested one (0.4 % high in that example); choose Current_LSB and
    /// R_shunt so the quotient is an integer when that matters (e.g. 10 mΩ and
    /// 250 µA give exactly 2048).
    ///
    /// `current_lsb_ua` is limited to `u16` so that `Current × LSB` always
    /// fits the `i32` microamp result (32768 × 65535 < 2^31).
    pub const fn new(current_lsb_ua: u16, shunt_uohm: u32) -> Result<Self, CalibrationError> {
        if current_lsb_ua == 0 || shunt_uohm == 0 {
            return Err(CalibrationError::Zero);
        }
        let cal = 5_120_000_000u64 / (current_lsb_ua as u64 * shunt_uohm as u64);
        if cal == 0 || cal > reg::CAL_MAX as u64 {
            return Err(CalibrationError::OutOfRange { cal });
        }
        Ok(Calibration {
            current_lsb_ua,
            shunt_uohm,
            cal: cal as u16,
        })
    }

    /// The calibration register value.
    pub const fn cal(&self) -> u16 {
        self.cal
    }

    /// Current_LSB in µA.
    pub const fn current_lsb_ua(&self) -> u16 {
        self.current_lsb_ua
    }

    /// Shunt resistance in µΩ.
    pub const fn shunt_uohm(&self) -> u32 {
        self.shunt_uohm
    }
}

/// Manufacturer and die ID registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    /// Register 0xFE; 0x5449 on an INA226.
    pub manufacturer: u16,
    /// Register 0xFF; 0x2260 on an INA226.
    pub die: u16,
}

/// Errors of the INA226 driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<E> {
    /// The I²C bus failed (including a NAK: nothing at that address).
    I2c(E),
    /// The ID registers are not the INA226's.
    WrongId(Ids),
    /// A current was requested before [`Ina226::set_calibration`]: the chip
    /// reports 0 A until CAL is programmed (§7.5), so the driver refuses.
    NotCalibrated,
}

impl<E> From<E> for Error<E> {
    fn from(e: E) -> Self {
        Error::I2c(e)
    }
}

impl<E: i2c::Error> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::I2c(e) => write!(f, "INA226 I2C error: {}", e.kind()),
            Error::WrongId(ids) => write!(
                f,
                "not an INA226: manufacturer ID {:#06x}, die ID {:#06x}",
                ids.manufacturer, ids.die
            ),
            Error::NotCalibrated => write!(f, "INA226 calibration register not programmed"),
        }
    }
}

impl<E: i2c::Error> core::error::Error for Error<E> {}

/// INA226 driver.
#[derive(Debug)]
pub struct Ina226<I2C> {
    i2c: I2C,
    address: Address,
    calibration: Option<Calibration>,
}

impl<I2C: I2c> Ina226<I2C> {
    /// Wrap the bus. Does not touch it.
    pub fn new(i2c: I2C, address: Address) -> Self {
        Self {
            i2c,
            address,
            calibration: None,
        }
    }

    /// Give the bus back.
    pub fn destroy(self) -> I2C {
        self.i2c
    }

    /// The device address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The calibration last written, if any.
    pub fn calibration(&self) -> Option<Calibration> {
        self.calibration
    }

    fn read_reg(&mut self, pointer: u8) -> Result<u16, Error<I2C::Error>> {
        let mut buf = [0u8; 2];
        self.i2c.write_read(self.address.0, &[pointer], &mut buf)?;
        Ok(u16::from_be_bytes(buf))
    }

    fn write_reg(&mut self, pointer: u8, value: u16) -> Result<(), Error<I2C::Error>> {
        let [msb, lsb] = value.to_be_bytes();
        self.i2c.write(self.address.0, &[pointer, msb, lsb])?;
        Ok(())
    }

    /// Read the manufacturer (0xFE) and die (0xFF) ID registers.
    pub fn read_ids(&mut self) -> Result<Ids, Error<I2C::Error>> {
        let manufacturer = self.read_reg(reg::MANUFACTURER_ID)?;
        let die = self.read_reg(reg::DIE_ID)?;
        Ok(Ids { manufacturer, die })
    }

    /// Self-test: the chip answers and its IDs are 0x5449 / 0x2260.
    pub fn self_test(&mut self) -> Result<Ids, Error<I2C::Error>> {
        let ids = self.read_ids()?;
        if ids.manufacturer == reg::MANUFACTURER_ID_TI && ids.die == reg::DIE_ID_INA226 {
            Ok(ids)
        } else {
            Err(Error::WrongId(ids))
        }
    }

    /// Reset all registers to their power-on values (CONFIG.RST, §7.6.1).
    /// The calibration register is cleared too, so the stored one is dropped.
    pub fn reset(&mut self) -> Result<(), Error<I2C::Error>> {
        self.calibration = None;
        self.write_reg(reg::CONFIG, reg::CONFIG_RST)
    }

    /// Write the configuration register.
    pub fn set_config(&mut self, config: Config) -> Result<(), Error<I2C::Error>> {
        self.write_reg(reg::CONFIG, config.bits())
    }

    /// Read the configuration register.
    pub fn read_config(&mut self) -> Result<u16, Error<I2C::Error>> {
        self.read_reg(reg::CONFIG)
    }

    /// Write the calibration register and remember Current_LSB.
    pub fn set_calibration(&mut self, cal: Calibration) -> Result<(), Error<I2C::Error>> {
        self.write_reg(reg::CALIBRATION, cal.cal())?;
        self.calibration = Some(cal);
        Ok(())
    }

    /// Read the calibration register.
    pub fn read_calibration(&mut self) -> Result<u16, Error<I2C::Error>> {
        self.read_reg(reg::CALIBRATION)
    }

    /// Bring-up: self-test, reset, configure, calibrate.
    pub fn init(&mut self, config: Config, cal: Calibration) -> Result<Ids, Error<I2C::Error>> {
        let ids = self.self_test()?;
        self.reset()?;
        self.set_config(config)?;
        self.set_calibration(cal)?;
        Ok(ids)
    }

    /// Shunt voltage in nanovolts: signed register × 2.5 µV (§7.6.2). Exact:
    /// full scale ±81.92 mV is ±81 920 000 nV, well within `i32`.
    pub fn shunt_voltage_nv(&mut self) -> Result<i32, Error<I2C::Error>> {
        let raw = self.read_reg(reg::SHUNT_VOLTAGE)? as i16;
        Ok(i32::from(raw) * reg::SHUNT_LSB_NV)
    }

    /// Bus voltage in microvolts: register × 1.25 mV (§7.6.3). Exact.
    pub fn bus_voltage_uv(&mut self) -> Result<u32, Error<I2C::Error>> {
        let raw = self.read_reg(reg::BUS_VOLTAGE)? & reg::BUS_VOLTAGE_MASK;
        Ok(u32::from(raw) * reg::BUS_LSB_UV)
    }

    /// Bus voltage in millivolts, rounded to nearest (max 40 959 mV).
    pub fn bus_voltage_mv(&mut self) -> Result<u16, Error<I2C::Error>> {
        let uv = self.bus_voltage_uv()?;
        // ≤ 0x7FFF × 1250 µV = 40 958 750 µV → 40 959 mV, fits u16.
        Ok(u16::try_from((uv + 500) / 1_000).unwrap_or(u16::MAX))
    }

    /// Current in microamps: signed current register × Current_LSB (§7.5,
    /// §7.6.5). Errors with [`Error::NotCalibrated`] before any bus access if
    /// no calibration has been written.
    pub fn current_ua(&mut self) -> Result<i32, Error<I2C::Error>> {
        let cal = self.calibration.ok_or(Error::NotCalibrated)?;
        let raw = self.read_reg(reg::CURRENT)? as i16;
        Ok(i32::from(raw) * i32::from(cal.current_lsb_ua))
    }
}

#[cfg(test)]
mod tests {
    use std::string::ToString;
    use std::vec;

    use super::*;
    use embedded_hal::i2c::ErrorKind;
    use embedded_hal_mock::eh1::i2c::{Mock as I2cMock, Transaction as I2cTx};

    const A: u8 = 0x40;

    fn rd(pointer: u8, value: u16) -> I2cTx {
        I2cTx::write_read(A, vec![pointer], value.to_be_bytes().to_vec())
    }

    fn wr(pointer: u8, value: u16) -> I2cTx {
        let [m, l] = value.to_be_bytes();
        I2cTx::write(A, vec![pointer, m, l])
    }

    fn cal_0r1_1ma() -> Calibration {
        Calibration::new(1_000, 100_000).unwrap()
    }

    // ---- pure values ---------------------------------------------------------

    #[test]
    fn cal_worked_examples() {
        // 0.1 Ω, 1 mA/LSB: 0.00512 / (0.001 × 0.1) = 51.2 → 51 = 0x33.
        assert_eq!(cal_0r1_1ma().cal(), 0x33);
        // 10 mΩ, 250 µA/LSB: 0.00512 / (0.00025 × 0.01) = 2048 = 0x0800.
        assert_eq!(Calibration::new(250, 10_000).unwrap().cal(), 0x0800);
        // 20 mΩ, 100 µA/LSB: 0.00512 / (0.0001 × 0.02) = 2560.
        assert_eq!(Calibration::new(100, 20_000).unwrap().cal(), 2_560);
    }

    #[test]
    fn cal_out_of_range_rejected() {
        assert_eq!(Calibration::new(0, 100_000), Err(CalibrationError::Zero));
        assert_eq!(Calibration::new(1_000, 0), Err(CalibrationError::Zero));
        // 0.1 Ω, 1 µA/LSB: 51 200 > 32 767.
        assert_eq!(
            Calibration::new(1, 100_000),
            Err(CalibrationError::OutOfRange { cal: 51_200 })
        );
        // 100 Ω, 65.535 mA/LSB: 0.00512 / 6.55 = 0.00078 → 0.
        assert_eq!(
            Calibration::new(65_535, 100_000_000),
            Err(CalibrationError::OutOfRange { cal: 0 })
        );
        assert!(CalibrationError::Zero.to_string().contains("non-zero"));
        assert!(
            CalibrationError::OutOfRange { cal: 0 }
                .to_string()
                .contains("1..=32767")
        );
    }

    #[test]
    fn config_bits() {
        // Default = power-on value 0x4127 (Table 7-1).
        assert_eq!(Config::default().bits(), 0x4127);
        assert_eq!(Config::new(), Config::default());
        // AVG = 16 (010), VBUSCT = 588 µs (011), VSHCT = 8.244 ms (111),
        // continuous shunt and bus (111):
        // 0x4000 | 010<<9 | 011<<6 | 111<<3 | 111 = 0x4000|0x400|0xC0|0x38|7
        let c = Config::new()
            .averaging(Averaging::N16)
            .bus_conversion_time(ConversionTime::Us588)
            .shunt_conversion_time(ConversionTime::Us8244)
            .mode(Mode::ShuntAndBusContinuous);
        assert_eq!(c.bits(), 0x44FF);
        let all = Config::new()
            .averaging(Averaging::N1024)
            .bus_conversion_time(ConversionTime::Us140)
            .shunt_conversion_time(ConversionTime::Us140)
            .mode(Mode::PowerDown);
        assert_eq!(all.bits(), 0x4E00);
        assert_eq!(Config::new().mode(Mode::ShuntTriggered).bits() & 7, 0b001);
        assert_eq!(Config::new().mode(Mode::BusTriggered).bits() & 7, 0b010);
        assert_eq!(
            Config::new().mode(Mode::ShuntAndBusTriggered).bits() & 7,
            0b011
        );
        assert_eq!(Config::new().mode(Mode::ShuntContinuous).bits() & 7, 0b101);
        assert_eq!(Config::new().mode(Mode::BusContinuous).bits() & 7, 0b110);
        assert_eq!(ConversionTime::Us8244.micros(), 8_244);
        assert_eq!(ConversionTime::Us140.micros(), 140);
    }

    #[test]
    fn addresses() {
        assert_eq!(Address::new(0x40), Some(Address::DEFAULT));
        assert_eq!(Address::new(0x4F).map(Address::get), Some(0x4F));
        assert_eq!(Address::new(0x3F), None);
        assert_eq!(Address::new(0x50), None);
        assert_eq!(Address::from_pins(AddrPin::Gnd, AddrPin::Gnd).get(), 0x40);
        assert_eq!(Address::from_pins(AddrPin::Gnd, AddrPin::Vs).get(), 0x41);
        assert_eq!(Address::from_pins(AddrPin::Vs, AddrPin::Sda).get(), 0x46);
        assert_eq!(Address::from_pins(AddrPin::Scl, AddrPin::Scl).get(), 0x4F);
        assert_eq!(Address::default(), Address::DEFAULT);
    }

    // ---- register accesses ---------------------------------------------------

    #[test]
    fn init_sequence() {
        let config = Config::new().averaging(Averaging::N16);
        let exp = [
            rd(0xFE, 0x5449),
            rd(0xFF, 0x2260),
            wr(0x00, 0x8000),
            wr(0x00, 0x4527),
            wr(0x05, 0x0033),
        ];
        let mut i2c = I2cMock::new(&exp);
        let mut ina = Ina226::new(i2c.clone(), Address::DEFAULT);
        let ids = ina.init(config, cal_0r1_1ma()).unwrap();
        assert_eq!(
            ids,
            Ids {
                manufacturer: 0x5449,
                die: 0x2260
            }
        );
        assert_eq!(ina.calibration(), Some(cal_0r1_1ma()));
        ina.destroy();
        i2c.done();
    }

    #[test]
    fn wrong_id_detected() {
        // An INA219 at the same address has no ID registers; say it reads 0.
        let exp = [rd(0xFE, 0x5449), rd(0xFF, 0x0000)];
        let mut i2c = I2cMock::new(&exp);
        let mut ina = Ina226::new(i2c.clone(), Address::DEFAULT);
        assert_eq!(
            ina.init(Config::new(), cal_0r1_1ma()),
            Err(Error::WrongId(Ids {
                manufacturer: 0x5449,
                die: 0x0000
            }))
        );
        ina.destroy();
        i2c.done();
    }

    #[test]
    fn uses_configured_address() {
        let addr = Address::from_pins(AddrPin::Vs, AddrPin::Vs); // 0x45
        let exp = [I2cTx::write_read(0x45, vec![0x00], vec![0x41, 0x27])];
        let mut i2c = I2cMock::new(&exp);
        let mut ina = Ina226::new(i2c.clone(), addr);
        assert_eq!(ina.address(), addr);
        assert_eq!(ina.read_config(), Ok(0x4127));
        ina.destroy();
        i2c.done();
    }

    #[test]
    fn read_back_calibration_register() {
        let exp = [wr(0x05, 0x0800), rd(0x05, 0x0800)];
        let mut i2c = I2cMock::new(&exp);
        let mut ina = Ina226::new(i2c.clone(), Address::DEFAULT);
        ina.set_calibration(Calibration::new(250, 10_000).unwrap())
            .unwrap();
        assert_eq!(ina.read_calibration(), Ok(0x0800));
        ina.destroy();
        i2c.done();
    }

    #[test]
    fn current_is_signed_times_lsb() {
        let exp = [
            wr(0x05, 0x0033),
            rd(0x04, 0x01F4), // 500 × 1 mA = 500 mA
            rd(0x04, 0xFF38), // −200 × 1 mA (charging back)
            rd(0x04, 0x7FFF), // full scale positive
            rd(0x04, 0x8000), // full scale negative
        ];
        let mut i2c = I2cMock::new(&exp);
        let mut ina = Ina226::new(i2c.clone(), Address::DEFAULT);
        ina.set_calibration(cal_0r1_1ma()).unwrap();
        assert_eq!(ina.current_ua(), Ok(500_000));
        assert_eq!(ina.current_ua(), Ok(-200_000));
        assert_eq!(ina.current_ua(), Ok(32_767_000));
        assert_eq!(ina.current_ua(), Ok(-32_768_000));
        ina.destroy();
        i2c.done();
    }

    #[test]
    fn current_needs_calibration_and_reset_forgets_it() {
        let exp = [wr(0x05, 0x0033), wr(0x00, 0x8000)];
        let mut i2c = I2cMock::new(&exp);
        let mut ina = Ina226::new(i2c.clone(), Address::DEFAULT);
        assert_eq!(ina.current_ua(), Err(Error::NotCalibrated));
        ina.set_calibration(cal_0r1_1ma()).unwrap();
        ina.reset().unwrap();
        assert_eq!(ina.calibration(), None);
        assert_eq!(ina.current_ua(), Err(Error::NotCalibrated));
        ina.destroy();
        i2c.done();
    }

    #[test]
    fn bus_voltage_conversion() {
        let exp = [
            rd(0x02, 0x0E10), // 3600 × 1.25 mV = 4.5 V
            rd(0x02, 0x0E10),
            rd(0x02, 0x0C4E), // 3150 × 1.25 = 3937.5 mV → 3938
            rd(0x02, 0x7FFF), // 40.95875 V
            rd(0x02, 0xFFFF), // bit 15 ignored
        ];
        let mut i2c = I2cMock::new(&exp);
        let mut ina = Ina226::new(i2c.clone(), Address::DEFAULT);
        assert_eq!(ina.bus_voltage_mv(), Ok(4_500));
        assert_eq!(ina.bus_voltage_uv(), Ok(4_500_000));
        assert_eq!(ina.bus_voltage_mv(), Ok(3_938));
        assert_eq!(ina.bus_voltage_mv(), Ok(40_959));
        assert_eq!(ina.bus_voltage_uv(), Ok(40_958_750));
        ina.destroy();
        i2c.done();
    }

    #[test]
    fn shunt_voltage_conversion() {
        let exp = [
            rd(0x01, 0x00E0), // 224 × 2.5 µV = 560 µV
            rd(0x01, 0xFFFF), // −1 × 2.5 µV
            rd(0x01, 0x7FFF), // +81.9175 mV
            rd(0x01, 0x8000), // −81.92 mV
        ];
        let mut i2c = I2cMock::new(&exp);
        let mut ina = Ina226::new(i2c.clone(), Address::DEFAULT);
        assert_eq!(ina.shunt_voltage_nv(), Ok(560_000));
        assert_eq!(ina.shunt_voltage_nv(), Ok(-2_500));
        assert_eq!(ina.shunt_voltage_nv(), Ok(81_917_500));
        assert_eq!(ina.shunt_voltage_nv(), Ok(-81_920_000));
        ina.destroy();
        i2c.done();
    }

    // ---- error paths ---------------------------------------------------------

    #[test]
    fn bus_errors_propagate() {
        let exp = [
            rd(0xFE, 0x5449).with_error(ErrorKind::Other),
            wr(0x00, 0x4127).with_error(ErrorKind::Other),
            wr(0x05, 0x0033).with_error(ErrorKind::Other),
            rd(0x02, 0).with_error(ErrorKind::Other),
            rd(0x01, 0).with_error(ErrorKind::Other),
        ];
        let mut i2c = I2cMock::new(&exp);
        let mut ina = Ina226::new(i2c.clone(), Address::DEFAULT);
        assert_eq!(ina.self_test(), Err(Error::I2c(ErrorKind::Other)));
        assert_eq!(
            ina.set_config(Config::new()),
            Err(Error::I2c(ErrorKind::Other))
        );
        // A failed calibration write is not remembered.
        assert_eq!(
            ina.set_calibration(cal_0r1_1ma()),
            Err(Error::I2c(ErrorKind::Other))
        );
        assert_eq!(ina.calibration(), None);
        assert_eq!(ina.bus_voltage_mv(), Err(Error::I2c(ErrorKind::Other)));
        assert_eq!(ina.shunt_voltage_nv(), Err(Error::I2c(ErrorKind::Other)));
        ina.destroy();
        i2c.done();
    }

    #[test]
    fn current_read_error_propagates() {
        let exp = [wr(0x05, 0x0033), rd(0x04, 0).with_error(ErrorKind::Other)];
        let mut i2c = I2cMock::new(&exp);
        let mut ina = Ina226::new(i2c.clone(), Address::DEFAULT);
        ina.set_calibration(cal_0r1_1ma()).unwrap();
        assert_eq!(ina.current_ua(), Err(Error::I2c(ErrorKind::Other)));
        ina.destroy();
        i2c.done();
    }

    #[test]
    fn errors_display() {
        let e: Error<ErrorKind> = Error::WrongId(Ids {
            manufacturer: 0x5449,
            die: 0x0000,
        });
        assert_eq!(
            e.to_string(),
            "not an INA226: manufacturer ID 0x5449, die ID 0x0000"
        );
        assert!(
            Error::I2c(ErrorKind::Other)
                .to_string()
                .starts_with("INA226 I2C error")
        );
        assert!(!Error::<ErrorKind>::NotCalibrated.to_string().is_empty());
    }
}
