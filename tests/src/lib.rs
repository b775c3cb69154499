//! Emulators of real bench hardware, for tests that go through the same
//! device nodes and programs the real hardware uses.
//!
//! Nothing here depends on benchctl: an emulator written from the hardware's
//! documentation, not from the driver's code, is what makes a test against it
//! worth something. If the two disagree, one of them misread the hardware.

pub mod lcus;

pub use lcus::LcusEmulator;
pub mod uhubctl;

pub use uhubctl::FakeUhubctl;
pub mod qemu;

pub use qemu::QemuShield;
