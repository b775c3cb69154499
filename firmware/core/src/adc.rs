//! A minimal analog-input abstraction.
//!
//! embedded-hal 1.0 dropped the 0.2 `adc::OneShot` trait and has no
//! replacement, so the detector drivers depend on this small trait instead.
//! The board crate implements it on top of its HAL's ADC.
//!
//! Why millivolts and not raw counts plus a reference: the only consumer is a
//! log-amp detector whose transfer function is specified in volts
//! (`V_OUT = SLOPE × (P_IN − INTERCEPT)`, AD8318 data sheet, "Theory of
//! Operation"). Only the board knows its ADC reference, resolution and any
//! resistor divider in front of the pin, so the board converts once and the
//! driver sees the voltage at the detector pin. One millivolt is about
//! 0.04 dB at the AD8318's ~24.5 mV/dB slope, far finer than the detector's
//! ±1 dB accuracy, so `u16` millivolts loses nothing that matters; a 12-bit
//! ADC at 3.3 V has an LSB of 0.8 mV, the same order.

/// One single-ended analog input, read in millivolts at the sensor's pin.
pub trait AdcChannel {
    /// The HAL's error type.
    type Error;

    /// Take one conversion and return the input voltage in millivolts
    /// (after the board has undone any divider or gain in front of the ADC).
    fn read_mv(&mut self) -> Result<u16, Self::Error>;
}

/// Forwarding impl so a driver can borrow a channel instead of owning it.
impl<T: AdcChannel + ?Sized> AdcChannel for &mut T {
    type Error = T::Error;

    fn read_mv(&mut self) -> Result<u16, Self::Error> {
        T::read_mv(self)
    }
}

/// Convert a raw SAR-ADC reading to millivolts, rounded to nearest, for
/// board crates implementing [`AdcChannel`].
///
/// Uses the usual ideal-SAR transfer function `V = counts × V_REF / 2^bits`
/// (one LSB = V_REF / 2^N). Returns `None` for a resolution of 0 or more
/// than 16 bits, or for a reading that does not fit in `bits`.
pub fn counts_to_mv(counts: u16, bits: u8, vref_mv: u16) -> Option<u16> {
    if bits == 0 || bits > 16 {
        return None;
    }
    let full_scale: u32 = 1u32 << bits;
    let counts = u32::from(counts);
    if counts >= full_scale {
        return None;
    }
    let scaled = counts * u32::from(vref_mv) + full_scale / 2;
    // counts < 2^bits, so scaled / 2^bits < vref_mv + 1 and always fits.
    u16::try_from(scaled >> bits).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_to_mv_12_bit_3v3() {
        // 12-bit, 3.3 V reference: LSB = 0.8057 mV.
        assert_eq!(counts_to_mv(0, 12, 3300), Some(0));
        assert_eq!(counts_to_mv(2048, 12, 3300), Some(1650));
        // 4095 × 3300 / 4096 = 3299.19 -> 3299
        assert_eq!(counts_to_mv(4095, 12, 3300), Some(3299));
        // 931 × 3300 / 4096 = 750.07 -> 750
        assert_eq!(counts_to_mv(931, 12, 3300), Some(750));
    }

    #[test]
    fn counts_to_mv_rejects_bad_inputs() {
        assert_eq!(counts_to_mv(4096, 12, 3300), None);
        assert_eq!(counts_to_mv(1, 0, 3300), None);
        assert_eq!(counts_to_mv(1, 17, 3300), None);
        // 16-bit full scale works without overflow.
        assert_eq!(counts_to_mv(u16::MAX, 16, u16::MAX), Some(65534));
    }

    struct Fixed(u16);
    impl AdcChannel for Fixed {
        type Error = ();
        fn read_mv(&mut self) -> Result<u16, ()> {
            Ok(self.0)
        }
    }

    #[test]
    fn mut_ref_forwards() {
        let mut adc = Fixed(1234);
        let mut borrowed = &mut adc;
        assert_eq!(AdcChannel::read_mv(&mut borrowed), Ok(1234));
    }
}
