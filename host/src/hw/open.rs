//! Validated config -> a live backend. Nothing is opened until a command needs
//! it, so `status` on a bench with a missing serial relay still shows the rest.

use std::sync::Arc;

use super::{DeviceControl, HwError, NetLink, RelayBoard, UsbHub};
use crate::config::{
    DeviceBackend, DutConfig, HubBackend, HubConfig, LinkBackend, LinkConfig, RelayBackend,
    RelayBoardConfig,
};
use crate::sim::SimLab;

pub fn open_relay_board(
    cfg: &RelayBoardConfig,
    lab: &Arc<SimLab>,
) -> Result<Box<dyn RelayBoard>, HwError> {
    Ok(match &cfg.backend {
        RelayBackend::Sim { fail_after } => Box::new(super::sim::SimRelayBoard::new(
            lab.clone(),
            &cfg.name,
            *fail_after,
        )),
        RelayBackend::RppalGpio { pins, active_low } => Box::new(
            super::rppal_gpio::GpioRelayBoard::open(&cfg.name, pins, *active_low)?,
        ),
        RelayBackend::SerialRelay { port, baud } => Box::new(
            super::serial_relay::SerialRelayBoard::open(&cfg.name, port, *baud, cfg.channels)?,
        ),
    })
}

pub fn open_hub(cfg: &HubConfig, lab: &Arc<SimLab>) -> Result<Box<dyn UsbHub>, HwError> {
    Ok(match &cfg.backend {
        HubBackend::Sim => Box::new(super::sim::SimHub::new(lab.clone(), &cfg.name)),
        HubBackend::Uhubctl {
            location,
            program,
            vbus_verified,
        } => Box::new(super::uhubctl::UhubctlHub::new(
            &cfg.name,
            program,
            location,
            cfg.ports,
            *vbus_verified,
        )),
    })
}

pub fn open_link(cfg: &LinkConfig, lab: &Arc<SimLab>) -> Result<Box<dyn NetLink>, HwError> {
    Ok(match &cfg.backend {
        LinkBackend::Sim => Box::new(super::sim::SimLink::new(lab.clone(), &cfg.name)),
    })
}

/// The device control of a DUT, or `None` when the bench has none for it.
pub fn open_device(
    dut: &DutConfig,
    lab: &Arc<SimLab>,
) -> Result<Option<Box<dyn DeviceControl>>, HwError> {
    Ok(match dut.device {
        DeviceBackend::Sim(_) => Some(Box::new(super::sim::SimPhone::new(lab.clone(), dut))),
        DeviceBackend::None => None,
    })
}
