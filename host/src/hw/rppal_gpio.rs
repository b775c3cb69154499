//! Relay HATs on Raspberry Pi GPIO via rppal (placeholder, being written).
use super::{Check, HwError, Reading, RelayBoard};

#[derive(Debug)]
pub struct GpioRelayBoard;

impl GpioRelayBoard {
    pub fn open(name: &str, pins: &[u8], active_low: bool) -> Result<Self, HwError> {
        let _ = (pins, active_low);
        Err(HwError::new(format!("relay board \"{name}\""), "not implemented yet"))
    }
}

impl RelayBoard for GpioRelayBoard {
    fn set(&mut self, _channel: u8, _on: bool) -> Result<(), HwError> {
        unimplemented!()
    }
    fn get(&mut self, _channel: u8) -> Result<Reading<bool>, HwError> {
        unimplemented!()
    }
    fn probe(&mut self) -> Vec<Check> {
        unimplemented!()
    }
}
