//! USB port power through the `uhubctl` program (placeholder, being written).
use std::path::Path;

use super::{Check, HwError, Reading, UsbHub};

#[derive(Debug)]
pub struct UhubctlHub;

impl UhubctlHub {
    pub fn new(name: &str, program: &Path, location: &str, ports: u8, vbus_verified: bool) -> Self {
        let _ = (name, program, location, ports, vbus_verified);
        UhubctlHub
    }
}

impl UsbHub for UhubctlHub {
    fn set_port(&mut self, _port: u8, _on: bool) -> Result<(), HwError> {
        unimplemented!()
    }
    fn get_port(&mut self, _port: u8) -> Result<Reading<bool>, HwError> {
        unimplemented!()
    }
    fn probe(&mut self) -> Vec<Check> {
        unimplemented!()
    }
}
