//! shield-core: the radio shield's firmware logic, independent of any board.
//!
//! Everything here is `no_std` and generic over embedded-hal 1.0 traits, so
//! the same code runs on the RP2040, on the QEMU Cortex-M3 and on the host
//! (the simulated shield), and is unit-tested on the host against
//! embedded-hal-mock transactions.

#![cfg_attr(not(any(test, feature = "std")), no_std)]

pub mod adc;
pub mod drivers;
pub mod engine;
pub mod synthetic;

pub use engine::{FrontEnd, Identity, Limits, Shield, TX_BLOCKS};
pub use synthetic::SyntheticFrontEnd;
