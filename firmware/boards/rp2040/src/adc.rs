//! `shield_core::adc::AdcChannel` over the RP2040's ADC.
//!
//! The RP2040 ADC is 12 bits, referenced to ADC_AVDD, which the Pico feeds
//! from its 3.3 V rail through a filter (Pico datasheet 4.3, "Using the
//! ADC"): V = counts × 3300 / 4096. The AD8318's output (≈0.5–2.1 V) is
//! wired straight to GP26, no divider, so the pin voltage is the detector's.

use core::convert::Infallible;

use embedded_hal_0_2::adc::OneShot;
use rp2040_hal::Adc;
use rp2040_hal::adc::AdcPin;
use rp2040_hal::gpio::bank0::Gpio26;
use rp2040_hal::gpio::{FunctionSioInput, Pin, PullNone};
use shield_core::adc::{AdcChannel, counts_to_mv};

const BITS: u8 = 12;
/// ADC reference: the Pico's 3.3 V rail. Its tolerance (±1.5 % typ.) is
/// below the AD8318's ±1 dB accuracy at ~24.5 mV/dB.
const VREF_MV: u16 = 3300;

type Gp26 = Pin<Gpio26, FunctionSioInput, PullNone>;

pub struct PicoAdc {
    adc: Adc,
    pin: AdcPin<Gp26>,
}

impl PicoAdc {
    pub fn new(adc: Adc, pin: AdcPin<Gp26>) -> Self {
        PicoAdc { adc, pin }
    }
}

/// Why a reading failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdcError {
    /// The conversion reported an error (the RP2040 sets CS.ERR on some
    /// conversions, datasheet 4.9.2) or returned more than 12 bits.
    BadConversion,
}

impl AdcChannel for PicoAdc {
    type Error = AdcError;

    fn read_mv(&mut self) -> Result<u16, AdcError> {
        let counts: u16 = nb::block!(OneShot::<Adc, u16, _>::read(&mut self.adc, &mut self.pin))
            .map_err(|e: Infallible| match e {})?;
        counts_to_mv(counts, BITS, VREF_MV).ok_or(AdcError::BadConversion)
    }
}
