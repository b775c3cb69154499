//! CH340 "LCUS" USB serial relay modules (placeholder, being written).
use super::{Check, HwError, Reading, RelayBoard};
use crate::config::SerialPortSpec;

#[derive(Debug)]
pub struct SerialRelayBoard;

impl SerialRelayBoard {
    pub fn open(name: &str, port: &SerialPortSpec, baud: u32, channels: u8) -> Result<Self, HwError> {
        let _ = (port, baud, channels);
        Err(HwError::new(format!("relay board \"{name}\""), "not implemented yet"))
    }
}

impl RelayBoard for SerialRelayBoard {
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
