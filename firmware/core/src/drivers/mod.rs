//! Detector drivers of the radio shield.
//!
//! Every driver is generic over embedded-hal 1.0 traits (or [`crate::adc`]),
//! owns its bus through `new(..)` and hands it back with `destroy(self)` so
//! tests can call `.done()` on the embedded-hal-mock bus.
//!
//! Units are the same across drivers so the shield never converts twice:
//!
//! | quantity          | type  | unit                         |
//! |-------------------|-------|------------------------------|
//! | RF power          | `i32` | centi-dBm (0.01 dBm)         |
//! | current           | `i32` | microamps                    |
//! | voltage           | `u16` | millivolts (or `*_uv`/`*_nv`)|
//! | frequency         | `u32` | hertz                        |
//!
//! No floats, no panics, no `unsafe`: the firmware targets Cortex-M0+/M3
//! without an FPU and must never abort mid-measurement.

pub mod cc1101;
pub mod ina226;
pub mod logamp;
pub mod nrf24;

/// RF power in hundredths of a dBm.
pub type CentiDbm = i32;

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers the mocks lack: embedded-hal-mock 0.11's SPI mock cannot inject
    //! errors, so bus-error paths use this device, which fails every transfer;
    //! and the SPI transaction shapes every SPI driver's tests spell out.

    use std::vec;
    use std::vec::Vec;

    use embedded_hal::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
    use embedded_hal_mock::eh1::spi::Transaction as SpiTx;

    /// One SpiDevice transaction containing one transfer_in_place.
    pub fn xfer(out: &[u8], inp: &[u8]) -> Vec<SpiTx<u8>> {
        vec![
            SpiTx::transaction_start(),
            SpiTx::transfer_in_place(out.to_vec(), inp.to_vec()),
            SpiTx::transaction_end(),
        ]
    }

    /// One SpiDevice transaction containing one write.
    pub fn write(out: &[u8]) -> Vec<SpiTx<u8>> {
        vec![
            SpiTx::transaction_start(),
            SpiTx::write_vec(out.to_vec()),
            SpiTx::transaction_end(),
        ]
    }

    /// An SPI device whose every transaction fails with `ErrorKind::Other`.
    #[derive(Debug, Default)]
    pub struct FailingSpi {
        /// How many transactions were attempted.
        pub attempts: usize,
    }

    impl ErrorType for FailingSpi {
        type Error = ErrorKind;
    }

    impl SpiDevice for FailingSpi {
        fn transaction(&mut self, _ops: &mut [Operation<'_, u8>]) -> Result<(), ErrorKind> {
            self.attempts += 1;
            Err(ErrorKind::Other)
        }
    }
}
